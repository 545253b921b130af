/**
 * How a connect logs in: what was typed, the remembered login of a saved profile (only
 * ever for the server, user and protocol it was made for), or the local server's own
 * keys; and what is remembered or forgotten afterwards. Ferry remembers SCRAM keys, never
 * the password; SFTP has no such keys, so it remembers the password and key passphrase
 * typed, encrypted by the secret store, and never anything without one.
 */
import type { ConnectInput } from '../../../shared/common/contract.js';
import { FerryError } from '../../../shared/common/errors.js';
import type { ClientCredential, ScramClientKeys } from '../../../shared/node/scram.js';
import type { LocalServerInfo } from '../local-server/local-server.js';
import {
  openKeys,
  openSftpLogin,
  sameAccount,
  sealKeys,
  sealSftpLogin,
  type ProfileStore,
  type RememberedProfile,
  type SecretStore,
  type SftpLogin,
} from '../stores/profile-store.js';

/** What a login sends, by protocol. */
export type Login =
  | { readonly protocol: 'ferry'; readonly credential: ClientCredential }
  /** Either may be absent: ssh-agent and unencrypted keys need neither. */
  | { readonly protocol: 'sftp'; readonly password?: string; readonly passphrase?: string };

export interface ChosenLogin {
  readonly login: Login;
  /** The saved profile connected to, if any (not for the local server). */
  readonly remembered: RememberedProfile | undefined;
  /** The form names the profile's own server, user and protocol (a remembered login may go there). */
  readonly sameTarget: boolean;
  /** Some of the login is the profile's remembered one. */
  readonly usingRemembered: boolean;
}

const typed = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

export async function chooseLogin(
  input: ConnectInput,
  local: LocalServerInfo | undefined,
  profiles: ProfileStore,
  secretStore: SecretStore | undefined,
): Promise<ChosenLogin> {
  if (local) return { login: { protocol: 'ferry', credential: { keys: local.keys } }, remembered: undefined, sameTarget: false, usingRemembered: false };
  const remembered = input.profileId === undefined ? undefined : await profiles.get(input.profileId);
  if (input.profileId !== undefined && remembered === undefined) {
    throw new FerryError('ENOENT', `There is no saved connection with the id "${input.profileId}".`);
  }
  const sameTarget = remembered !== undefined && sameAccount(remembered.profile, input);
  const chosen = { remembered, sameTarget };
  const password = typed(input.password);

  if (input.protocol === 'sftp') {
    const passphrase = typed(input.passphrase);
    // What was typed wins; the rest may come from the remembered login. The server decides
    // whether a login with neither (agent, unencrypted key) is enough.
    let saved: SftpLogin | undefined;
    if ((password === undefined || passphrase === undefined) && remembered?.secret !== undefined && sameTarget && secretStore?.available) {
      saved = openSftpLogin(secretStore, remembered.secret);
    }
    const login = {
      protocol: 'sftp' as const,
      ...((password ?? saved?.password) !== undefined ? { password: password ?? saved?.password } : {}),
      ...((passphrase ?? saved?.passphrase) !== undefined ? { passphrase: passphrase ?? saved?.passphrase } : {}),
    };
    const usingRemembered = (password === undefined && saved?.password !== undefined) || (passphrase === undefined && saved?.passphrase !== undefined);
    return { ...chosen, login, usingRemembered };
  }

  if (password !== undefined) {
    return { ...chosen, login: { protocol: 'ferry', credential: { password } }, usingRemembered: false };
  }
  if (remembered?.secret !== undefined) {
    // The keys only ever go to the server they were made for.
    if (!sameTarget) throw new FerryError('EAUTH', 'Enter the password: the remembered login belongs to the saved server and user, not these.');
    if (!secretStore?.available) throw new FerryError('EAUTH', 'Enter the password: remembered logins cannot be read here (no secure storage).');
    return { ...chosen, login: { protocol: 'ferry', credential: { keys: openKeys(secretStore, remembered.secret) } }, usingRemembered: true };
  }
  throw new FerryError('EAUTH', 'Enter the password (no login is remembered for this connection).');
}

/** The secret to keep for a login that worked, or undefined when there is nothing to keep. */
function secretOf(login: Login, keys: ScramClientKeys | undefined, store: SecretStore): string | undefined {
  if (login.protocol === 'ferry') return keys ? sealKeys(store, keys) : undefined;
  const { password, passphrase } = login;
  if (password === undefined && passphrase === undefined) return undefined;
  return sealSftpLogin(store, { kind: 'sftp', ...(password !== undefined ? { password } : {}), ...(passphrase !== undefined ? { passphrase } : {}) });
}

/** After a successful login: remember it (or forget it) as the form asked. */
export async function updateRememberedLogin(
  chosen: ChosenLogin,
  remember: boolean | undefined,
  keys: ScramClientKeys | undefined,
  profiles: ProfileStore,
  secretStore: SecretStore | undefined,
  log: (line: string) => void,
): Promise<void> {
  const { remembered } = chosen;
  if (!remembered) return;
  if (remember === true) {
    if (!chosen.sameTarget) log('not remembering the login: it differs from the saved connection');
    else if (!secretStore?.available) log('not remembering the login: no secure storage on this system');
    else {
      const secret = secretOf(chosen.login, keys, secretStore);
      if (secret !== undefined) await profiles.setSecret(remembered.profile.id, secret);
    }
  } else if (remember === false && remembered.secret !== undefined) {
    await profiles.setSecret(remembered.profile.id, undefined);
  }
}

/** A refused login: a remembered one is forgotten (the password was probably changed). */
export async function refusedLogin(error: FerryError, chosen: ChosenLogin, profiles: ProfileStore): Promise<FerryError> {
  if (error.code !== 'EAUTH' || !chosen.usingRemembered || !chosen.remembered) return error;
  await profiles.setSecret(chosen.remembered.profile.id, undefined);
  if (chosen.login.protocol === 'sftp') {
    return new FerryError('EAUTH', `The remembered login was refused, so Ferry forgot it: ${error.message}`, error.details);
  }
  return new FerryError('EAUTH', 'The remembered login was refused (was the password changed?): enter the password.');
}

/**
 * A peer that is not a ferryd (or one that expects TLS when we speak plain, or the
 * reverse) fails in the frame decoder or the TLS handshake: say so in words a person
 * can act on, as EPROTO.
 */
export function protocolMismatch(error: FerryError, hostPort: string, plain: boolean): FerryError {
  // (A TLS handshake cut off before it starts is left as ECONN: that is also how a busy
  // server refuses a connection.)
  const tlsFailure = error.code === 'ECONN' && /SSL routines|wrong version number/i.test(error.message);
  // A TLS server closes on a plain client's first frame without a word.
  const silentClose = plain && error.code === 'ECONN' && error.message === 'the server closed the connection';
  if (error.code !== 'ETOOBIG' && !tlsFailure && !silentClose) return error;
  return new FerryError(
    'EPROTO',
    plain
      ? `${hostPort} did not answer like a Ferry server without encryption: check the port, and turn off "No encryption" unless the server runs with --plain.`
      : `${hostPort} did not answer like a Ferry server over TLS: check the port (an SSH server wants the SFTP protocol), and turn on "No encryption" only if the server runs with --plain.`,
  );
}
