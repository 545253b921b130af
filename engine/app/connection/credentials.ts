/**
 * How a connect logs in: the password typed, the remembered login of a saved profile
 * (SCRAM keys, only ever for the server and user they were made for), or the local
 * server's own keys; and what is remembered or forgotten afterwards.
 */
import type { ConnectInput } from '../../../shared/common/contract.js';
import { FerryError } from '../../../shared/common/errors.js';
import type { ClientCredential, ScramClientKeys } from '../../../shared/node/scram.js';
import type { LocalServerInfo } from '../local-server/local-server.js';
import { openKeys, sealKeys, type ProfileStore, type RememberedProfile, type SecretStore } from '../stores/profile-store.js';

export interface ChosenLogin {
  readonly credential: ClientCredential;
  /** The saved profile connected to, if any (not for the local server). */
  readonly remembered: RememberedProfile | undefined;
  /** The form names the profile's own server and user (remembered keys may go there). */
  readonly sameTarget: boolean;
  /** The credential is the profile's remembered login. */
  readonly usingRemembered: boolean;
}

export async function chooseLogin(
  input: ConnectInput,
  local: LocalServerInfo | undefined,
  profiles: ProfileStore,
  secretStore: SecretStore | undefined,
): Promise<ChosenLogin> {
  if (local) return { credential: { keys: local.keys }, remembered: undefined, sameTarget: false, usingRemembered: false };
  const remembered = input.profileId === undefined ? undefined : await profiles.get(input.profileId);
  if (input.profileId !== undefined && remembered === undefined) {
    throw new FerryError('ENOENT', `There is no saved connection with the id "${input.profileId}".`);
  }
  const sameTarget =
    remembered !== undefined &&
    remembered.profile.host.toLowerCase() === input.host.toLowerCase() &&
    remembered.profile.port === input.port &&
    remembered.profile.user === input.user;
  const chosen = { remembered, sameTarget };

  if (input.password !== undefined && input.password !== '') {
    return { ...chosen, credential: { password: input.password }, usingRemembered: false };
  }
  if (remembered?.secret !== undefined) {
    // The keys only ever go to the server they were made for.
    if (!sameTarget) throw new FerryError('EAUTH', 'Enter the password: the remembered login belongs to the saved server and user, not these.');
    if (!secretStore?.available) throw new FerryError('EAUTH', 'Enter the password: remembered logins cannot be read here (no secure storage).');
    return { ...chosen, credential: { keys: openKeys(secretStore, remembered.secret) }, usingRemembered: true };
  }
  throw new FerryError('EAUTH', 'Enter the password (no login is remembered for this connection).');
}

/** After a successful login: remember it (or forget it) as the form asked. */
export async function updateRememberedLogin(
  login: ChosenLogin,
  remember: boolean | undefined,
  keys: ScramClientKeys | undefined,
  profiles: ProfileStore,
  secretStore: SecretStore | undefined,
  log: (line: string) => void,
): Promise<void> {
  const { remembered } = login;
  if (!remembered) return;
  if (remember === true) {
    if (!login.sameTarget) log('not remembering the login: it differs from the saved connection');
    else if (!secretStore?.available) log('not remembering the login: no secure storage on this system');
    else if (keys) await profiles.setSecret(remembered.profile.id, sealKeys(secretStore, keys));
  } else if (remember === false && remembered.secret !== undefined) {
    await profiles.setSecret(remembered.profile.id, undefined);
  }
}

/** A refused login: a remembered one is forgotten (the password was probably changed). */
export async function refusedLogin(error: FerryError, login: ChosenLogin, profiles: ProfileStore): Promise<FerryError> {
  if (error.code !== 'EAUTH' || !login.usingRemembered || !login.remembered) return error;
  await profiles.setSecret(login.remembered.profile.id, undefined);
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
      : `${hostPort} did not answer like a Ferry server over TLS: check the port, and turn on "No encryption" only if the server runs with --plain.`,
  );
}
