import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KnownHosts, defaultConfigDir, hostKeyChangedError } from '../../engine/app/stores/known-hosts.js';
import { FerryError } from '../../shared/common/errors.js';

const FP_A = 'SHA256:' + 'A'.repeat(43);
const FP_B = 'SHA256:' + 'b+/9'.repeat(10) + 'xyz';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-known-hosts-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('KnownHosts', () => {
  it('treats a missing file as no known hosts', async () => {
    const hosts = new KnownHosts(join(root, 'nowhere', 'known_hosts'));
    expect(await hosts.check('example.com:7022', FP_A)).toEqual({ kind: 'new' });
    expect(await hosts.list()).toEqual([]);
    expect(await hosts.forget('example.com:7022')).toBe(false);
  });

  it('trusts, then reports known, changed and new', async () => {
    const hosts = new KnownHosts(join(root, 'known_hosts'));
    await hosts.trust('example.com:7022', FP_A);
    expect(await hosts.check('example.com:7022', FP_A)).toEqual({ kind: 'known' });
    expect(await hosts.check('example.com:7022', FP_B)).toEqual({ kind: 'changed', expected: FP_A });
    expect(await hosts.check('example.com:7023', FP_A)).toEqual({ kind: 'new' });
    expect(await hosts.check('other.example.com:7022', FP_A)).toEqual({ kind: 'new' });
  });

  it('matches host names case-insensitively', async () => {
    const hosts = new KnownHosts(join(root, 'known_hosts'));
    await hosts.trust('Files.Example.COM:7022', FP_A);
    expect(await hosts.check('files.example.com:7022', FP_A)).toEqual({ kind: 'known' });
    expect(await hosts.list()).toEqual([{ host: 'files.example.com:7022', fingerprint: FP_A }]);
    expect(await hosts.forget('FILES.example.com:7022')).toBe(true);
    expect(await hosts.list()).toEqual([]);
  });

  it('replaces an earlier key rather than adding a second one', async () => {
    const file = join(root, 'known_hosts');
    const hosts = new KnownHosts(file);
    await hosts.trust('a:1', FP_A);
    await hosts.trust('b:2', FP_A);
    await hosts.trust('a:1', FP_B);
    expect(await hosts.list()).toEqual([
      { host: 'b:2', fingerprint: FP_A },
      { host: 'a:1', fingerprint: FP_B },
    ]);
    expect(await readFile(file, 'utf8')).toBe(`b:2 ${FP_A}\na:1 ${FP_B}\n`);
  });

  it('creates a private folder and file, and leaves no temporary files', async () => {
    const dir = join(root, 'config', 'ferry');
    const file = join(dir, 'known_hosts');
    await new KnownHosts(file).trust('a:1', FP_A);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['known_hosts']);
  });

  it('ignores comments and blank lines, and keeps them when rewriting', async () => {
    const file = join(root, 'known_hosts');
    await writeFile(file, `# pinned by hand\n\na:1 ${FP_A}   # the lab box\nnot a valid line at all\n`);
    const hosts = new KnownHosts(file);
    expect(await hosts.list()).toEqual([{ host: 'a:1', fingerprint: FP_A }]);
    expect(await hosts.check('a:1', FP_A)).toEqual({ kind: 'known' });
    await hosts.trust('b:2', FP_B);
    expect(await readFile(file, 'utf8')).toBe(
      `# pinned by hand\n\na:1 ${FP_A}   # the lab box\nnot a valid line at all\nb:2 ${FP_B}\n`,
    );
    expect(await hosts.forget('a:1')).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(`# pinned by hand\n\nnot a valid line at all\nb:2 ${FP_B}\n`);
  });

  it('keeps every concurrent trust', async () => {
    const hosts = new KnownHosts(join(root, 'known_hosts'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => hosts.trust(`host${i}:7022`, FP_A)));
    expect(await hosts.list()).toHaveLength(20);
  });

  it('refuses bad fingerprints and host names', async () => {
    const hosts = new KnownHosts(join(root, 'known_hosts'));
    await expect(hosts.trust('a:1', 'MD5:abc')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(hosts.trust('a b:1', FP_A)).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(hosts.check('', FP_A)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('hostKeyChangedError', () => {
  it('says what happened, the risk, and how to accept a real change', () => {
    const err = hostKeyChangedError('example.com:7022', FP_A, FP_B);
    expect(err).toBeInstanceOf(FerryError);
    expect(err.code).toBe('EHOSTKEY');
    expect(err.message).toContain(FP_A);
    expect(err.message).toContain(FP_B);
    expect(err.message).toMatch(/man-in-the-middle/);
    expect(err.message).toContain('ferry known-hosts forget example.com:7022');
    expect(err.details).toEqual({ host: 'example.com:7022', expected: FP_A, actual: FP_B });
  });
});

describe('defaultConfigDir', () => {
  it('prefers FERRY_CONFIG_DIR everywhere', () => {
    expect(defaultConfigDir({ FERRY_CONFIG_DIR: '/srv/ferry' }, 'linux', '/home/u')).toBe('/srv/ferry');
    expect(defaultConfigDir({ FERRY_CONFIG_DIR: 'D:\\ferry' }, 'win32', 'C:\\Users\\u')).toBe('D:\\ferry');
  });

  it('follows XDG on Linux and other Unixes', () => {
    expect(defaultConfigDir({}, 'linux', '/home/u')).toBe('/home/u/.config/ferry');
    expect(defaultConfigDir({ XDG_CONFIG_HOME: '/xdg' }, 'linux', '/home/u')).toBe('/xdg/ferry');
    expect(defaultConfigDir({ XDG_CONFIG_HOME: '/xdg' }, 'freebsd', '/home/u')).toBe('/xdg/ferry');
    expect(defaultConfigDir({ XDG_CONFIG_HOME: 'relative' }, 'linux', '/home/u')).toBe('/home/u/.config/ferry');
  });

  it('uses Application Support on macOS', () => {
    expect(defaultConfigDir({ XDG_CONFIG_HOME: '/xdg' }, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/Ferry');
  });

  it('uses APPDATA on Windows', () => {
    expect(defaultConfigDir({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u')).toBe(
      'C:\\Users\\u\\AppData\\Roaming\\Ferry',
    );
    expect(defaultConfigDir({}, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Roaming\\Ferry');
  });

  it('defaults to the real environment', () => {
    expect(typeof defaultConfigDir()).toBe('string');
  });
});
