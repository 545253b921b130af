/**
 * Ferry over SFTP in the bench: the `ferry --protocol sftp` arguments and environment that
 * reach the throwaway sshd (bench/sshd.ts) with either of its keys, which check a key gets
 * (the server's SHA-256, or the size on an SFTP-only key), and the cipher that ssh2,
 * Ferry's SSH client, negotiates with that sshd, so that OpenSSH's sftp is told to use it too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import { FERRY, REPO } from './ferryd.js';
import { runOk } from './measure.js';
import type { SshPeer } from './sshd.js';

/** `full`: the account's key (commands allowed, so sha256sum); `sftp-only`: its forced-SFTP key. */
export type SftpKey = 'full' | 'sftp-only';

/** What `put --json` says a file passed: the server's SHA-256, or only its size. */
export type SftpCheck = 'sha256' | 'size';

export interface FerrySftp {
  readonly peer: SshPeer;
  /** The cipher ssh2 negotiates with this sshd in both directions, with its default lists (the engine passes none). */
  readonly cipher: string;
  /** The check each key gets, found by an untimed `put --json` at set-up. */
  readonly checks: Readonly<Record<SftpKey, SftpCheck>>;
  /** Arguments for `ferry` before the command. */
  cliArgs(key: SftpKey): string[];
  readonly cliEnv: Record<string, string>;
}

/** The cipher ssh2 picks with this sshd: its default algorithms, read from the handshake (before any login). */
export function negotiatedCipher(peer: SshPeer, timeoutMs = 20_000): Promise<string> {
  const client = new ssh2.Client();
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('ssh2 did not finish the key exchange with the throwaway sshd')), timeoutMs);
    const finish = (result: string | Error): void => {
      clearTimeout(timer);
      client.removeAllListeners('handshake');
      client.on('error', () => undefined); // whatever the cut-short login says afterwards
      client.end();
      if (typeof result === 'string') resolve(result);
      else reject(result);
    };
    client.once('handshake', (negotiated) => {
      const { cs, sc } = negotiated;
      finish(cs.cipher === sc.cipher ? cs.cipher : new Error(`ssh2 negotiated ${cs.cipher} up and ${sc.cipher} down`));
    });
    client.once('error', (err) => finish(err));
    // A throwaway server on loopback, whose key was made a moment ago.
    client.connect({ host: '127.0.0.1', port: peer.port, username: peer.user, hostVerifier: () => true, readyTimeout: timeoutMs });
  });
}

export async function setUpFerrySftp(peer: SshPeer, dir: string): Promise<FerrySftp> {
  const home = path.join(dir, 'home');
  const configDir = path.join(dir, 'config');
  const probeDir = path.join(dir, 'probe');
  await mkdir(home, { recursive: true });
  await mkdir(configDir, { recursive: true });
  const cipher = await negotiatedCipher(peer);
  const cliArgs = (key: SftpKey): string[] => [
    '--protocol', 'sftp',
    '--host', '127.0.0.1',
    '--port', String(peer.port),
    '--user', peer.user,
    '--identity', key === 'full' ? peer.userKey : peer.sftpOnlyKey,
  ];
  // A HOME of its own: the ~/.ssh/config and known_hosts of whoever runs the bench must not
  // change what is measured (the peers run with -F /dev/null), and no ssh-agent.
  const cliEnv = { HOME: home, FERRY_CONFIG_DIR: configDir, SSH_AUTH_SOCK: '' };
  // Untimed, like making the keys: the first login records the host key, and one small
  // upload per key says which check that key gets.
  const checks = {} as Record<SftpKey, SftpCheck>;
  for (const key of ['full', 'sftp-only'] as const) {
    const source = path.join(dir, `probe-${key}.txt`);
    await writeFile(source, `${key}\n`);
    await mkdir(probeDir, { recursive: true });
    const { stdout } = await runOk(process.execPath, [FERRY, ...cliArgs(key), 'put', '--json', source, probeDir], { env: cliEnv, cwd: REPO, timeoutMs: 60_000 });
    const check = (JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { check?: unknown }).check;
    if (check !== 'sha256' && check !== 'size') throw new Error(`ferry put --json over SFTP (${key} key) said check ${JSON.stringify(check)}`);
    checks[key] = check;
  }
  return { peer, cipher, checks, cliArgs, cliEnv };
}
