/**
 * The `ferry` CLI contract from the README, against a real ferryd over TLS: listings,
 * folders, transfers (byte-identical both ways), rm, mv, df, exec, permissions, logins and
 * the one-line error format people script against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { duBytes, exists, makeTree, randomFile, sha256File, treeDigest, waitFor } from '../helpers/files.js';
import { cliFor, expectError, expectOk, type Cli } from './cli-helpers.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase', quota: '64MiB', exec: true };
const bob: TestUser = { name: 'bob', password: 'bob pass phrase' };

let server: Ferryd;
let cli: Cli;
let work: string;
let aliceHome: string;
let bobHome: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice, bob] });
  cli = cliFor(server, await tempDir('ferry-config-'));
  work = await tempDir('ferry-work-');
  aliceHome = path.join(server.root, 'homes', alice.name);
  bobHome = path.join(server.root, 'homes', bob.name);
  // First logins: create the homes and record the host key (its one-time notice is tested elsewhere).
  expectOk(await cli.run(alice, ['ls']));
  expectOk(await cli.run(bob, ['ls']));
});

afterAll(cleanupAll);

describe('ls', () => {
  beforeAll(async () => {
    const dir = path.join(aliceHome, 'ls-test');
    await mkdir(path.join(dir, 'folder'), { recursive: true });
    await writeFile(path.join(dir, 'file.txt'), 'five!');
    await symlink('file.txt', path.join(dir, 'link'));
    await utimes(path.join(dir, 'file.txt'), new Date(), new Date(1_600_000_000_123));
  });

  it('--json is an array of {name, type, size, mtime} with file, dir and symlink types', async () => {
    const result = expectOk(await cli.run(alice, ['ls', '/ls-test', '--json']));
    expect(result.stderr).toBe('');
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => Object.keys(r).sort())).toEqual(Array(3).fill(['mtime', 'name', 'size', 'type']));
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName['file.txt']).toEqual({ name: 'file.txt', type: 'file', size: 5, mtime: 1_600_000_000_123 });
    expect(byName['folder']?.type).toBe('dir');
    expect(byName['link']?.type).toBe('symlink');
    const mtime = (await stat(path.join(aliceHome, 'ls-test', 'folder'))).mtimeMs;
    expect(byName['folder']?.mtime).toBe(Math.round(mtime));
  });

  it('text output has one line per entry with its kind, size and name', async () => {
    const result = expectOk(await cli.run(alice, ['ls', '/ls-test']));
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.endsWith(' file.txt'))).toMatch(/^-rw.{7}\s+5 2020-09-13 12:26 file\.txt$/);
    expect(lines.find((l) => l.endsWith(' folder/'))).toMatch(/^d/);
    expect(lines.find((l) => l.endsWith(' link'))).toMatch(/^l/);
  });

  it('a listing bigger than a pipe holds arrives whole (stdout is flushed before exit)', async () => {
    const dir = path.join(aliceHome, 'ls-many');
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 4000 }, (_, i) => writeFile(path.join(dir, `entry-${String(i).padStart(5, '0')}.txt`), '')));
    const rows = JSON.parse(expectOk(await cli.run(alice, ['ls', '/ls-many', '--json'])).stdout) as unknown[];
    expect(rows).toHaveLength(4000);
    expect(expectOk(await cli.run(alice, ['ls', '/ls-many'])).stdout.trimEnd().split('\n')).toHaveLength(4000);
  });

  it('lists the home by default, relative paths work, and a missing path is ENOENT', async () => {
    const home = JSON.parse(expectOk(await cli.run(alice, ['ls', '--json'])).stdout) as Array<{ name: string }>;
    expect(home.map((e) => e.name)).toContain('ls-test');
    const rel = JSON.parse(expectOk(await cli.run(alice, ['ls', 'ls-test/folder', '--json'])).stdout);
    expect(rel).toEqual([]);
    expectError(await cli.run(alice, ['ls', '/no-such-folder']), 'ENOENT');
  });
});

describe('mkdir', () => {
  it('creates a folder; EEXIST when it exists, unless -p', async () => {
    expectOk(await cli.run(alice, ['mkdir', '/made']));
    expect((await stat(path.join(aliceHome, 'made'))).isDirectory()).toBe(true);
    const line = expectError(await cli.run(alice, ['mkdir', '/made']), 'EEXIST');
    expect(line).toContain('mkdir -p');
    expectOk(await cli.run(alice, ['mkdir', '-p', '/made']));
  });

  it('-p creates a whole chain; without -p a missing parent is ENOENT', async () => {
    expectError(await cli.run(alice, ['mkdir', '/chain/a/b/c']), 'ENOENT');
    expect(await exists(path.join(aliceHome, 'chain'))).toBe(false);
    expectOk(await cli.run(alice, ['mkdir', '-p', '/chain/a/b/c']));
    expect((await stat(path.join(aliceHome, 'chain', 'a', 'b', 'c'))).isDirectory()).toBe(true);
  });
});

describe('put and get', () => {
  let local: string;
  beforeAll(async () => {
    local = path.join(work, 'src');
    await makeTree(path.join(local, 'tree'));
    await randomFile(path.join(local, 'a.bin'), 2 * 1024 * 1024 + 5);
    await writeFile(path.join(local, 'b.txt'), 'bee\n');
  });

  it('puts files into a remote folder that does not exist yet (it is created)', async () => {
    const result = expectOk(await cli.run(alice, ['put', path.join(local, 'a.bin'), path.join(local, 'b.txt'), '/up/files']));
    expect(result.stderr).toBe('');
    expect(await sha256File(path.join(aliceHome, 'up', 'files', 'a.bin'))).toBe(await sha256File(path.join(local, 'a.bin')));
    expect(await readFile(path.join(aliceHome, 'up', 'files', 'b.txt'), 'utf8')).toBe('bee\n');
  });

  it('puts a folder tree recursively, byte-identical (empty folders and files included)', async () => {
    expectOk(await cli.run(alice, ['put', path.join(local, 'tree'), '/up']));
    expect(await treeDigest(path.join(aliceHome, 'up', 'tree'))).toEqual(await treeDigest(path.join(local, 'tree')));
  });

  it('with one argument, puts into the current remote folder (the home)', async () => {
    expectOk(await cli.run(alice, ['put', path.join(local, 'b.txt')]));
    expect(await readFile(path.join(aliceHome, 'b.txt'), 'utf8')).toBe('bee\n');
  });

  it('gets files and folders, byte-identical, into a local folder', async () => {
    const dest = path.join(work, 'restore');
    expectOk(await cli.run(alice, ['get', '/up/files/a.bin', '/up/tree', dest]));
    expect(await sha256File(path.join(dest, 'a.bin'))).toBe(await sha256File(path.join(local, 'a.bin')));
    expect(await treeDigest(path.join(dest, 'tree'))).toEqual(await treeDigest(path.join(local, 'tree')));
    // Nothing but the results: no partials left next to them.
    expect((await readdir(dest)).sort()).toEqual(['a.bin', 'tree']);
  });

  it('with one argument, gets into the current local folder', async () => {
    const cwd = path.join(work, 'cwd-get');
    await mkdir(cwd);
    expectOk(await cli.run(alice, ['get', '/up/files/b.txt'], { cwd }));
    expect(await readFile(path.join(cwd, 'b.txt'), 'utf8')).toBe('bee\n');
  });

  it('get of a missing file is ENOENT and leaves nothing behind', async () => {
    const dest = path.join(work, 'missing-get');
    expectError(await cli.run(alice, ['get', '/up/nope.bin', dest]), 'ENOENT');
    expect(await readdir(dest).catch(() => [])).toEqual([]);
  });

  it('put overwrites an existing file by default; --skip-existing keeps it', async () => {
    const file = path.join(work, 'skip', 'same.txt');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'version 1');
    expectOk(await cli.run(alice, ['put', file, '/skip']));
    await writeFile(file, 'version 2, longer');
    expectOk(await cli.run(alice, ['put', '--skip-existing', file, '/skip']));
    expect(await readFile(path.join(aliceHome, 'skip', 'same.txt'), 'utf8')).toBe('version 1');
    expectOk(await cli.run(alice, ['put', file, '/skip']));
    expect(await readFile(path.join(aliceHome, 'skip', 'same.txt'), 'utf8')).toBe('version 2, longer');
  });

  it('put into a remote path that is a file, or get into a local path that is a file, is ENOTDIR', async () => {
    expectError(await cli.run(alice, ['put', path.join(local, 'b.txt'), '/up/files/a.bin']), 'ENOTDIR');
    expect(await sha256File(path.join(aliceHome, 'up', 'files', 'a.bin'))).toBe(await sha256File(path.join(local, 'a.bin')));
    expectError(await cli.run(alice, ['get', '/up/files/b.txt', path.join(local, 'a.bin')]), 'ENOTDIR');
  });

  it('put of a local file that does not exist is ENOENT', async () => {
    expectError(await cli.run(alice, ['put', path.join(work, 'nothing-here'), '/up']), 'ENOENT');
  });
});

describe('rm and mv', () => {
  beforeAll(async () => {
    // Made through exec, not behind the server's back, so its cached usage (df) stays right.
    const script = [
      'mkdir -p rm/full/inner mv/sub',
      'printf x > rm/full/inner/x',
      'printf f > rm/file',
      'printf moving > mv/a.txt',
      'printf taken > mv/taken.txt',
    ].join(' && ');
    expectOk(await cli.run(alice, ['exec', script]));
  });

  it('rm of a non-empty folder without -r is ENOTEMPTY and deletes nothing; -r deletes it', async () => {
    const line = expectError(await cli.run(alice, ['rm', '/rm/full']), 'ENOTEMPTY');
    expect(line).toContain('rm -r');
    expect(await exists(path.join(aliceHome, 'rm', 'full', 'inner', 'x'))).toBe(true);
    expectOk(await cli.run(alice, ['rm', '-r', '/rm/full']));
    expect(await exists(path.join(aliceHome, 'rm', 'full'))).toBe(false);
  });

  it('rm deletes a file; a missing one is ENOENT', async () => {
    expectOk(await cli.run(alice, ['rm', '/rm/file']));
    expect(await exists(path.join(aliceHome, 'rm', 'file'))).toBe(false);
    expectError(await cli.run(alice, ['rm', '/rm/file']), 'ENOENT');
  });

  it('mv renames and moves inside the home; onto an existing name is EEXIST', async () => {
    expectOk(await cli.run(alice, ['mv', '/mv/a.txt', '/mv/b.txt']));
    expectOk(await cli.run(alice, ['mv', 'mv/b.txt', 'mv/sub/c.txt']));
    expect(await readFile(path.join(aliceHome, 'mv', 'sub', 'c.txt'), 'utf8')).toBe('moving');
    expect(await exists(path.join(aliceHome, 'mv', 'a.txt'))).toBe(false);
    expectError(await cli.run(alice, ['mv', '/mv/sub/c.txt', '/mv/taken.txt']), 'EEXIST');
    expect(await readFile(path.join(aliceHome, 'mv', 'taken.txt'), 'utf8')).toBe('taken');
  });
});

describe('df', () => {
  it('--json gives {quota, used, free, entries, maxEntries} with free = quota - used and used = the bytes in the home', async () => {
    const df = JSON.parse(expectOk(await cli.run(alice, ['df', '--json'])).stdout) as Record<string, number>;
    expect(Object.keys(df).sort()).toEqual(['entries', 'free', 'maxEntries', 'quota', 'used']);
    expect(df.maxEntries).toBe(1_000_000);
    expect(df.quota).toBe(64 * 1024 * 1024);
    expect(df.free).toBe(df.quota! - df.used!);
    expect(df.used).toBe(await duBytes(aliceHome));
    expect(df.used).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('without a quota, quota is null; text output is one line', async () => {
    const df = JSON.parse(expectOk(await cli.run(bob, ['df', '--json'])).stdout) as Record<string, unknown>;
    expect(df.quota).toBeNull();
    expect(df.free).toBeGreaterThan(0);
    expect(expectOk(await cli.run(alice, ['df'])).stdout).toMatch(/^quota 64(\.0)? MiB\s+used .+\s+free .+\s+entries [\d,]+ of 1,000,000\n$/);
  });
});

describe('exec', () => {
  it('streams remote stdout and stderr to ours separately and exits with the remote code', async () => {
    const result = await cli.run(alice, ['exec', 'echo to-out; echo to-err >&2; echo more-out; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('to-out\nmore-out\n');
    expect(result.stderr).toBe('to-err\n');
  });

  it('runs in the home and propagates exit 0 and other codes', async () => {
    expectOk(await cli.run(alice, ['exec', 'test -d ls-test && test -f b.txt']));
    expect((await cli.run(alice, ['exec', 'exit 42'])).code).toBe(42);
  });

  it('streams output as it is produced, not at the end', async () => {
    const started = Date.now();
    const run = cli.start(alice, ['exec', 'echo first; sleep 1.5; echo second']);
    let firstAt = 0;
    run.child.stdout!.on('data', () => (firstAt ||= Date.now()));
    const result = await run.result;
    const endedAt = Date.now();
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('first\nsecond\n');
    expect(endedAt - firstAt).toBeGreaterThan(1000);
    expect(firstAt).toBeGreaterThan(started);
  });

  it('stops quietly when its output is closed early (ferry exec … | head), and the command is stopped', async () => {
    const execsBefore = (server.log().match(/exec user=alice /g) ?? []).length;
    const run = cli.start(alice, ['exec', 'yes']);
    await new Promise<void>((resolve) => run.child.stdout!.once('data', () => resolve()));
    run.child.stdout!.destroy(); // like `head` exiting: our next writes get EPIPE
    const result = await run.result;
    expect(result.code).toBe(141); // 128 + SIGPIPE, as shells report a writer that lost its reader
    expect(result.stderr).toBe('');
    // An endless command: it must end because we left, not run on.
    await waitFor(() => (server.log().match(/exec user=alice /g) ?? []).length > execsBefore, 10_000, 'the server to stop the command');
  });

  it('is refused for a user without --exec: EPERM, a non-zero exit and a message', async () => {
    const result = await cli.run(bob, ['exec', 'echo should-not-run']);
    const line = expectError(result, 'EPERM');
    expect(line).toMatch(/may not run commands/);
    expect(result.stdout).toBe('');
  });
});

describe('logins and errors', () => {
  it('a wrong password is EAUTH: exit 1 and one line on stderr naming the code', async () => {
    const result = await cli.run(alice, ['ls'], { env: { FERRY_PASSWORD: 'wrong password' } });
    const line = expectError(result, 'EAUTH');
    expect(line).toContain('FERRY_PASSWORD');
    expect(result.stdout).toBe('');
  });

  it('an unknown user is the same EAUTH (no hint that the name does not exist)', async () => {
    const result = await cli.run({ name: 'mallory', password: 'x' }, ['ls']);
    expectError(result, 'EAUTH');
  });

  it('no server at the address is ECONN', async () => {
    const cliNowhere = cliFor({ cliArgs: (user) => ['--port', '1', '--user', user] }, await tempDir('ferry-config-'));
    expectError(await cliNowhere.run(alice, ['ls']), 'ECONN');
  });

  it('a usage error exits 2 with the usage text', async () => {
    const result = await cli.run(alice, ['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ferry: unknown command "frobnicate"\n/);
  });
});

describe('names from the server are untrusted', () => {
  const evil = 'evil\u001b[2J\u0007name.txt';
  beforeAll(async () => {
    // Empty files, made behind the server's back (they add no bytes to the cached usage).
    await mkdir(path.join(aliceHome, 'hostile'));
    await writeFile(path.join(aliceHome, 'hostile', evil), '');
    await mkdir(path.join(aliceHome, 'hostile-device'));
    await writeFile(path.join(aliceHome, 'hostile-device', 'CON'), '');
  });

  it('ls never writes control characters from a name to the terminal', async () => {
    const text = expectOk(await cli.run(alice, ['ls', '/hostile'])).stdout;
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(text).toContain('evil\\x1b[2J\\x07name.txt');
    // JSON carries the exact name (escaped by JSON itself).
    const rows = JSON.parse(expectOk(await cli.run(alice, ['ls', '/hostile', '--json'])).stdout) as Array<{ name: string }>;
    expect(rows.map((r) => r.name)).toEqual([evil]);
  });

  it('get of a folder holding a name that is unsafe locally is ENAME, one clean line, nothing written', async () => {
    for (const dir of ['/hostile', '/hostile-device']) {
      const dest = path.join(work, `get${dir}`);
      const result = await cli.run(alice, ['get', dir, dest]);
      const line = expectError(result, 'ENAME');
      expect(line).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect(await readdir(path.join(dest, dir.slice(1))).catch(() => [])).toEqual([]);
    }
  });
});

describe('the home is a jail', () => {
  let outside: string;
  beforeAll(async () => {
    outside = await tempDir('ferry-outside-');
    await writeFile(path.join(outside, 'canary.txt'), 'do not touch');
    await writeFile(path.join(bobHome, 'secret.txt'), "bob's secret");
    // Links planted in alice's home by someone with shell access: they must not lead out.
    await symlink(outside, path.join(aliceHome, 'escape'));
    await symlink(path.join(outside, 'canary.txt'), path.join(aliceHome, 'canary-link'));
    await symlink('../bob', path.join(aliceHome, 'to-bob'));
    await symlink('/etc/passwd', path.join(aliceHome, 'passwd-link'));
  });

  const refusals: Array<[string, string[]]> = [
    ['ls ..', ['ls', '..']],
    ['ls ../bob', ['ls', '../bob']],
    ['ls /../bob', ['ls', '/../bob']],
    ['ls a/../../bob', ['ls', 'ls-test/../../bob']],
    ['get ../../etc/passwd', ['get', '../../etc/passwd']],
    ['get ../bob/secret.txt', ['get', '../bob/secret.txt']],
    ['get with backslashes', ['get', '..\\..\\etc\\passwd']],
    ['ls with a backslash', ['ls', 'ls-test\\folder']],
    ['ls through a link to outside', ['ls', 'escape']],
    ['get through a link to outside', ['get', 'escape/canary.txt']],
    ['get a link to an outside file', ['get', 'canary-link']],
    ['get a link to /etc/passwd', ['get', 'passwd-link']],
    ['ls through a link to another home', ['ls', 'to-bob']],
    ['get through a link to another home', ['get', 'to-bob/secret.txt']],
    ['rm through a link', ['rm', 'escape/canary.txt']],
    ['mv out of the home', ['mv', 'b.txt', '../bob/stolen.txt']],
    ['mv a file from outside in', ['mv', 'escape/canary.txt', 'mine.txt']],
    ['mkdir through a link', ['mkdir', 'escape/new']],
    ['mkdir -p through a link', ['mkdir', '-p', 'escape/new/deeper']],
  ];

  // Independent of each other: run side by side (each is mostly a login and a refusal).
  for (const [what, args] of refusals) {
    it.concurrent(`${what} → EACCES`, async () => {
      const cwd = path.join(work, 'jail', what.replace(/\W+/g, '-'));
      await mkdir(cwd, { recursive: true });
      const result = await cli.run(alice, args, { cwd });
      expectError(result, 'EACCES');
      expect(result.stdout).toBe('');
      expect(await readdir(cwd)).toEqual([]);
    });
  }

  it('put into a link that leads outside is EACCES and writes nothing there', async () => {
    const file = path.join(work, 'jail-put.txt');
    await writeFile(file, 'intruder');
    expectError(await cli.run(alice, ['put', file, 'escape']), 'EACCES');
    expectError(await cli.run(alice, ['put', file, '../bob']), 'EACCES');
    expect((await readdir(outside)).sort()).toEqual(['canary.txt']);
    expect(await readdir(bobHome)).toEqual(['secret.txt']);
  });

  it('leaves what is outside untouched', async () => {
    expect(await readFile(path.join(outside, 'canary.txt'), 'utf8')).toBe('do not touch');
    expect(await readFile(path.join(bobHome, 'secret.txt'), 'utf8')).toBe("bob's secret");
  });

  it("lists links as links and never shows another user's files", async () => {
    const rows = JSON.parse(expectOk(await cli.run(alice, ['ls', '--json'])).stdout) as Array<{ name: string; type: string }>;
    expect(rows.find((r) => r.name === 'escape')?.type).toBe('symlink');
    expect(rows.find((r) => r.name === 'to-bob')?.type).toBe('symlink');
    const bobs = JSON.parse(expectOk(await cli.run(bob, ['ls', '--json'])).stdout) as Array<{ name: string }>;
    expect(bobs.map((r) => r.name)).toEqual(['secret.txt']);
  });
});
