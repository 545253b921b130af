import { describe, expect, it } from 'vitest';
import { CHECK_LABEL, connectHint, formatBytes, formatDate, formatEta, formatSpeed, percent, verifyingLabel } from '../../renderer/src/logic/format.js';
import { baseName, crumbs, displayPath, invalidName, isInside, joinPath, parentPath } from '../../renderer/src/logic/remote-path.js';

describe('format', () => {
  it('prints speed, ETA and percent the way people read them', () => {
    expect(formatSpeed(0)).toBe('');
    expect(formatSpeed(3 * 1024 * 1024)).toBe('3.0 MiB/s');
    expect(formatEta(null)).toBe('');
    expect(formatEta(42)).toBe('42 s left');
    expect(formatEta(0.3)).toBe('under 1 s left');
    expect(formatEta(125)).toBe('2 min 05 s left');
    expect(formatEta(3 * 3600 + 7 * 60)).toBe('3 h 07 min left');
    expect(percent(50, 200)).toBe(25);
    expect(percent(0, 0, 'done')).toBe(100);
    expect(percent(0, 0, 'active')).toBe(0);
    expect(percent(999, 1000)).toBe(99);
  });

  it('prints sizes without "1024 KiB" or "100.0 KiB"', () => {
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1024 * 1024 - 10)).toBe('1.0 MiB');
    expect(formatBytes(1024 * 1024)).toBe('1.0 MiB');
    expect(formatBytes(Math.round(99.97 * 1024))).toBe('100 KiB');
    expect(formatBytes(Math.round(99.9 * 1024))).toBe('99.9 KiB');
    expect(formatBytes(1000 * 1024)).toBe('1000 KiB');
  });

  it('prints dates relative to today', () => {
    const now = new Date(2025, 5, 15, 12, 0).getTime();
    expect(formatDate(new Date(2025, 5, 15, 9, 30).getTime(), now)).toMatch(/^Today /);
    expect(formatDate(new Date(2025, 1, 3, 9, 30).getTime(), now)).not.toMatch(/2025/);
    expect(formatDate(new Date(2021, 1, 3).getTime(), now)).toMatch(/2021/);
    expect(formatDate(0, now)).toBe('');
  });

  it('explains connection errors', () => {
    expect(connectHint({ code: 'EAUTH', message: '' })).toMatch(/password/);
    expect(connectHint({ code: 'ECONN', message: '' })).toMatch(/host and port/);
    expect(connectHint({ code: 'EPROTO', message: '' })).toMatch(/encryption/);
    expect(connectHint({ code: 'ENOENT', message: '' })).toBeNull();
  });
});

describe('remote paths', () => {
  it('joins, splits and compares', () => {
    expect(joinPath('/', 'a')).toBe('/a');
    expect(joinPath('/a', 'b')).toBe('/a/b');
    expect(parentPath('/a/b')).toBe('/a');
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/')).toBe('/');
    expect(baseName('/a/b.txt')).toBe('b.txt');
    expect(isInside('/a', '/a/b')).toBe(true);
    expect(isInside('/a', '/ab')).toBe(false);
    expect(isInside('/', '/x')).toBe(true);
    expect(crumbs('/a/b')).toEqual([
      { name: 'Home', path: '/' },
      { name: 'a', path: '/a' },
      { name: 'b', path: '/a/b' },
    ]);
  });

  it('names an SFTP session’s home "Home", and starts the crumbs at the root outside it', () => {
    const home = '/home/alice';
    expect(displayPath('/home/alice', home)).toBe('Home');
    expect(displayPath('/', home)).toBe('/');
    expect(crumbs('/home/alice/docs', home)).toEqual([
      { name: 'Home', path: '/home/alice' },
      { name: 'docs', path: '/home/alice/docs' },
    ]);
    expect(crumbs('/home/alice', home)).toEqual([{ name: 'Home', path: '/home/alice' }]);
    expect(crumbs('/home/alicex', home)).toEqual([
      { name: '/', path: '/' },
      { name: 'home', path: '/home' },
      { name: 'alicex', path: '/home/alicex' },
    ]);
    expect(crumbs('/', home)).toEqual([{ name: '/', path: '/' }]);
  });

  it('words hints and checks for the protocol in use', () => {
    expect(connectHint({ code: 'ECONN', message: '' }, 'sftp')).toMatch(/SSH server/);
    expect(connectHint({ code: 'EAUTH', message: '' }, 'sftp')).toMatch(/key file or ssh-agent/);
    expect(verifyingLabel('xxh128')).toBe('Checking XXH3-128…');
    expect(verifyingLabel('sha256')).toBe('Verifying SHA-256…');
    expect(CHECK_LABEL.xxh128).toBe('XXH3-128 checked');
    expect(CHECK_LABEL.sha256).toBe('SHA-256 verified');
    expect(verifyingLabel('size')).toBe('Checking size…');
  });

  it('refuses names that cannot be file names', () => {
    expect(invalidName('ok.txt')).toBeNull();
    expect(invalidName(' ')).not.toBeNull();
    expect(invalidName('..')).not.toBeNull();
    expect(invalidName('a/b')).not.toBeNull();
    expect(invalidName('a\u0001')).not.toBeNull();
  });
});
