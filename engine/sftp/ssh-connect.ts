/**
 * Opening one SSH connection as OpenSSH's client would: the host key is checked (the
 * person's ~/.ssh/known_hosts first, then Ferry's own pinning) during the key exchange,
 * before any credential is sent; then ssh-agent, private keys (a passphrase asked for
 * when needed), password and keyboard-interactive are tried in that order.
 */
import { readFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import ssh2, { type AnyAuthMethod, type AuthenticationType, type ConnectConfig } from 'ssh2';

// ssh2 is CommonJS: its parts come from the default export under Node's ESM.
const { Client, utils } = ssh2;
import { FerryError } from '../../shared/common/errors.js';
import { checkKnownHostsFile, keyFingerprint } from './system-known-hosts.js';
import type { SshTarget } from './ssh-target.js';

export interface SshLoginOptions {
  /** Password (also answers keyboard-interactive prompts). */
  readonly password?: string;
  /** The passphrase of an encrypted key (tried on each encrypted key). */
  readonly passphrase?: string;
  /** Asked when an encrypted key needs a passphrase and none was given (the CLI prompts). */
  readonly askPassphrase?: (keyFile: string) => Promise<string | undefined>;
  /** ssh-agent: true (default) uses SSH_AUTH_SOCK, a string is the agent's socket, false uses none. */
  readonly agent?: boolean | string;
  /** The person's OpenSSH known_hosts (default ~/.ssh/known_hosts; null: none). */
  readonly sshKnownHostsFile?: string | null;
  /** Home folder for the default files (default: the OS's). */
  readonly home?: string;
  /**
   * Called during the key exchange for a key that ~/.ssh/known_hosts does not decide:
   * resolve to go on, throw (EHOSTKEY) to stop before any credential is sent.
   */
  readonly verifyHostKey: (fingerprint: string, hostPort: string) => Promise<void> | void;
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface SshConnection {
  readonly client: ssh2.Client;
  readonly fingerprint: string;
}

const KEEPALIVE_MS = 15_000;

/**
 * ssh2 writes every SSH packet to the socket on its own (a system call each; eight for one
 * 255 KiB SFTP write). Corked from a packet until the end of the current tick, the packets
 * of one turn of the engine leave in one writev. Wraps this socket's write only.
 */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.apply(this, args as never);
  } as Socket['write'];
}

function refusedKey(hostPort: string, why: string, fingerprint: string): FerryError {
  return new FerryError(
    'EHOSTKEY',
    `The key of ${hostPort} (${fingerprint}) ${why}. Someone may be intercepting the connection, so Ferry did not log in. ` +
      'If the key was really changed, ask the server administrator and remove the old entry from ~/.ssh/known_hosts.',
    { host: hostPort, actual: fingerprint },
  );
}

/** The login methods to try, in OpenSSH's order, each made only when its turn comes. */
function loginPlan(target: SshTarget, options: SshLoginOptions, notes: { tried: string[]; passphraseFor?: string }): Array<() => Promise<AnyAuthMethod | null>> {
  const username = target.user;
  const steps: Array<() => Promise<AnyAuthMethod | null>> = [];
  const agent = options.agent === false ? undefined : typeof options.agent === 'string' ? options.agent : process.env.SSH_AUTH_SOCK;
  if (agent) {
    steps.push(async () => {
      notes.tried.push('ssh-agent');
      return { type: 'agent', username, agent };
    });
  }
  for (const file of target.identityFiles) {
    steps.push(async () => {
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch (err) {
        // A configured or chosen key that is missing is worth saying; a default one is not.
        if (target.identityExplicit) throw new FerryError('ENOENT', `The key file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
        return null;
      }
      let key = utils.parseKey(data);
      if (key instanceof Error && /passphrase/i.test(key.message)) {
        const passphrase = options.passphrase ?? (await options.askPassphrase?.(file));
        if (passphrase === undefined) {
          notes.passphraseFor ??= file;
          return null;
        }
        key = utils.parseKey(data, passphrase);
        if (key instanceof Error) throw new FerryError('EAUTH', `The passphrase of ${file} is not right.`, { passphraseFor: file });
      }
      if (key instanceof Error) {
        if (target.identityExplicit) throw new FerryError('EINVAL', `${file} is not a private key Ferry can use (${key.message}).`);
        return null;
      }
      notes.tried.push(path.basename(file));
      return { type: 'publickey', username, key };
    });
  }
  if (options.password !== undefined && options.password !== '') {
    const password = options.password;
    steps.push(async () => {
      notes.tried.push('password');
      return { type: 'password', username, password };
    });
    steps.push(async () => {
      notes.tried.push('keyboard-interactive');
      let rounds = 0;
      return {
        type: 'keyboard-interactive',
        username,
        // Every hidden prompt gets the password (what PAM's "Password:" asks); a server
        // that keeps asking gets empty answers after a few rounds, and fails the login.
        prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map((p) => (rounds < 3 && !p.echo ? password : ''))),
      } satisfies AnyAuthMethod;
    });
  }
  return steps;
}

function connectError(err: Error & { level?: string; code?: string }, hostPort: string): FerryError {
  if (err instanceof FerryError) return err;
  const code = err.code;
  if (code === 'ECONNREFUSED') return new FerryError('ECONN', `Cannot reach ${hostPort}: the connection was refused (is an SSH server running there?).`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new FerryError('ECONN', `Cannot find the host of ${hostPort} (${code}).`);
  if (code === 'ETIMEDOUT' || err.level === 'client-timeout') return new FerryError('ETIMEDOUT', `${hostPort} did not finish the SSH handshake in time.`);
  if (/protocol|ident|version/i.test(err.message)) {
    return new FerryError('ECONN', `${hostPort} did not answer as an SSH server (${err.message}): is this Ferry's port? Choose the Ferry protocol for ferryd.`);
  }
  return new FerryError('ECONN', `The SSH connection to ${hostPort} failed: ${err.message}`);
}

/** Connect and log in; the host key is decided before any login method is tried. */
export function sshConnect(target: SshTarget, options: SshLoginOptions): Promise<SshConnection> {
  const hostPort = `${target.hostName}:${target.port}`;
  const home = options.home ?? homedir();
  const knownHostsFile = options.sshKnownHostsFile === undefined ? path.join(home, '.ssh', 'known_hosts') : options.sshKnownHostsFile;
  const notes: { tried: string[]; passphraseFor?: string } = { tried: [] };
  const steps = loginPlan(target, options, notes);
  const client = new Client();
  let fingerprint = '';
  let refusal: FerryError | undefined;
  let stepError: FerryError | undefined;
  let keyChecked = false;

  const hostVerifier = (blob: Buffer, verify: (ok: boolean) => void): void => {
    fingerprint = keyFingerprint(blob);
    void (async () => {
      const system = knownHostsFile === null ? ({ kind: 'unknown' } as const) : await checkKnownHostsFile(knownHostsFile, target.hostName, target.port, blob);
      if (system.kind === 'revoked') throw refusedKey(hostPort, 'is marked @revoked in ~/.ssh/known_hosts', fingerprint);
      if (system.kind === 'changed') throw refusedKey(hostPort, `is not the one ~/.ssh/known_hosts records (${system.expected})`, fingerprint);
      if (system.kind === 'unknown') await options.verifyHostKey(fingerprint, hostPort);
    })().then(
      () => {
        keyChecked = true;
        verify(true);
      },
      (err: unknown) => {
        refusal = err instanceof FerryError ? err : new FerryError('EHOSTKEY', String((err as Error)?.message ?? err));
        verify(false);
      },
    );
  };

  let next = 0;
  const authHandler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, callback: (method: AnyAuthMethod | false) => void): void => {
    void (async () => {
      // Never a credential before the key was accepted (ssh2 checks it first; this is the guard).
      if (!keyChecked) return false;
      while (next < steps.length) {
        const method = await steps[next++]!();
        if (method === null) continue;
        const name = method.type === 'agent' ? 'publickey' : method.type;
        if (methodsLeft !== null && !methodsLeft.includes(name as AuthenticationType)) continue;
        return method;
      }
      return false as const;
    })().then(callback, (err: unknown) => {
      stepError = err instanceof FerryError ? err : new FerryError('EAUTH', String(err));
      callback(false);
    });
  };

  const config: ConnectConfig = {
    host: target.hostName,
    port: target.port,
    username: target.user,
    hostVerifier,
    authHandler: authHandler as unknown as ConnectConfig['authHandler'],
    readyTimeout: options.connectTimeoutMs ?? (options.askPassphrase ? 120_000 : 20_000),
    keepaliveInterval: KEEPALIVE_MS,
    keepaliveCountMax: 3,
  };

  return new Promise<SshConnection>((resolve, reject) => {
    let settled = false;
    const fail = (err: FerryError): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.end();
      client.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new FerryError('ECANCELED', 'The connection attempt was cancelled.'));
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.once('connect', () => {
      // Without it, Nagle holds back small requests (a download's reads) behind unacknowledged data.
      client.setNoDelay(true);
      const socket = (client as unknown as { _sock?: unknown })._sock;
      if (socket instanceof Socket) coalesceWrites(socket);
    });
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ client, fingerprint });
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (refusal) return fail(refusal);
      if (stepError) return fail(stepError);
      if (err.level === 'client-authentication') {
        if (notes.passphraseFor !== undefined) {
          return fail(new FerryError('EAUTH', `The key ${notes.passphraseFor} is protected by a passphrase: enter it to log in with that key.`, { passphraseFor: notes.passphraseFor }));
        }
        const tried = notes.tried.length > 0 ? notes.tried.join(', ') : 'nothing: no agent, key or password was available';
        return fail(new FerryError('EAUTH', `${target.user}@${hostPort} refused the login (tried ${tried}).`));
      }
      fail(connectError(err, hostPort));
    });
    client.once('close', () => fail(refusal ?? stepError ?? new FerryError('ECONN', `${hostPort} closed the connection during the SSH handshake.`)));
    client.connect(config);
  });
}
