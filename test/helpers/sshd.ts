/**
 * A real OpenSSH sshd for the SFTP tests: three 127.0.0.1 ports (full account, SFTP-only,
 * keyboard-interactive only), keys and an ssh-agent made for this run and, when root, a
 * throwaway account with a password. It stops by itself after 15 minutes whatever happens.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { processesOf, sleep, startWatchdog, supervise, type Supervised } from './sshd-processes.js';
import type { SftpOptions } from '../../engine/sftp/sftp-remote.js';

export interface TestSshd {
  readonly host: '127.0.0.1';
  /** The full account: key, agent, password and keyboard-interactive logins; commands allowed. */
  readonly port: number;
  /** Same sshd and account, but `Match LocalPort` + `ForceCommand internal-sftp`: SFTP works, commands do not (an SFTP-only account). */
  readonly noExecPort: number;
  /** Only keyboard-interactive (PAM) is offered here: PasswordAuthentication and pubkey off for this port. */
  readonly kbdPort: number;
  readonly user: string;
  /** The account's password, or null when the tests do not run as root (no account with a password can be made then). */
  readonly password: string | null;
  /** A fresh folder owned by the account for this instance (absolute). When root, it is the account's home (SFTP sessions start there); otherwise they start in the real $HOME, so use absolute paths under this folder. */
  readonly home: string;
  /** An unencrypted ed25519 private key file whose public key is authorized. */
  readonly keyFile: string;
  /** An ed25519 private key encrypted with `passphrase`, also authorized (a different key). */
  readonly encryptedKeyFile: string;
  readonly passphrase: string;
  /** An ssh-agent socket holding a third authorized key (not on disk anywhere the client looks). */
  readonly agentSocket: string;
  /** The host key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` + 43 base64 chars (the current key: changeHostKey() changes it). */
  readonly fingerprint: string;
  /** A ~/.ssh/known_hosts line for this server: `[127.0.0.1]:PORT ssh-ed25519 AAAA…` (port = `port`; the current key, which the other two ports present too). */
  readonly knownHostsLine: string;
  /** A fake client home for tests: contains an empty `.ssh/` folder (tests write config/known_hosts there). */
  readonly clientHome: string;
  /**
   * How many user-authentication requests sshd has received so far (from its debug log, every method incl. "none"): proves whether a client sent a credential.
   * sshd's monitor writes the line, so it can arrive a few ms after the client has its answer: poll for growth, wait a moment before asserting none.
   */
  authRequests(): number;
  /** sshd's log so far. */
  log(): string;
  /** Restart sshd on the same ports with a NEW host key (a changed-key test); resolves with the new fingerprint. Open connections are closed (a full restart). */
  changeHostKey(): Promise<string>;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SSHD = '/usr/sbin/sshd';
/** DEBUG1 logs one such line per authentication request, "none" included. */
const AUTH_REQUEST = /\buserauth-request for user /g;
/** The log is kept to its tail so a long suite cannot grow it without bound. */
const LOG_LIMIT = 4 * 1024 * 1024;

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits without reading its input must not fail the run.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

async function runOk(cmd: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const result = await run(cmd, args, options);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * useradd, chpasswd and userdel lock /etc/passwd and give up at once when another test
 * file holds the lock: try again for a while.
 */
async function runLocked(cmd: string, args: readonly string[], input?: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const result = await run(cmd, args, { input });
    if (result.code === 0) return;
    if (attempt >= 40 || !/lock/i.test(result.stderr)) {
      throw new Error(`${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
    }
    await sleep(50 + Math.random() * 200);
  }
}

async function waitFor(done: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done()) && Date.now() < until) await sleep(20);
}

/** Distinct ports that were free a moment ago (all held open at once so none repeats). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, HOST, () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function makeKey(file: string, passphrase = ''): Promise<void> {
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', path.basename(file), '-f', file]);
}

async function fingerprintOf(publicKeyFile: string): Promise<string> {
  const out = await runOk('ssh-keygen', ['-l', '-f', publicKeyFile]);
  const match = /SHA256:[A-Za-z0-9+/]{43}/.exec(out);
  if (!match) throw new Error(`no SHA256 fingerprint in: ${out.trim()}`);
  return match[0];
}

function lastLines(text: string, count = 15): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

/** Steps that undo what a start made, run in reverse by stop() or by a failed start. */
class Undo {
  private readonly steps: Array<() => Promise<void>> = [];

  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    const errors: string[] = [];
    for (const step of this.steps.splice(0).reverse()) await step().catch((err: Error) => errors.push(err.message));
    if (errors.length > 0) throw new Error(`test sshd cleanup: ${errors.join('; ')}`);
  }
}

interface Account {
  readonly user: string;
  readonly uid: number;
  readonly password: string | null;
  readonly home: string;
}

/** `ferry-t` + 6 random lowercase letters and digits. */
function accountName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `ferry-t${[...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

/**
 * The `useradd -e` date: the day after tomorrow (UTC). sshd and pam_unix treat the expiry
 * day itself as expired, so "tomorrow" would lock out a run that starts just before
 * midnight UTC. A leftover from a crashed run still cannot be used after 48 hours.
 */
function expiryDate(): string {
  return new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
}

/** The throwaway account (root only), with a random password, owning `home`. */
async function createAccount(user: string, home: string, undo: Undo): Promise<Account> {
  await runLocked('useradd', ['-M', '-d', home, '-s', '/bin/sh', '-e', expiryDate(), '-c', 'Ferry test sshd account', user]);
  // -f: a session that outlived stop()'s kill must not keep the account alive.
  undo.push(() => runLocked('userdel', ['-f', user]));
  const passwd = (await runOk('getent', ['passwd', user])).split(':');
  const uid = Number(passwd[2]);
  await chown(home, uid, Number(passwd[3]));
  await chmod(home, 0o755);
  // base64url has no ':' (chpasswd's separator) and nothing a shell would mangle.
  const password = randomBytes(18).toString('base64url');
  await runLocked('chpasswd', [], `${user}:${password}\n`);
  return { user, uid, password, home };
}

function sshdConfig(o: { ports: readonly number[]; hostKey: string; dir: string; authorizedKeys: string; root: boolean }): string {
  const [, noExecPort, kbdPort] = o.ports;
  return [
    ...o.ports.map((p) => `Port ${p}`),
    `ListenAddress ${HOST}`,
    `HostKey ${o.hostKey}`,
    `PidFile ${path.join(o.dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    'PermitRootLogin no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication yes',
    // PAM checks passwords and drives keyboard-interactive (Debian's /etc/pam.d/sshd). Not
    // root, sshd cannot check anyone's password and PAM's session modules would refuse.
    `UsePAM ${o.root ? 'yes' : 'no'}`,
    // The temp dir and authorized_keys are not owned by the account.
    'StrictModes no',
    'LogLevel DEBUG1',
    'Subsystem sftp internal-sftp',
    'MaxSessions 64',
    'MaxStartups 64:30:128',
    // Match blocks last: everything after a Match line belongs to it.
    `Match LocalPort ${noExecPort}`,
    '  ForceCommand internal-sftp',
    `Match LocalPort ${kbdPort}`,
    '  PasswordAuthentication no',
    '  PubkeyAuthentication no',
    '  AuthenticationMethods keyboard-interactive',
    '',
  ].join('\n');
}

class SshdStartError extends Error {
  constructor(message: string, readonly portTaken: boolean) {
    super(message);
  }
}

/** Start a real sshd (see TestSshd); stop() undoes everything it made. */
export async function startTestSshd(): Promise<TestSshd> {
  const undo = new Undo();
  try {
    return await setUp(undo);
  } catch (err) {
    await undo.run().catch(() => undefined);
    throw err;
  }
}

async function setUp(undo: Undo): Promise<TestSshd> {
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-sshd-'));
  undo.push(() => rm(dir, { recursive: true, force: true }));
  const home = await mkdtemp(path.join(os.tmpdir(), 'ferry-sshd-home-'));
  undo.push(() => rm(home, { recursive: true, force: true }));
  const user = root ? accountName() : os.userInfo().username;
  // From here on, a test process that dies without stop() leaves nothing behind.
  const watchdog = startWatchdog(dir, home, root ? user : null);
  undo.push(() => watchdog.dismiss());

  // sshd reads AuthorizedKeysFile as the account, so the folder must be open to it; the
  // private keys inside stay 0600.
  await chmod(dir, 0o755);
  if (root) await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation
  const account: Account = root
    ? await createAccount(user, home, undo)
    : { user, uid: process.getuid?.() ?? -1, password: null, home };
  const clientHome = path.join(dir, 'client-home');
  await mkdir(path.join(clientHome, '.ssh'), { recursive: true, mode: 0o700 });

  const keyFile = path.join(dir, 'id_ed25519');
  const encryptedKeyFile = path.join(dir, 'id_ed25519_encrypted');
  const agentKey = path.join(dir, 'agent_ed25519');
  const passphrase = `pass-${randomBytes(9).toString('base64url')}`;
  await Promise.all([makeKey(keyFile), makeKey(encryptedKeyFile, passphrase), makeKey(agentKey)]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  const publicKeys = await Promise.all([keyFile, encryptedKeyFile, agentKey].map((k) => readFile(`${k}.pub`, 'utf8')));
  await writeFile(authorizedKeys, publicKeys.map((k) => k.trim()).join('\n') + '\n');
  await chmod(authorizedKeys, 0o644);

  // The agent: once loaded, its key exists only in the agent (deleted from disk below).
  const agentSocket = path.join(dir, 'agent.sock');
  let agentLog = '';
  const agent = supervise('ssh-agent', ['-D', '-a', agentSocket], (t) => (agentLog += t));
  undo.push(() => agent.kill());
  let sshd: Supervised | null = null;
  const groups = (): Promise<void> => watchdog.groups([agent, sshd].flatMap((s) => (s?.child.pid ? [s.child.pid] : [])));
  await groups();
  await waitFor(async () => !agent.running || (await stat(agentSocket).then(() => true, () => false)), 10_000);
  if (!agent.running) throw new Error(`ssh-agent did not start: ${agentLog.trim()}`);
  await runOk('ssh-add', ['-q', agentKey], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket } });
  await unlink(agentKey);

  // One log for the instance's life (every sshd around changeHostKey).
  let logText = '';
  let pending = '';
  let authCount = 0;
  const onLog = (text: string): void => {
    logText += text;
    if (logText.length > LOG_LIMIT) logText = logText.slice(-LOG_LIMIT / 2);
    // Count whole lines only: a chunk may end inside one.
    pending += text;
    const cut = pending.lastIndexOf('\n');
    if (cut < 0) return;
    authCount += pending.slice(0, cut).match(AUTH_REQUEST)?.length ?? 0;
    pending = pending.slice(cut + 1);
  };

  const config = path.join(dir, 'sshd_config');
  let generation = 0;
  let hostKey = '';
  let fingerprint = '';
  let knownHostsLine = '';
  let ports: number[] = [];

  const newHostKey = async (): Promise<void> => {
    generation += 1;
    hostKey = path.join(dir, `host_ed25519_${generation}`);
    await makeKey(hostKey);
    fingerprint = await fingerprintOf(`${hostKey}.pub`);
    const [type, blob] = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/);
    knownHostsLine = `[${HOST}]:${ports[0]} ${type} ${blob}`;
  };

  // Ending sshd's connections and everything the account runs lets userdel succeed.
  const stopSshd = async (): Promise<void> => {
    await sshd?.kill(root ? processesOf(account.uid) : []);
    sshd = null;
    await groups();
  };
  undo.push(stopSshd);

  /** Start sshd on `ports` and wait until it listens on all three, or fail with its log. */
  const launch = async (): Promise<void> => {
    await writeFile(config, sshdConfig({ ports, hostKey, dir, authorizedKeys, root }));
    const from = logText.length;
    const started = supervise(SSHD, ['-D', '-e', '-f', config], onLog);
    sshd = started;
    await groups();
    const own = (): string => logText.slice(from);
    const bindFailed = (): boolean => /Bind to port \d+ on \S+ failed/.test(own());
    const listening = (): boolean => ports.every((p) => own().includes(`Server listening on ${HOST} port ${p}.`));
    await waitFor(() => listening() || bindFailed() || !started.running, 10_000);
    if (listening() && !bindFailed() && started.running) return;
    const why = bindFailed() ? 'a port was taken' : started.running ? 'it did not listen within 10 s' : 'it exited';
    await stopSshd();
    throw new SshdStartError(`sshd did not start (${why}):\n${lastLines(own())}`, bindFailed());
  };

  // Another process may take a port between freePorts() and sshd's bind: pick again.
  for (let attempt = 1; ; attempt++) {
    ports = await freePorts(3);
    await newHostKey();
    try {
      await launch();
      break;
    } catch (err) {
      if (!(err instanceof SshdStartError && err.portTaken) || attempt >= 3) throw err;
    }
  }

  let stopped = false;
  const [port, noExecPort, kbdPort] = ports as [number, number, number];
  return {
    host: HOST,
    port,
    noExecPort,
    kbdPort,
    user: account.user,
    password: account.password,
    home: account.home,
    keyFile,
    encryptedKeyFile,
    passphrase,
    agentSocket,
    get fingerprint() {
      return fingerprint;
    },
    get knownHostsLine() {
      return knownHostsLine;
    },
    clientHome,
    authRequests: () => authCount,
    log: () => logText,
    changeHostKey: async () => {
      if (stopped) throw new Error('changeHostKey after stop()');
      // A full restart: open connections end too, so no process outlives its sshd.
      await stopSshd();
      await newHostKey();
      await launch();
      return fingerprint;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await undo.run();
    },
  };
}

/** Options for SftpRemote.connect that log into `sshd` with its unencrypted key (no agent; its host key is trusted). */
export function sftpOptions(sshd: TestSshd, extra: Partial<SftpOptions> = {}): SftpOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    home: sshd.clientHome,
    agent: false,
    identityFile: sshd.keyFile,
    verifyHostKey: () => undefined,
    ...extra,
  };
}
