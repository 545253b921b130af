/**
 * How the CLI reaches a server: Ferry's protocol (a saved login, else the password) or
 * SFTP (ssh-agent, keys, then the password, as `ssh` tries them). Both pin host keys in
 * FERRY_CONFIG_DIR/known_hosts: a new key is recorded and said, a changed one refused;
 * over SFTP a key the person's ~/.ssh/known_hosts already trusts is accepted first.
 */
import path from 'node:path';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { KnownHosts, hostKeyChangedError } from '../engine/app/stores/known-hosts.js';
import type { Remote } from '../engine/remote/remote.js';
import type { SftpRemote } from '../engine/sftp/sftp-remote.js';
import { RemoteSession } from '../engine/wire/session.js';
import { readPassword } from '../shared/node/prompt.js';
import type { ClientCredential } from '../shared/node/scram.js';
import { SavedLogins } from './saved-logins.js';
import { printable } from './terminal-text.js';

export type Protocol = 'ferry' | 'sftp';

export interface Context {
  readonly protocol: Protocol;
  readonly host: string;
  /** Ferry: always set. SFTP: undefined leaves it to ~/.ssh/config, then 22. */
  readonly port: number | undefined;
  /** Ferry: always set. SFTP: undefined leaves it to ~/.ssh/config, then the local user. */
  readonly user: string | undefined;
  readonly identityFile: string | undefined;
  readonly plain: boolean;
  readonly insecurePlainOnNetwork: boolean;
  readonly configDir: string;
  readonly signal: AbortSignal;
}

export const DEFAULT_PORTS: Record<Protocol, number> = { ferry: 7070, sftp: 22 };

export function hostPortOf(ctx: Context): string {
  return `${ctx.host}:${ctx.port ?? DEFAULT_PORTS[ctx.protocol]}`;
}

function say(line: string): void {
  process.stderr.write(`ferry: ${printable(line)}\n`);
}

/** The saved logins; a damaged file is moved aside (and said so), never trusted. */
export function savedLogins(configDir: string): SavedLogins {
  return new SavedLogins(configDir, say);
}

function knownHosts(ctx: Context): { known: KnownHosts; file: string } {
  const file = path.join(ctx.configDir, 'known_hosts');
  return { known: new KnownHosts(file), file };
}

/** Trust on first use: a new key is recorded (and said), a changed one refused. */
function pinKey(ctx: Context): (fingerprint: string, hostPort?: string) => Promise<void> {
  const { known, file } = knownHosts(ctx);
  return async (fingerprint, hostPort = hostPortOf(ctx)) => {
    const check = await known.check(hostPort, fingerprint);
    if (check.kind === 'changed') throw hostKeyChangedError(hostPort, check.expected, fingerprint);
    if (check.kind === 'new') {
      await known.trust(hostPort, fingerprint);
      say(`new host ${hostPort}, key ${fingerprint} recorded in ${file}`);
    }
  };
}

export function passwordFor(ctx: Context): Promise<string> {
  const password = process.env.FERRY_PASSWORD;
  return password !== undefined ? Promise.resolve(password) : readPassword(`${ctx.user}@${hostPortOf(ctx)} password: `);
}

/**
 * Connect with the protocol the context names. `concurrency` is given by the commands that
 * transfer files: over Ferry's protocol that many data connections are opened alongside
 * the login, so the first file does not wait for them.
 */
export function connect(ctx: Context, concurrency?: number): Promise<Remote> {
  return ctx.protocol === 'sftp' ? connectSftp(ctx, concurrency) : connectFerry(ctx, concurrency);
}

/**
 * Ferry's protocol: the saved login for this user@HOST:PORT if there is one (no key
 * derivation), else the password (FERRY_PASSWORD, or asked for). A saved login the
 * server no longer takes (the password was changed) is forgotten, and the password used.
 */
async function connectFerry(ctx: Context, concurrency?: number): Promise<RemoteSession> {
  const hostPort = hostPortOf(ctx);
  const saved = savedLogins(ctx.configDir);
  const user = ctx.user!;
  const keys = await saved.get(hostPort, user);
  if (keys) {
    try {
      return await openFerry(ctx, { keys }, concurrency);
    } catch (err) {
      const e = toFerryError(err);
      if (e.code !== 'EAUTH') throw e;
      await saved.forget(hostPort, user);
      say(`the saved login of ${user}@${hostPort} no longer works (${e.message}); forgotten, the password is used instead`);
    }
  }
  return openFerry(ctx, { password: await passwordFor(ctx) }, concurrency);
}

export function openFerry(ctx: Context, credential: ClientCredential, concurrency?: number): Promise<RemoteSession> {
  const pin = pinKey(ctx);
  return RemoteSession.connect({
    host: ctx.host,
    port: ctx.port!,
    plain: ctx.plain,
    insecurePlainOnNetwork: ctx.insecurePlainOnNetwork,
    user: ctx.user!,
    credential,
    signal: ctx.signal,
    dataConnections: concurrency,
    warmDataConnections: concurrency,
    verifyHostKey: (fingerprint) => pin(fingerprint),
  });
}

/**
 * SFTP: ssh-agent and keys first (a key's passphrase from FERRY_PASSPHRASE or asked on
 * the terminal); the password (FERRY_PASSWORD) with them, or asked for on the terminal
 * only once those failed, as `ssh` does.
 */
async function connectSftp(ctx: Context, concurrency?: number): Promise<SftpRemote> {
  // Loaded only here: a Ferry-protocol command does not pay for loading ssh2.
  const { SftpRemote } = await import('../engine/sftp/sftp-remote.js');
  const open = (password: string | undefined): Promise<SftpRemote> =>
    SftpRemote.connect({
      host: ctx.host,
      ...(ctx.port !== undefined ? { port: ctx.port } : {}),
      ...(ctx.user !== undefined ? { user: ctx.user } : {}),
      ...(ctx.identityFile !== undefined ? { identityFile: ctx.identityFile } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(process.env.FERRY_PASSPHRASE !== undefined ? { passphrase: process.env.FERRY_PASSPHRASE } : {}),
      askPassphrase: (file) => (process.stdin.isTTY ? readPassword(`passphrase for ${file}: `) : Promise.resolve(undefined)),
      verifyHostKey: pinKey(ctx),
      signal: ctx.signal,
      ...(concurrency !== undefined ? { dataConnections: concurrency } : {}),
    });
  const password = process.env.FERRY_PASSWORD;
  try {
    return await open(password);
  } catch (err) {
    const e = toFerryError(err);
    if (e.code !== 'EAUTH' || password !== undefined || !process.stdin.isTTY || e.details?.passphraseFor !== undefined) throw e;
    return open(await readPassword(`${ctx.user ?? ''}${ctx.user ? '@' : ''}${ctx.host} password: `));
  }
}

/** `ferry login`: log in with the password and save the login's keys (not the password). Ferry's protocol only. */
export async function saveLogin(ctx: Context): Promise<number> {
  if (ctx.protocol === 'sftp') throw new FerryError('EINVAL', 'ferry login saves logins of Ferry servers; over SFTP, use ssh-agent or a key (--identity)');
  const session = await openFerry(ctx, { password: await passwordFor(ctx) });
  try {
    if (!session.keys) throw new FerryError('EAUTH', 'the server did not complete a password login, so there is nothing to save');
    const saved = savedLogins(ctx.configDir);
    const hostPort = hostPortOf(ctx);
    await saved.save(hostPort, ctx.user!, session.keys);
    say(`saved the login of ${ctx.user}@${hostPort} in ${saved.file} (keys derived from the password, not the password; ferry logout forgets it)`);
    return 0;
  } finally {
    session.close();
  }
}
