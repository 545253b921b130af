/**
 * The console's link policy: a link in command output opens only when Ctrl/⌘+clicked,
 * and only a web page; file:, javascript:, data:, other apps' schemes and URLs that
 * disguise their host never do.
 */
import { describe, expect, it } from 'vitest';
import { linkHint, linkToOpen } from '../../renderer/src/logic/console-links.js';
import { openableLink } from '../../shared/common/links.js';

const CTRL = { ctrlKey: true, metaKey: false };
const META = { ctrlKey: false, metaKey: true };
const PLAIN = { ctrlKey: false, metaKey: false };

describe('openableLink', () => {
  it('opens http and https pages, normalised', () => {
    expect(openableLink('https://example.com/docs?q=1#a')).toBe('https://example.com/docs?q=1#a');
    expect(openableLink('HTTP://Example.COM')).toBe('http://example.com/');
  });

  it('never opens another scheme, a non-URL, a disguised host or a huge link', () => {
    for (const uri of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vscode://file/etc/passwd',
      'ssh://host',
      'ftp://example.com/',
      'mailto:a@example.com',
      'smb://server/share',
      '//example.com/',
      '/etc/passwd',
      'example.com',
      '',
      'https://bank.example@evil.example/',
      'https://user:pass@example.com/',
      `https://example.com/${'a'.repeat(2100)}`,
    ]) {
      expect(openableLink(uri), uri).toBeNull();
    }
  });
});

describe('linkToOpen', () => {
  it('needs Ctrl or ⌘: a plain click opens nothing', () => {
    expect(linkToOpen(PLAIN, 'https://example.com/')).toBeNull();
    expect(linkToOpen(CTRL, 'https://example.com/')).toBe('https://example.com/');
    expect(linkToOpen(META, 'https://example.com/')).toBe('https://example.com/');
  });

  it('opens no other scheme even when Ctrl+clicked', () => {
    expect(linkToOpen(CTRL, 'file:///etc/passwd')).toBeNull();
    expect(linkToOpen(CTRL, 'javascript:alert(1)')).toBeNull();
    expect(linkToOpen(META, 'x-custom-app://do-something')).toBeNull();
  });

  it('says where a link goes and how to open it', () => {
    expect(linkHint('https://example.com/a', false)).toBe('https://example.com/a (Ctrl+click to open)');
    expect(linkHint('https://example.com/a', true)).toBe('https://example.com/a (⌘+click to open)');
    expect(linkHint('file:///etc/passwd', false)).toMatch(/cannot be opened/);
  });
});
