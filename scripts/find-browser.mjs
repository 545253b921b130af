#!/usr/bin/env node
// The browser the UI tests drive, found the way users expect: CHROMIUM_PATH if set, else
// the usual Chromium, Chrome and Edge locations of this platform, else a Chromium that
// Playwright itself installed. Run as a script (`npm test` does, first), it exits 1 with
// one line naming the fix for this platform when there is none.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Headless, and every background service off, so the browser talks to nothing but 127.0.0.1. */
export const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** Where Chromium, Chrome and Edge install themselves, in the order they are tried. */
export function browserCandidates(platform, env) {
  if (platform === 'win32') {
    const roots = [env['PROGRAMFILES'], env['PROGRAMFILES(X86)'], env['LOCALAPPDATA']].filter(Boolean);
    const apps = ['Chromium\\Application\\chrome.exe', 'Google\\Chrome\\Application\\chrome.exe', 'Microsoft\\Edge\\Application\\msedge.exe'];
    return apps.flatMap((app) => roots.map((root) => path.win32.join(root, app)));
  }
  if (platform === 'darwin') {
    const apps = ['Chromium.app/Contents/MacOS/Chromium', 'Google Chrome.app/Contents/MacOS/Google Chrome', 'Microsoft Edge.app/Contents/MacOS/Microsoft Edge'];
    const roots = ['/Applications', ...(env['HOME'] ? [path.posix.join(env['HOME'], 'Applications')] : [])];
    return apps.flatMap((app) => roots.map((root) => path.posix.join(root, app)));
  }
  return [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/snap/bin/chromium',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/opt/google/chrome/chrome',
    '/usr/bin/microsoft-edge',
    '/usr/bin/microsoft-edge-stable',
    '/opt/microsoft/msedge/msedge',
  ];
}

/** What to do when no browser is found, for this platform (one sentence). */
export function installHint(platform, exists) {
  if (platform === 'win32') return 'install Google Chrome or Microsoft Edge, or set CHROMIUM_PATH to a Chromium-based browser';
  if (platform === 'darwin') return 'install Google Chrome (or `brew install --cask chromium`), or set CHROMIUM_PATH to a Chromium-based browser';
  if (exists('/etc/debian_version')) return 'run `sudo apt-get install chromium` (Debian and Ubuntu), or set CHROMIUM_PATH to a Chromium-based browser';
  if (exists('/etc/fedora-release')) return 'run `sudo dnf install chromium`, or set CHROMIUM_PATH to a Chromium-based browser';
  return "install Chromium or Google Chrome with your system's package manager, or set CHROMIUM_PATH to a Chromium-based browser";
}

/**
 * The browser to test with: `{ path, source }`, or `{ problem }` (one line) when there
 * is none. `playwrightPath` is where Playwright would have installed its Chromium.
 */
export function findBrowser({ platform = process.platform, env = process.env, exists = existsSync, playwrightPath } = {}) {
  const chosen = env['CHROMIUM_PATH'];
  if (chosen) {
    return exists(chosen)
      ? { path: chosen, source: 'CHROMIUM_PATH' }
      : { problem: `CHROMIUM_PATH is set to ${chosen}, which does not exist: point it at a Chromium, Chrome or Edge executable, or unset it` };
  }
  const found = browserCandidates(platform, env).find((candidate) => exists(candidate));
  if (found) return { path: found, source: 'system' };
  if (playwrightPath && exists(playwrightPath)) return { path: playwrightPath, source: 'playwright' };
  return { problem: `no Chromium, Chrome or Edge found for the UI tests: ${installHint(platform, exists)}` };
}

/** Where Playwright installs its own Chromium, if playwright-core can say. */
export async function playwrightChromiumPath() {
  try {
    const { chromium } = await import('playwright-core');
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

/** The browser's path for a script named `who`; where there is none, one line and exit 1. */
export async function browserOrExit(who) {
  const result = findBrowser({ playwrightPath: await playwrightChromiumPath() });
  if (result.problem) {
    console.error(`${who}: ${result.problem}.`);
    process.exit(1);
  }
  return result.path;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await browserOrExit('npm test');
