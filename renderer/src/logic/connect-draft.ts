/**
 * The connection form as data: what it holds, how an edit changes it (a protocol brings its
 * default port), and what connect input it makes, or why it cannot make one. Pure: the
 * session store keeps the draft, the form shows it.
 */
import type { ConnectInput } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { DEFAULT_PORT, type Protocol } from '../../../shared/common/protocols.js';
import { i18n } from '../i18n/i18n.js';

/** What the connection form holds (the password and passphrase never leave memory, never stored). */
export interface ConnectDraft {
  readonly profileId: string | null;
  readonly name: string;
  readonly protocol: Protocol;
  readonly host: string;
  readonly port: string;
  /** The port was typed or comes from a profile: choosing the other protocol keeps it. */
  readonly portChosen: boolean;
  readonly user: string;
  readonly password: string;
  readonly remember: boolean;
  /** Ferry only. */
  readonly plain: boolean;
  /** Plain to a host that is not loopback, allowed explicitly (the engine refuses it otherwise). */
  readonly insecurePlainOnNetwork: boolean;
  /** SFTP: a private key file ('' for none: the agent, ~/.ssh/config and the default keys). */
  readonly identityFile: string;
  /** SFTP: try ssh-agent's keys. */
  readonly agent: boolean;
  /** SFTP: the passphrase of the key named by `passphraseFor`. */
  readonly passphrase: string;
  /** The encrypted key the engine asked a passphrase for (EAUTH details.passphraseFor): the passphrase field shows. */
  readonly passphraseFor: string | null;
  /** A saved connection's start folder ('' for none: it opens in its home). */
  readonly startFolder: string;
}

export const EMPTY_DRAFT: ConnectDraft = {
  profileId: null,
  name: '',
  protocol: 'ferry',
  host: '127.0.0.1',
  port: String(DEFAULT_PORT.ferry),
  portChosen: false,
  user: '',
  password: '',
  remember: false,
  plain: false,
  insecurePlainOnNetwork: false,
  identityFile: '',
  agent: true,
  passphrase: '',
  passphraseFor: null,
  startFolder: '',
};

/** The draft as a connect input, or why it cannot be one. */
export function draftToInput(d: ConnectDraft): { input: ConnectInput } | { problem: string } {
  const host = d.host.trim();
  const user = d.user.trim();
  const port = Number(d.port);
  if (host === '') return { problem: i18n.t('connect:problem.host') };
  if (!/^\d+$/.test(d.port.trim()) || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { problem: i18n.t(d.protocol === 'sftp' ? 'connect:problem.portSftp' : 'connect:problem.port', { port: DEFAULT_PORT[d.protocol] }) };
  }
  if (user === '') return { problem: i18n.t('connect:problem.user') };
  const identityFile = d.identityFile.trim();
  return {
    input: {
      protocol: d.protocol,
      host,
      port,
      user,
      ...(d.password !== '' ? { password: d.password } : {}),
      ...(d.protocol === 'ferry'
        ? {
            ...(d.plain ? { plain: true } : {}),
            ...(d.plain && d.insecurePlainOnNetwork ? { insecurePlainOnNetwork: true } : {}),
          }
        : {
            ...(identityFile !== '' ? { identityFile } : {}),
            agent: d.agent,
            ...(d.passphraseFor !== null && d.passphrase !== '' ? { passphrase: d.passphrase } : {}),
          }),
      ...(d.profileId !== null ? { profileId: d.profileId } : {}),
      ...(d.remember ? { remember: true } : {}),
    },
  };
}

/** The form after an edit: choosing a protocol brings its default port, unless a port was chosen. */
export function editDraft(d: ConnectDraft, patch: Partial<ConnectDraft>): ConnectDraft {
  const next = { ...d, ...patch };
  if ('port' in patch) return { ...next, portChosen: next.port.trim() !== '' };
  if (patch.protocol !== undefined && patch.protocol !== d.protocol && !d.portChosen) {
    return { ...next, port: String(DEFAULT_PORT[patch.protocol]) };
  }
  return next;
}

/** The encrypted key an EAUTH asks a passphrase for, if it does. */
export function passphraseWanted(error: ErrorInfo): string | null {
  const file = error.code === 'EAUTH' ? error.details?.['passphraseFor'] : undefined;
  return typeof file === 'string' ? file : null;
}
