/**
 * The peers: a throwaway OpenSSH server on a free 127.0.0.1 port, with a host key and
 * user keys made for this run in a temp dir, logged into as the current user. scp, sftp
 * and rsync run against it with the system's ssh client, and Ferry over SFTP with its own.
 *
 * When the tools are missing, the bench may install Debian's packages (root with apt
 * only). When that is not possible the rows say why they were skipped: never faked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runOk, runTimed } from './measure.js';

export interface SshTools {
  readonly sshd: string;
  readonly ssh: string;
  readonly scp: string;
  readonly sftp: string;
  readonly keygen: string;
  /** null when rsync is missing (its rows are skipped, the others still run). */
  readonly rsync: string | null;
  readonly version: string;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

async function which(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

async function findTools(): Promise<Partial<Record<'sshd' | 'ssh' | 'scp' | 'sftp' | 'ssh-keygen' | 'rsync', string | null>>> {
  const names = ['sshd', 'ssh', 'scp', 'sftp', 'ssh-keygen', 'rsync'] as const;
  const found = await Promise.all(names.map((n) => which(n)));
  return Object.fromEntries(names.map((n, i) => [n, found[i]]));
}

/**
 * Find the OpenSSH tools and rsync, installing Debian's packages if allowed and needed.
 * Returns the tools, or a reason to skip the peer rows. `log` gets progress lines.
 */
export async function ensureSshTools(allowInstall: boolean, log: (line: string) => void): Promise<SshTools | string> {
  let tools = await findTools();
  const missing = (): string[] => Object.entries(tools).filter(([, v]) => !v).map(([k]) => k);
  if (missing().length > 0 && allowInstall) {
    const apt = await which('apt-get');
    if (process.getuid?.() !== 0) {
      log(`peers: ${missing().join(', ')} missing and not root: cannot install`);
    } else if (!apt) {
      log(`peers: ${missing().join(', ')} missing and apt-get is not available`);
    } else {
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      const install = (): Promise<{ code: number | null; stderr: string }> =>
        runTimed(apt, ['install', '-y', '--no-install-recommends', 'openssh-server', 'openssh-client', 'rsync'], { env, timeoutMs: 300_000 });
      log(`peers: installing openssh-server openssh-client rsync (missing: ${missing().join(', ')})`);
      let result = await install();
      if (result.code !== 0) {
        // The package lists may be missing or stale: refresh once, then try again.
        log('peers: apt-get install failed; running apt-get update and trying again');
        await runTimed(apt, ['update'], { env, timeoutMs: 300_000 });
        result = await install();
      }
      if (result.code !== 0) log(`peers: apt-get install failed: ${result.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      tools = await findTools();
    }
  }
  const { sshd, ssh, scp, sftp } = tools;
  const keygen = tools['ssh-keygen'];
  if (!sshd || !ssh || !scp || !sftp || !keygen) {
    const why = allowInstall ? 'could not be installed' : 'not installed (--no-install)';
    return `${missing().filter((m) => m !== 'rsync').join(', ')} ${why}`;
  }
  const version = (await runTimed(ssh, ['-V'], { timeoutMs: 10_000 })).stderr.trim();
  return { sshd, ssh, scp, sftp, keygen, rsync: tools.rsync ?? null, version };
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`sshd exited with ${child.exitCode}`));
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > until) reject(new Error('sshd did not start listening'));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export interface SshPeer {
  readonly tools: SshTools;
  readonly port: number;
  /** sshd's own process (the listener), for its CPU time; null if its pid file could not be read. */
  readonly pid: number | null;
  /** The cipher the client offers first (what scp/sftp use when not told). */
  readonly defaultCipher: string;
  /** The account logged into (the current user). */
  readonly user: string;
  /** The private key of that account (a full login: shell, commands, SFTP). */
  readonly userKey: string;
  /**
   * A second key of the same account that may only speak SFTP (a forced command of the
   * sftp server, as SFTP-only accounts are set up): no commands, so no sha256sum either.
   */
  readonly sftpOnlyKey: string;
  /** Options common to ssh, scp, sftp (no port: ssh says -p, scp and sftp -P). */
  common(cipher?: string): string[];
  /** `port`: where to reach sshd, when not its own (a proxy in front of it). */
  sshArgs(extra?: readonly string[], port?: number): string[];
  scpArgs(cipher?: string, port?: number): string[];
  sftpArgs(batchFile: string, cipher?: string, port?: number): string[];
  /** The `-e` command for rsync. */
  rsyncShell(port?: number): string;
  /** ssh through a ControlMaster connection (opened by the first call, persists 60 s). */
  controlArgs(): string[];
  closeControlMaster(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

/** Start sshd on a free loopback port (stops by itself at `deadline` via timeout(1)). */
export async function startSshd(tools: SshTools, dir: string, deadline: number): Promise<SshPeer> {
  await mkdir(dir, { recursive: true });
  // sshd refuses to start without its privilege separation folder.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
  const hostKey = path.join(dir, 'host_ed25519');
  const userKey = path.join(dir, 'user_ed25519');
  const sftpOnlyKey = path.join(dir, 'user_sftp_only_ed25519');
  for (const key of [hostKey, userKey, sftpOnlyKey]) await runOk(tools.keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', key], { timeoutMs: 30_000 });
  const sftpServer = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];
  let subsystem = 'internal-sftp';
  for (const candidate of sftpServer) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) {
      subsystem = candidate; // what Debian's own sshd_config uses
      break;
    }
  }
  const authorized = path.join(dir, 'authorized_keys');
  const userLine = (await readFile(`${userKey}.pub`, 'utf8')).trim();
  const sftpOnlyLine = `restrict,command="${subsystem}" ${(await readFile(`${sftpOnlyKey}.pub`, 'utf8')).trim()}`;
  await writeFile(authorized, `${userLine}\n${sftpOnlyLine}\n`, { mode: 0o600 });
  // The sessions' HOME: an empty folder of its own. The shell sshd starts every channel
  // with reads ~/.bashrc, and the bench user's own (pyenv, conda, nvm…) can take a second:
  // that would be measured once per ssh process and once per channel, not the tools.
  const home = path.join(dir, 'home');
  await mkdir(home, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      // Root logs in with the throwaway key only; the temp dir's modes are not checked.
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxStartups 64:30:128',
      'MaxSessions 64',
      'LogLevel ERROR',
      `SetEnv HOME=${home}`,
      `Subsystem sftp ${subsystem}`,
      '',
    ].join('\n'),
  );
  const seconds = Math.max(30, Math.ceil((deadline - Date.now()) / 1000));
  const timeoutBin = await which('timeout');
  // timeout(1) ends sshd at the bench's deadline even if the bench itself is killed.
  const [cmd, args] = timeoutBin
    ? [timeoutBin, ['-k', '5', String(seconds), tools.sshd, '-D', '-e', '-f', config]]
    : [tools.sshd, ['-D', '-e', '-f', config]];
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForPort(port, child, 10_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }

  const controlPath = path.join(dir, 'cm');
  const base = [
    '-F', '/dev/null', // the user's ssh config must not change what is measured
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-o', 'IdentitiesOnly=yes',
    '-i', userKey,
  ];
  const noMaster = ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
  const common = (cipher?: string): string[] => [...base, ...noMaster, ...(cipher ? ['-c', cipher] : [])];
  const probe = await runTimed(tools.ssh, ['-G', ...base, '-p', String(port), '127.0.0.1'], { timeoutMs: 10_000 });
  const cipherLine = /^ciphers (\S+)/m.exec(probe.stdout);
  const defaultCipher = cipherLine ? cipherLine[1]!.split(',')[0]! : 'unknown';

  const pid = Number((await readFile(path.join(dir, 'sshd.pid'), 'utf8').catch(() => '')).trim()) || null;
  const peer: SshPeer = {
    tools,
    port,
    pid,
    defaultCipher,
    user: os.userInfo().username,
    userKey,
    sftpOnlyKey,
    common,
    sshArgs: (extra = [], via = port) => [...common(), '-p', String(via), ...extra, '127.0.0.1'],
    scpArgs: (cipher, via = port) => [...common(cipher), '-P', String(via)],
    sftpArgs: (batchFile, cipher, via = port) => [...common(cipher), '-P', String(via), '-b', batchFile, '127.0.0.1'],
    rsyncShell: (via = port) => [tools.ssh, ...common(), '-p', String(via)].join(' '),
    controlArgs: () => [
      ...base,
      '-o', 'ControlMaster=auto',
      '-o', `ControlPath=${controlPath}`,
      '-o', 'ControlPersist=60',
      '-p', String(port),
      '127.0.0.1',
    ],
    closeControlMaster: async () => {
      await runTimed(tools.ssh, [...base, '-o', `ControlPath=${controlPath}`, '-O', 'exit', '-p', String(port), '127.0.0.1'], {
        timeoutMs: 10_000,
      }).catch(() => undefined);
    },
    log: () => stderr,
    stop: async () => {
      await peer.closeControlMaster();
      await stop();
    },
  };
  // A first login proves the keys and config work before any row relies on them.
  await runOk(tools.ssh, [...peer.sshArgs(), 'true'], { timeoutMs: 30_000 }).catch(async (err: Error) => {
    await stop();
    throw new Error(`ssh login to the throwaway sshd failed: ${err.message} ${stderr.trim().split('\n').slice(-2).join(' | ')}`);
  });
  return peer;
}
