/**
 * How the UI tests find their browser: CHROMIUM_PATH, else the usual Chromium, Chrome
 * and Edge places of Linux, macOS and Windows, else Playwright's own; and, with none,
 * one line naming this platform's fix, printed by `npm test` before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { browserCandidates, findBrowser } from '../../scripts/find-browser.mjs';
import { REPO } from '../helpers/harness.js';

const only = (...files: string[]) => (file: string) => files.includes(file);

describe('finding a browser', () => {
  it('CHROMIUM_PATH comes first, and a wrong one is named', () => {
    const exists = only('/opt/my/chrome', '/usr/bin/chromium');
    expect(findBrowser({ platform: 'linux', env: { CHROMIUM_PATH: '/opt/my/chrome' }, exists })).toEqual({ path: '/opt/my/chrome', source: 'CHROMIUM_PATH' });
    const wrong = findBrowser({ platform: 'linux', env: { CHROMIUM_PATH: '/nowhere/chrome' }, exists });
    expect(wrong.problem).toBe('CHROMIUM_PATH is set to /nowhere/chrome, which does not exist: point it at a Chromium, Chrome or Edge executable, or unset it');
  });

  it.each([
    ['linux', {}, '/usr/bin/chromium'],
    ['linux', {}, '/usr/bin/google-chrome-stable'],
    ['linux', {}, '/usr/bin/microsoft-edge'],
    ['darwin', { HOME: '/Users/ann' }, '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'],
    ['darwin', { HOME: '/Users/ann' }, '/Users/ann/Applications/Chromium.app/Contents/MacOS/Chromium'],
    ['darwin', {}, '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge'],
    ['win32', { PROGRAMFILES: 'C:\\Program Files' }, 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe'],
    ['win32', { 'PROGRAMFILES(X86)': 'C:\\Program Files (x86)' }, 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe'],
    ['win32', { LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'C:\\Users\\ann\\AppData\\Local\\Chromium\\Application\\chrome.exe'],
  ] as const)('%s: finds %s (%s)', (platform, env, browser) => {
    expect(browserCandidates(platform, env)).toContain(browser);
    expect(findBrowser({ platform, env, exists: only(browser, '/pw/chrome'), playwrightPath: '/pw/chrome' })).toEqual({ path: browser, source: 'system' });
  });

  it("prefers the system's browser, then Playwright's own", () => {
    expect(findBrowser({ platform: 'linux', env: {}, exists: only('/pw/chrome'), playwrightPath: '/pw/chrome' })).toEqual({ path: '/pw/chrome', source: 'playwright' });
    expect(findBrowser({ platform: 'linux', env: {}, exists: only(), playwrightPath: '/pw/chrome' }).problem).toBeDefined();
  });

  it.each([
    ['linux', ['/etc/debian_version'], /^no Chromium, Chrome or Edge found for the UI tests: run `sudo apt-get install chromium` \(Debian and Ubuntu\), or set CHROMIUM_PATH/],
    ['linux', ['/etc/fedora-release'], /: run `sudo dnf install chromium`, or set CHROMIUM_PATH/],
    ['linux', [], /: install Chromium or Google Chrome with your system's package manager, or set CHROMIUM_PATH/],
    ['darwin', [], /: install Google Chrome \(or `brew install --cask chromium`\), or set CHROMIUM_PATH/],
    ['win32', [], /: install Google Chrome or Microsoft Edge, or set CHROMIUM_PATH/],
  ] as const)('none on %s: one line naming the fix', (platform, files, message) => {
    const result = findBrowser({ platform, env: { HOME: '/home/ann', PROGRAMFILES: 'C:\\Program Files' }, exists: only(...files) });
    expect(result.path).toBeUndefined();
    expect(result.problem).toMatch(message);
    expect(result.problem).not.toContain('\n');
  });

  it('npm test stops before building or testing anything, with that one line', () => {
    const env = { ...process.env, CHROMIUM_PATH: path.join(REPO, 'no-such-browser') };
    // `npm test` runs `pretest` first, and pretest's first step is this check.
    const { scripts } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts['pretest']).toMatch(/^node scripts\/find-browser\.mjs && /);
    const result = spawnSync(process.execPath, ['scripts/find-browser.mjs'], { cwd: REPO, env, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`npm test: CHROMIUM_PATH is set to ${env.CHROMIUM_PATH}, which does not exist: point it at a Chromium, Chrome or Edge executable, or unset it.\n`);
    expect(spawnSync(process.execPath, ['scripts/find-browser.mjs'], { cwd: REPO, encoding: 'utf8' }).status).toBe(0);
  });
});
