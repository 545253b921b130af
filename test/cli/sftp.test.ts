/**
 * `ferry --protocol sftp` against a real OpenSSH sshd: every way to log in, ~/.ssh/config
 * and ~/.ssh/known_hosts honoured, host keys pinned as for Ferry's own servers, every
 * command, transfers checked by the server's SHA-256 (by size where the account may run
 * no commands), and a put or a get killed mid-file that continues its partial.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, stat, statfs, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FERRY, cleanupAll, onCleanup, run, start, tempDir, type RunOptions, type RunResult, type Started } from '../helpers/harness.js';
import { exists, randomFile, sha256File, treeDigest, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { expectError, expectOk } from './cli-helpers.js';

const MiB = 1024 * 1024;
/** The big file of the folder put, also the one whose put and get are killed and resumed. */
const BIG = 100 * MiB;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const shell = promisify(execFile);

let sshd: TestSshd;
/** Ferry's config (its known_hosts) for most tests; the host-key tests use fresh ones. */
let configDir: string;
let work: string;
let home: string;
/** A local folder to put: unicode names, an empty file and folder, a script, a big file (made once). */
let tree: string;
let big: string;
let bigHash: string;

interface SftpOptions {
  /** --host (default 127.0.0.1); with an alias, no --port, --user or --identity is given. */
  readonly host?: string;
  readonly port?: number;
  /** --identity: the unencrypted key unless another file, or null for none. */
  readonly identity?: string | null;
  readonly configDir?: string;
  /** Environment on top of the isolated one (a fake HOME, no agent, no password). */
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
}

function sftpArgs(o: SftpOptions): string[] {
  if (o.host !== undefined) return ['--protocol', 'sftp', '--host', o.host];
  const identity = o.identity === undefined ? sshd.keyFile : o.identity;
  return [
    '--protocol', 'sftp',
    '--host', '127.0.0.1',
    '--port', String(o.port ?? sshd.port),
    '--user', sshd.user,
    ...(identity === null ? [] : ['--identity', identity]),
  ];
}

/** Nothing of this machine's own SSH setup or Ferry config may leak into a run. */
function sftpEnv(o: SftpOptions): RunOptions {
  return {
    env: {
      HOME: sshd.clientHome,
      FERRY_CONFIG_DIR: o.configDir ?? configDir,
      SSH_AUTH_SOCK: undefined,
      FERRY_PASSWORD: undefined,
      FERRY_PASSPHRASE: undefined,
      FERRY_HOST: undefined,
      FERRY_PORT: undefined,
      FERRY_USER: undefined,
      ...o.env,
    },
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
  };
}

function ferry(args: readonly string[], o: SftpOptions = {}): Promise<RunResult> {
  return run(FERRY, [...sftpArgs(o), ...args], sftpEnv(o));
}

function startFerry(args: readonly string[], o: SftpOptions = {}): Started {
  return start(FERRY, [...sftpArgs(o), ...args], sftpEnv(o));
}

/** `put --json` / `get --json` output: one object per file. */
function jsonLines(result: RunResult): Array<Record<string, unknown>> {
  return result.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** How often sshd's log says the account logged in by `method` (and, for keys, with which key). */
function accepted(method: 'publickey' | 'password', fingerprint?: string): number {
  const key = fingerprint ? ` ssh2: \\S+ ${escapeRegex(fingerprint)}` : '';
  const pattern = new RegExp(`Accepted ${method} for ${escapeRegex(sshd.user)} from 127\\.0\\.0\\.1 port \\d+${key}`, 'g');
  return sshd.log().match(pattern)?.length ?? 0;
}

async function fingerprintOfKey(publicKeyFile: string): Promise<string> {
  const { stdout } = await shell('ssh-keygen', ['-l', '-f', publicKeyFile]);
  return /SHA256:[A-Za-z0-9+/]{43}/.exec(stdout)![0];
}

async function freshConfigDir(): Promise<string> {
  return tempDir('ferry-sftp-config-');
}

const systemKnownHosts = (): string => path.join(sshd.clientHome, '.ssh', 'known_hosts');

/** Files in `dir` named like the hidden partial of an upload of `name`. */
async function remotePartials(dir: string, name: string): Promise<string[]> {
  const pattern = new RegExp(`^\\.${escapeRegex(name)}\\.[0-9a-f]{12}\\.ferry-part$`);
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => pattern.test(n)).map((n) => path.join(dir, n));
}

beforeAll(async () => {
  sshd = await startTestSshd();
  onCleanup(() => sshd.stop());
  expect(sshd.password, 'the SFTP tests run as root (the helper makes an account with a password)').not.toBeNull();
  configDir = await freshConfigDir();
  work = await tempDir('ferry-sftp-work-');
  home = sshd.home;
  tree = path.join(work, 'tree');
  big = path.join(tree, 'big.bin');
  await mkdir(path.join(tree, 'sub', 'deeper'), { recursive: true });
  await mkdir(path.join(tree, 'empty folder'));
  await writeFile(path.join(tree, '名字 ünï.txt'), 'unicode name, unicode content: ünï 名字\n');
  await writeFile(path.join(tree, 'empty.txt'), '');
  bigHash = await randomFile(big, BIG);
  await writeFile(path.join(tree, 'run.sh'), '#!/bin/sh\necho ran\n');
  await chmod(path.join(tree, 'run.sh'), 0o755);
  await writeFile(path.join(tree, 'private.txt'), 'owner and group only\n');
  await chmod(path.join(tree, 'private.txt'), 0o640);
  await randomFile(path.join(tree, 'sub', 'deeper', 'naïve café.dat'), 70_000);
  // The first connection of this config dir records the key (its one-time notice is tested
  // below with a config dir of its own), so later stderr holds only what a test caused.
  expectOk(await ferry(['ls']));
});

afterAll(cleanupAll);

describe('host keys', () => {
  it('the first connection records 127.0.0.1:PORT and the key in FERRY_CONFIG_DIR/known_hosts, and says so once', async () => {
    const dir = await freshConfigDir();
    const hostPort = `127.0.0.1:${sshd.port}`;
    const first = expectOk(await ferry(['ls'], { configDir: dir }));
    const lines = first.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`new host ${hostPort}, key ${sshd.fingerprint} recorded in ${path.join(dir, 'known_hosts')}`);
    expect(await readFile(path.join(dir, 'known_hosts'), 'utf8')).toBe(`${hostPort} ${sshd.fingerprint}\n`);
    expect(expectOk(await ferry(['ls'], { configDir: dir })).stderr).toBe('');
    const listed = expectOk(await run(FERRY, ['known-hosts', 'list'], { env: { FERRY_CONFIG_DIR: dir } }));
    expect(listed.stdout).toBe(`${hostPort} ${sshd.fingerprint}\n`);
  });

  it('a key that ~/.ssh/known_hosts holds is trusted without being recorded in Ferry’s file', async () => {
    const dir = await freshConfigDir();
    await writeFile(systemKnownHosts(), `${sshd.knownHostsLine}\n`);
    try {
      const result = expectOk(await ferry(['ls'], { configDir: dir }));
      expect(result.stderr).toBe('');
      expect(await exists(path.join(dir, 'known_hosts'))).toBe(false);
    } finally {
      await rm(systemKnownHosts(), { force: true });
    }
  });

  it('a hashed ~/.ssh/known_hosts entry (ssh-keygen -H) is trusted the same way', async () => {
    const dir = await freshConfigDir();
    await writeFile(systemKnownHosts(), `${sshd.knownHostsLine}\n`);
    try {
      await shell('ssh-keygen', ['-H', '-f', systemKnownHosts()]);
      const hashed = await readFile(systemKnownHosts(), 'utf8');
      expect(hashed).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /);
      expect(hashed).not.toContain('127.0.0.1');
      const result = expectOk(await ferry(['ls'], { configDir: dir }));
      expect(result.stderr).toBe('');
      expect(await exists(path.join(dir, 'known_hosts'))).toBe(false);
    } finally {
      await rm(systemKnownHosts(), { force: true });
      await rm(`${systemKnownHosts()}.old`, { force: true });
    }
  });

  it('another key for this host in ~/.ssh/known_hosts is EHOSTKEY, before any login request', async () => {
    const dir = await freshConfigDir();
    const other = path.join(work, 'other-host-key');
    await shell('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const [type, blob] = (await readFile(`${other}.pub`, 'utf8')).trim().split(/\s+/);
    await writeFile(systemKnownHosts(), `[127.0.0.1]:${sshd.port} ${type} ${blob}\n`);
    try {
      await sleep(300); // earlier logins' lines may still be on their way
      const before = sshd.authRequests();
      const result = await ferry(['ls'], { configDir: dir });
      const line = expectError(result, 'EHOSTKEY');
      expect(line).toContain(sshd.fingerprint);
      expect(line).toContain(await fingerprintOfKey(`${other}.pub`));
      await sleep(300);
      expect(sshd.authRequests()).toBe(before);
      expect(await exists(path.join(dir, 'known_hosts'))).toBe(false);
    } finally {
      await rm(systemKnownHosts(), { force: true });
    }
  });
});

describe('logins', () => {
  it('by key (--identity): the server accepted that key', async () => {
    const fingerprint = await fingerprintOfKey(`${sshd.keyFile}.pub`);
    const before = accepted('publickey', fingerprint);
    expectOk(await ferry(['ls']));
    await waitFor(() => accepted('publickey', fingerprint) > before, 5000, 'sshd to log the key login');
  });

  it('by ssh-agent (SSH_AUTH_SOCK, no --identity): the server accepted the agent’s key', async () => {
    const { stdout } = await shell('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: sshd.agentSocket } });
    const fingerprint = /SHA256:[A-Za-z0-9+/]{43}/.exec(stdout)![0];
    const before = accepted('publickey', fingerprint);
    expectOk(await ferry(['ls'], { identity: null, env: { SSH_AUTH_SOCK: sshd.agentSocket } }));
    await waitFor(() => accepted('publickey', fingerprint) > before, 5000, 'sshd to log the agent login');
  });

  it('by password (FERRY_PASSWORD, no key, no agent)', async () => {
    const before = accepted('password');
    expectOk(await ferry(['ls'], { identity: null, env: { FERRY_PASSWORD: sshd.password! } }));
    await waitFor(() => accepted('password') > before, 5000, 'sshd to log the password login');
  });

  it('by an encrypted key with FERRY_PASSPHRASE; without it (and no terminal) EAUTH names the key', async () => {
    const fingerprint = await fingerprintOfKey(`${sshd.encryptedKeyFile}.pub`);
    const before = accepted('publickey', fingerprint);
    expectOk(await ferry(['ls'], { identity: sshd.encryptedKeyFile, env: { FERRY_PASSPHRASE: sshd.passphrase } }));
    await waitFor(() => accepted('publickey', fingerprint) > before, 5000, 'sshd to log the encrypted key login');
    const line = expectError(await ferry(['ls'], { identity: sshd.encryptedKeyFile }), 'EAUTH');
    expect(line).toContain(sshd.encryptedKeyFile);
    expect(line).toContain('passphrase');
    const wrong = expectError(await ferry(['ls'], { identity: sshd.encryptedKeyFile, env: { FERRY_PASSPHRASE: 'not the passphrase' } }), 'EAUTH');
    expect(wrong).toContain(`The passphrase of ${sshd.encryptedKeyFile} is not right`);
  });

  it('a wrong password is EAUTH: exit 1, one line, nothing on stdout', async () => {
    const result = await ferry(['ls'], { identity: null, env: { FERRY_PASSWORD: `${sshd.password}-wrong` } });
    const line = expectError(result, 'EAUTH');
    expect(line).toContain(sshd.user);
    expect(result.stdout).toBe('');
  });
});

describe('~/.ssh/config', () => {
  it('a Host alias gives HostName, Port, User and IdentityFile', async () => {
    await mkdir(path.join(home, 'via-alias'), { recursive: true });
    await writeFile(path.join(home, 'via-alias', 'marker.txt'), 'alias');
    const config = path.join(sshd.clientHome, '.ssh', 'config');
    await writeFile(
      config,
      ['Host myalias', '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  User ${sshd.user}`, `  IdentityFile ${sshd.keyFile}`, ''].join('\n'),
    );
    try {
      const fingerprint = await fingerprintOfKey(`${sshd.keyFile}.pub`);
      const before = accepted('publickey', fingerprint);
      const result = expectOk(await ferry(['ls', 'via-alias', '--json'], { host: 'myalias' }));
      expect(JSON.parse(result.stdout)).toEqual([{ name: 'marker.txt', type: 'file', size: 5, mtime: expect.any(Number) }]);
      await waitFor(() => accepted('publickey', fingerprint) > before, 5000, 'sshd to log the key login');
    } finally {
      await rm(config, { force: true });
    }
  });
});

describe('commands', () => {
  let uid: number;
  beforeAll(async () => {
    uid = (await stat(home)).uid;
  });

  it('ls --json lists names, types and sizes; a missing path is ENOENT', async () => {
    const dir = path.join(home, 'ls-test');
    await mkdir(path.join(dir, 'folder'), { recursive: true });
    await writeFile(path.join(dir, 'file.txt'), 'five!');
    await symlink('file.txt', path.join(dir, 'link'));
    await symlink('folder', path.join(dir, 'folder-link'));
    await utimes(path.join(dir, 'file.txt'), new Date(), new Date(1_600_000_000_000));
    const result = expectOk(await ferry(['ls', 'ls-test', '--json']));
    expect(result.stderr).toBe('');
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => Object.keys(r).sort())).toEqual(Array(4).fill(['mtime', 'name', 'size', 'type']));
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName['file.txt']).toEqual({ name: 'file.txt', type: 'file', size: 5, mtime: 1_600_000_000_000 });
    expect(byName['folder']?.type).toBe('dir');
    // A link to a file lists as that file (so it can be downloaded); a link to a folder stays a link.
    expect(byName['link']).toEqual({ name: 'link', type: 'file', size: 5, mtime: 1_600_000_000_000 });
    expect(byName['folder-link']?.type).toBe('symlink');
    const missing = await ferry(['ls', 'no-such-folder']);
    expectError(missing, 'ENOENT');
    expect(missing.stdout).toBe('');
  });

  it('mkdir -p a/b/c makes the chain as the account; without -p an existing folder is EEXIST', async () => {
    expectOk(await ferry(['mkdir', '-p', 'a/b/c']));
    const made = await stat(path.join(home, 'a', 'b', 'c'));
    expect(made.isDirectory()).toBe(true);
    expect(made.uid).toBe(uid);
    expectOk(await ferry(['mkdir', '-p', 'a/b/c']));
    expectError(await ferry(['mkdir', 'a/b']), 'EEXIST');
  });

  describe('put and get of a folder', () => {
    it('put --json: every file done and checked by sha256, the server’s copy byte-identical, modes kept', async () => {
      const result = expectOk(await ferry(['put', '--json', tree, 'up'], { timeoutMs: 120_000 }));
      const rows = jsonLines(result);
      expect(rows.map((r) => r.name).sort()).toEqual(['big.bin', 'empty.txt', 'naïve café.dat', 'private.txt', 'run.sh', '名字 ünï.txt']);
      for (const r of rows) expect(r, String(r.name)).toMatchObject({ direction: 'upload', state: 'done', check: 'sha256' });
      expect(rows.find((r) => r.name === 'big.bin')?.size).toBe(BIG);
      // Read straight from the disk (the test runs as root): nothing but the files, no partials.
      expect(await treeDigest(path.join(home, 'up', 'tree'))).toEqual(await treeDigest(tree));
      expect((await stat(path.join(home, 'up', 'tree', 'run.sh'))).mode & 0o777).toBe(0o755);
      expect((await stat(path.join(home, 'up', 'tree', 'private.txt'))).mode & 0o777).toBe(0o640);
      expect((await stat(path.join(home, 'up', 'tree', 'big.bin'))).uid).toBe(uid);
    });

    it('get --json brings the folder back, every file checked by sha256, identical', async () => {
      const dest = path.join(work, 'back');
      const rows = jsonLines(expectOk(await ferry(['get', '--json', 'up/tree', dest], { timeoutMs: 120_000 })));
      expect(rows).toHaveLength(6);
      for (const r of rows) expect(r, String(r.name)).toMatchObject({ direction: 'download', state: 'done', check: 'sha256' });
      expect(await treeDigest(path.join(dest, 'tree'))).toEqual(await treeDigest(tree));
      expect(await readdir(dest)).toEqual(['tree']);
    });
  });

  it('mv renames and moves; onto an existing name is EEXIST', async () => {
    // Made by the account itself (a folder root made would not be the account's to change).
    expectOk(await ferry(['exec', 'mkdir -p mv/sub && printf moving > mv/a.txt && printf taken > mv/taken.txt']));
    expectOk(await ferry(['mv', 'mv/a.txt', 'mv/sub/b.txt']));
    expect(await readFile(path.join(home, 'mv', 'sub', 'b.txt'), 'utf8')).toBe('moving');
    expect(await exists(path.join(home, 'mv', 'a.txt'))).toBe(false);
    expectError(await ferry(['mv', 'mv/sub/b.txt', 'mv/taken.txt']), 'EEXIST');
    expect(await readFile(path.join(home, 'mv', 'taken.txt'), 'utf8')).toBe('taken');
  });

  it('rm of a non-empty folder without -r is ENOTEMPTY and deletes nothing; rm -r deletes it; rm deletes a file', async () => {
    expectOk(await ferry(['mkdir', '-p', 'rm/full/inner']));
    expectOk(await ferry(['exec', 'printf x > rm/full/inner/x && printf f > rm/file']));
    const line = expectError(await ferry(['rm', 'rm/full']), 'ENOTEMPTY');
    expect(line).toContain('rm -r');
    expect(await readFile(path.join(home, 'rm', 'full', 'inner', 'x'), 'utf8')).toBe('x');
    expectOk(await ferry(['rm', '-r', 'rm/full']));
    expect(await exists(path.join(home, 'rm', 'full'))).toBe(false);
    expectOk(await ferry(['rm', 'rm/file']));
    expect(await readdir(path.join(home, 'rm'))).toEqual([]);
    expectError(await ferry(['rm', 'rm/file']), 'ENOENT');
  });

  it('a folder the account may not write to is EACCES, and the advice does not say the path left the home', async () => {
    await mkdir(path.join(home, 'roots-only'), { mode: 0o755 });
    const result = await ferry(['mkdir', 'roots-only/mine']);
    const line = expectError(result, 'EACCES');
    expect(line).toContain('roots-only/mine');
    expect(await exists(path.join(home, 'roots-only', 'mine'))).toBe(false);
    // The path is inside the home: the server's permissions refused it, not Ferry's jail.
    expect(line).not.toContain('inside your home');
  });

  it('exec prints the command’s stdout and stderr apart and exits with its code', async () => {
    const result = await ferry(['exec', 'echo out; echo err >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\n');
  });

  it('df --json: used and free in bytes, and no quota', async () => {
    const df = JSON.parse(expectOk(await ferry(['df', '--json'])).stdout) as Record<string, unknown>;
    expect(Object.keys(df).sort()).toEqual(['free', 'quota', 'used']);
    expect(df.quota).toBeNull();
    const disk = await statfs(home);
    for (const key of ['used', 'free'] as const) {
      expect(Number.isSafeInteger(df[key]), `${key}: ${String(df[key])}`).toBe(true);
      expect(df[key] as number).toBeGreaterThan(0);
      expect(df[key] as number).toBeLessThanOrEqual(disk.blocks * disk.bsize);
    }
  });

  it('put --skip-existing leaves an existing different file as it was (state "skipped")', async () => {
    const file = path.join(work, 'conflict', 'same.txt');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'version 1');
    expectOk(await ferry(['put', file, 'conflict']));
    await writeFile(file, 'version 2, longer');
    const rows = jsonLines(expectOk(await ferry(['put', '--skip-existing', '--json', file, 'conflict'])));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'same.txt', state: 'skipped' });
    expect(await readFile(path.join(home, 'conflict', 'same.txt'), 'utf8')).toBe('version 1');
  });
});

describe('an account that may run no commands (ForceCommand internal-sftp)', () => {
  it('put --json says check "size" (no server hash), and the file arrives intact', async () => {
    const file = path.join(work, 'no-exec', 'sized.bin');
    const hash = await randomFile(file, 3 * MiB + 11);
    const rows = jsonLines(expectOk(await ferry(['put', '--json', file, 'no-exec'], { port: sshd.noExecPort })));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'sized.bin', state: 'done', check: 'size' });
    expect(await sha256File(path.join(home, 'no-exec', 'sized.bin'))).toBe(hash);
  });

  it('exec "echo hi" does not run: no "hi", a non-zero exit', async () => {
    const result = await ferry(['exec', 'echo hi'], { port: sshd.noExecPort });
    // sshd answers "This service allows sftp connections only." instead.
    expect(result.stdout).not.toMatch(/^hi$/m);
    expect(result.stderr).not.toMatch(/^hi$/m);
    expect(result.code).not.toBe(0);
  });
});

describe('resume after the client is killed mid-file', () => {
  /** Watch `file` while `running` runs: the smallest size seen and every inode seen. */
  function watchFile(file: string, running: Started): Promise<{ sizes: number[]; inodes: Set<number> }> {
    const sizes: number[] = [];
    const inodes = new Set<number>();
    let done = false;
    void running.result.finally(() => (done = true));
    return (async () => {
      while (!done) {
        const st = await stat(file).catch(() => null);
        if (st) {
          sizes.push(st.size);
          inodes.add(st.ino);
        }
        await sleep(5);
      }
      return { sizes, inodes };
    })();
  }

  /** The size of `file` once it has stopped changing (the killed client's last writes have landed). */
  async function settledSize(file: string): Promise<number> {
    let last = -1;
    for (;;) {
      const size = (await stat(file)).size;
      if (size === last) return size;
      last = size;
      await sleep(300);
    }
  }

  it('put: the next put continues the same hidden partial and sends only the rest', async () => {
    const proxy = await Proxy.start(sshd.port);
    const via: SftpOptions = { port: proxy.port, timeoutMs: 120_000 };
    const remoteDir = path.join(home, 'resume');
    // The upload stalls in the proxy half-way, so the kill lands mid-file every time.
    proxy.stallAfter = BIG / 2;
    const first = startFerry(['put', big, 'resume'], via);
    const partial = await waitFor(async () => {
      const [p] = await remotePartials(remoteDir, 'big.bin');
      return p !== undefined && (await stat(p)).size > 0.3 * BIG ? p : undefined;
    }, 60_000, 'a partial holding 30% of the file');
    first.child.kill('SIGKILL');
    expect((await first.result).signal).toBe('SIGKILL');
    proxy.cut();
    const kept = await settledSize(partial);
    const { ino } = await stat(partial);
    expect(kept).toBeGreaterThan(0.3 * BIG);
    expect(kept).toBeLessThan(BIG);
    expect(await exists(path.join(remoteDir, 'big.bin'))).toBe(false);

    proxy.release();
    proxy.reset();
    const second = startFerry(['put', big, 'resume'], via);
    const watched = watchFile(partial, second);
    expectOk(await second.result);
    const { sizes, inodes } = await watched;
    // The same partial, never cut back: it grew from where the killed run left it.
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(kept);
    expect([...inodes]).toEqual([ino]);
    const placed = path.join(remoteDir, 'big.bin');
    expect((await stat(placed)).ino).toBe(ino); // renamed into place, not copied
    expect(await sha256File(placed)).toBe(bigHash);
    expect(await remotePartials(remoteDir, 'big.bin')).toEqual([]);
    // Only the rest crossed the wire (plus the SSH handshake and framing).
    expect(proxy.upstreamBytes).toBeGreaterThanOrEqual(BIG - kept);
    expect(proxy.upstreamBytes).toBeLessThan(BIG - kept + BIG / 100 + MiB);
    await proxy.close();
  });

  it('get: the next get continues the same hidden local partial and fetches only the rest', async () => {
    const proxy = await Proxy.start(sshd.port);
    const via: SftpOptions = { port: proxy.port, timeoutMs: 120_000 };
    const dest = path.join(work, 'get-resume');
    const partial = path.join(dest, '.big.bin.ferry-part');
    proxy.downRate = 25 * MiB; // about 4 s: surely still running when killed
    // The file the put above resumed.
    const first = startFerry(['get', 'resume/big.bin', dest], via);
    await waitFor(async () => ((await stat(partial).catch(() => null))?.size ?? 0) > 0.3 * BIG, 60_000, 'a partial download holding 30%');
    first.child.kill('SIGKILL');
    expect((await first.result).signal).toBe('SIGKILL');
    proxy.cut();
    expect(await readdir(dest)).toEqual(['.big.bin.ferry-part']); // never half a file under its real name
    const kept = await settledSize(partial);
    const { ino } = await stat(partial);
    expect(kept).toBeGreaterThan(0.3 * BIG);
    expect(kept).toBeLessThan(BIG);

    proxy.release();
    proxy.reset();
    const second = startFerry(['get', 'resume/big.bin', dest], via);
    const watched = watchFile(partial, second);
    expectOk(await second.result);
    const { sizes, inodes } = await watched;
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(kept);
    expect([...inodes]).toEqual([ino]);
    const placed = path.join(dest, 'big.bin');
    expect((await stat(placed)).ino).toBe(ino);
    expect(await sha256File(placed)).toBe(bigHash);
    expect(await readdir(dest)).toEqual(['big.bin']);
    expect(proxy.downstreamBytes).toBeLessThan(BIG - kept + BIG / 100 + MiB);
    await proxy.close();
  });
});

describe('a changed host key', () => {
  it('is refused with EHOSTKEY before any login request; known-hosts forget lets it connect again', async () => {
    const hostPort = `127.0.0.1:${sshd.port}`;
    const pinned = sshd.fingerprint;
    expect(await readFile(path.join(configDir, 'known_hosts'), 'utf8')).toContain(`${hostPort} ${pinned}\n`);
    const renewed = await sshd.changeHostKey();
    expect(renewed).not.toBe(pinned);
    await sleep(300); // earlier logins' lines may still be on their way
    const before = sshd.authRequests();
    const refused = await ferry(['ls']);
    const line = expectError(refused, 'EHOSTKEY');
    expect(line).toContain(`ferry known-hosts forget ${hostPort}`);
    expect(line).toContain(pinned);
    expect(line).toContain(renewed);
    expect(refused.stdout).toBe('');
    await sleep(300);
    expect(sshd.authRequests()).toBe(before);
    expect(await readFile(path.join(configDir, 'known_hosts'), 'utf8')).toContain(`${hostPort} ${pinned}\n`);

    const env = { env: { FERRY_CONFIG_DIR: configDir } };
    expect(expectOk(await run(FERRY, ['known-hosts', 'forget', hostPort], env)).stderr).toContain(`forgot the key of ${hostPort}`);
    const again = expectOk(await ferry(['ls']));
    expect(again.stderr).toContain(`new host ${hostPort}, key ${renewed}`);
    expect(await readFile(path.join(configDir, 'known_hosts'), 'utf8')).toContain(`${hostPort} ${renewed}\n`);
    await waitFor(() => sshd.authRequests() > before, 5000, 'the login to reach sshd');
  });
});
