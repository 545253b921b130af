#!/usr/bin/env node
// Take the README's screenshot (docs/screenshot.png) from browser mode: `npm start -- --web`
// with a throwaway data folder, the first-run welcome, a few files on the local server,
// one upload through the page and one console command, in Chromium at 1280×800.
//
//   node scripts/screenshot.mjs [OUT.png]
//
// The browser: the one find-browser.mjs finds (CHROMIUM_PATH, else the usual places).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BROWSER_ARGS, browserOrExit } from './find-browser.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(REPO, 'docs', 'screenshot.png'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ferry-screenshot-'));
const dataDir = path.join(tmp, 'data');
mkdirSync(dataDir, { recursive: true });
// The account's name (otherwise the OS user's).
writeFileSync(path.join(dataDir, 'local-server.json'), JSON.stringify({ version: 1, user: 'alice' }));

const env = { ...process.env, HOME: tmp, FERRY_DATA_DIR: dataDir, FERRY_CONFIG_DIR: path.join(tmp, 'config') };
delete env.DISPLAY;
delete env.WAYLAND_DISPLAY;
const ferry = spawn(process.execPath, ['scripts/start.mjs', '--web', '--no-open', '--download-dir', '/home/alice/Downloads/Ferry'], {
  cwd: REPO,
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
let stdout = '';
const url = await new Promise((resolve, reject) => {
  ferry.stdout.setEncoding('utf8').on('data', (d) => {
    stdout += d;
    const m = /^Ferry web UI: (\S+)$/m.exec(stdout);
    if (m) resolve(m[1]);
  });
  ferry.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${stdout}`)));
});

const browser = await chromium.launch({
  executablePath: await browserOrExit('screenshot'),
  args: [...BROWSER_ARGS],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, colorScheme: 'light' });
  await page.goto(url);
  await page.getByRole('heading', { name: 'Welcome to Ferry' }).waitFor({ timeout: 30_000 });
  await page.getByRole('tree').waitFor();

  // Some files on the server, as a person would have them.
  const home = path.join(dataDir, 'local-server', 'homes', 'alice');
  for (const dir of ['photos/2026', 'reports', 'backups']) mkdirSync(path.join(home, dir), { recursive: true });
  writeFileSync(path.join(home, 'notes.md'), '# Notes\n\nFerry keeps partial uploads for a resume.\n');
  writeFileSync(path.join(home, 'reports', 'q3-summary.pdf'), Buffer.alloc(1_842_311, 1));
  writeFileSync(path.join(home, 'backups', 'site-2026-11.tar.gz'), Buffer.alloc(48 * 1024 * 1024 + 12_345, 3));
  await page.getByRole('button', { name: 'Refresh', exact: true }).click();
  await page.getByRole('treeitem', { name: 'notes.md', exact: true }).waitFor();

  await page.getByTestId('upload-files-input').setInputFiles([
    { name: 'holiday-video.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(23 * 1024 * 1024 + 777, 7) },
    { name: 'invoice-0042.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(318_004, 9) },
  ]);
  await page.getByRole('treeitem', { name: 'holiday-video.mp4', exact: true }).waitFor({ timeout: 30_000 });
  await page.getByRole('treeitem', { name: 'invoice-0042.pdf', exact: true }).waitFor({ timeout: 30_000 });

  await page.getByRole('treeitem', { name: 'backups', exact: true }).click();
  await page.keyboard.press('ArrowRight');
  await page.getByRole('textbox', { name: 'Command', exact: true }).fill('du -sh *');
  await page.getByRole('textbox', { name: 'Command', exact: true }).press('Enter');
  await page.getByText('[exit 0]').first().waitFor({ timeout: 15_000 });
  await page.getByRole('treeitem', { name: 'notes.md', exact: true }).click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: out });
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
} finally {
  await browser.close();
  process.kill(-ferry.pid, 'SIGINT');
  await new Promise((resolve) => ferry.once('exit', resolve));
  rmSync(tmp, { recursive: true, force: true });
}
