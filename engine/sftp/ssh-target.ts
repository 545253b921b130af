/**
 * Where an SFTP connection goes and as whom, as OpenSSH would decide it: what the caller
 * gave explicitly wins, then ~/.ssh/config (Host aliases, HostName, Port, User,
 * IdentityFile; parsed by the ssh-config library, `Match exec` never run), then the
 * defaults (port 22, the local user name, ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
 */
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import { FerryError } from '../../shared/common/errors.js';

export const SFTP_DEFAULT_PORT = 22;
/** The keys OpenSSH's client tries when none is configured, in its order. */
export const DEFAULT_IDENTITY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;

export interface SshTargetInput {
  /** As typed: a host name, an address, or a Host alias of ~/.ssh/config. */
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly identityFile?: string;
  /** The OpenSSH client config to honour (default ~/.ssh/config; null: none). */
  readonly sshConfigFile?: string | null;
  /** Home folder for `~` and the default files (default: the OS's). */
  readonly home?: string;
}

export interface SshTarget {
  /** What to connect to (HostName of an alias, else the host as typed). */
  readonly hostName: string;
  readonly port: number;
  readonly user: string;
  /** Keys to try in order: the one chosen, else the config's IdentityFile lines, else the defaults. */
  readonly identityFiles: readonly string[];
  /** Whether the keys came from the caller or the config (missing ones are then an error, not skipped). */
  readonly identityExplicit: boolean;
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readConfig(file: string): Promise<SSHConfig | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FerryError('EIO', `Cannot read the SSH config ${file} (${(err as Error).message}).`);
  }
  try {
    return SSHConfig.parse(text);
  } catch (err) {
    throw new FerryError('EINVAL', `The SSH config ${file} cannot be read: ${(err as Error).message}`);
  }
}

export async function resolveSshTarget(input: SshTargetInput): Promise<SshTarget> {
  const home = input.home ?? homedir();
  const configFile = input.sshConfigFile === undefined ? path.join(home, '.ssh', 'config') : input.sshConfigFile;
  const config = configFile === null ? undefined : await readConfig(configFile);
  // Lower-case keys (OpenSSH's keywords are case-insensitive); `Match exec` is never run:
  // a config must not make Ferry run commands.
  const computed = config?.compute(input.host, { ignoreCase: true, matchExec: false }) ?? {};
  const hostName = first(computed['hostname'])?.replace(/%h/g, input.host) ?? input.host;
  const configPort = first(computed['port']);
  const port = input.port ?? (configPort !== undefined ? Number(configPort) : SFTP_DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new FerryError('EINVAL', `The SSH config gives ${input.host} the port "${configPort}", which is not a port number.`);
  }
  const user = input.user ?? first(computed['user']) ?? localUserName();
  const configured = computed['identityfile'];
  const fromConfig = configured === undefined ? [] : Array.isArray(configured) ? configured : [configured];
  const explicit = input.identityFile !== undefined ? [input.identityFile] : fromConfig;
  const identityFiles = (explicit.length > 0 ? explicit : DEFAULT_IDENTITY_FILES.map((name) => `~/.ssh/${name}`)).map((p) =>
    expandHome(p.replace(/%d/g, home).replace(/%u/g, localUserName()), home),
  );
  return { hostName, port, user, identityFiles, identityExplicit: explicit.length > 0 };
}

function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'root';
  }
}
