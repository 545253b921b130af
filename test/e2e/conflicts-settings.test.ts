/**
 * In a real Chromium against a real ferryd: upload conflicts (the "already exists" dialog,
 * once per file; Skip, Overwrite, Rename and Escape checked on the server's disk; "Apply to
 * all" covering one upload only), the Settings dialog (download folder and transfers at
 * once, used by the next download and remembered by the engine across a reload; the
 * SHA-256 checkbox, which the connection's facts and the next transfers follow), sorting
 * the tree by name, size and modified time, and the light and dark themes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, tempDir, type TestUser } from '../helpers/harness.js';
import { exists, randomFile, sha256File } from '../helpers/files.js';
import {
  checkAfterEach,
  connectForm,
  logIn,
  logInThroughProxy,
  screenshot,
  setupE2E,
  transferRow,
  transferStatus,
  transfersButton,
  treeItem,
  treeNames,
  waitTransferDone,
  waitTransferState,
  type E2E,
} from './e2e.js';

const carol: TestUser = { name: 'carol', password: 'carol pass phrase' };
const MiB = 1024 * 1024;

let e2e: E2E;
let page: Page;
let home: string;
let local: string;

beforeAll(async () => {
  e2e = await setupE2E([carol]);
  home = e2e.home(carol);
  local = await tempDir('ferry-e2e-local-');
  await mkdir(home, { recursive: true });
  await writeFile(path.join(home, 'fetch-me.txt'), 'downloaded into the chosen folder\n');
  page = await e2e.openTab();
  await logIn(page, e2e.server, carol);
  await recordDialogs(page);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const toolbar = () => page.getByRole('toolbar', { name: 'File actions' });
const conflictDialog = () => page.getByRole('dialog', { name: /already exists$/ });
const pickFiles = (...names: string[]) => page.getByTestId('upload-files-input').setInputFiles(names.map((n) => path.join(local, n)));
const onServer = (name: string) => readFile(path.join(home, name), 'utf8');

/** Write files on the server's disk (name → content) and show them in the tree. */
async function serverFiles(files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(home, name), content);
  await toolbar().getByRole('button', { name: 'Refresh', exact: true }).click();
  for (const name of Object.keys(files)) await treeItem(page, name).waitFor();
}

async function localFiles(files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(local, name), content);
}

/**
 * Record the title of every dialog the page puts on screen from now on (a MutationObserver
 * in the page), so a test can tell how often it was asked, however quickly a dialog went.
 */
async function recordDialogs(p: Page): Promise<void> {
  await p.evaluate(`(() => {
    const seen = (window.__ferryDialogs = []);
    const title = (d) => (document.getElementById(d.getAttribute('aria-labelledby') || '') || d).textContent;
    new MutationObserver((records) => {
      for (const r of records)
        for (const n of r.addedNodes) {
          if (n.nodeType !== 1) continue;
          for (const d of n.matches('dialog') ? [n] : n.querySelectorAll('dialog')) seen.push(title(d));
        }
    }).observe(document.body, { childList: true, subtree: true });
  })()`);
}

/** Record (in the page) the most transfer rows ever shown "Transferring" at the same time. */
async function recordMostTransferring(p: Page): Promise<void> {
  await p.evaluate(`(() => {
    window.__ferryMostTransferring = 0;
    const count = () => {
      const n = document.querySelectorAll('[role="progressbar"][aria-valuetext$=", Transferring"]').length;
      window.__ferryMostTransferring = Math.max(window.__ferryMostTransferring, n);
    };
    new MutationObserver(count).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-valuetext'] });
  })()`);
}

/** Titles of the conflict dialogs shown since recordDialogs(), in order; emptied by each call. */
async function conflictsAsked(): Promise<string[]> {
  const titles = (await page.evaluate('window.__ferryDialogs.splice(0)')) as string[];
  return titles.filter((t) => t.endsWith('already exists'));
}

/** Wait for the next conflict dialog; the file name it asks about. */
async function nextConflict(): Promise<{ dialog: Locator; name: string }> {
  const dialog = conflictDialog();
  await dialog.waitFor();
  const title = (await dialog.getByRole('heading').textContent()) ?? '';
  const match = /^“(.+)” already exists$/.exec(title);
  if (!match) throw new Error(`unexpected conflict title ${title}`);
  return { dialog: page.getByRole('dialog', { name: title, exact: true }), name: match[1]! };
}

describe('upload conflicts', () => {
  it('asks once per existing file: Skip keeps the server’s bytes, Overwrite replaces them, Rename keeps both, Escape skips', async () => {
    await serverFiles({ 'skip.txt': 'server skip\n', 'over.txt': 'server over\n', 'both.txt': 'server both\n', 'esc.txt': 'server esc\n' });
    await localFiles({ 'skip.txt': 'local skip\n', 'over.txt': 'local over\n', 'both.txt': 'local both\n', 'esc.txt': 'local esc\n', 'new.txt': 'local new\n' });
    await conflictsAsked();
    await pickFiles('skip.txt', 'over.txt', 'both.txt', 'esc.txt', 'new.txt');

    const answers: Record<string, string> = { 'skip.txt': 'Skip', 'over.txt': 'Overwrite', 'both.txt': 'Rename', 'esc.txt': 'Escape' };
    const answered: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { dialog, name } = await nextConflict();
      expect(Object.keys(answers)).toContain(name);
      expect(answered).not.toContain(name);
      answered.push(name);
      // What the contract promises: the four choices and "Apply to all…", and where the file is.
      const buttons = await dialog.getByRole('button').evaluateAll((els) => els.map((el) => el.getAttribute('aria-label')));
      expect(buttons).toEqual(['Overwrite', 'Skip', 'Rename', 'Resume']);
      expect(await dialog.getByRole('checkbox', { name: /^Apply to all/ }).isChecked()).toBe(false);
      const text = (await dialog.textContent()) ?? '';
      expect(text).toContain('on the server');
      expect(text).toContain(`/${name}`);
      if (i === 0) await screenshot(page, '60-upload-conflict');
      if (answers[name] === 'Escape') await page.keyboard.press('Escape');
      else await dialog.getByRole('button', { name: answers[name]!, exact: true }).click();
      await dialog.waitFor({ state: 'detached' });
    }

    await waitTransferDone(page, 'new.txt');
    await waitTransferDone(page, 'over.txt');
    await waitTransferDone(page, 'both.txt');
    await waitTransferState(page, 'skip.txt', 'Skipped');
    await waitTransferState(page, 'esc.txt', 'Skipped');
    // Each file was asked about exactly once, and nothing else was asked.
    expect((await conflictsAsked()).sort()).toEqual(['“both.txt” already exists', '“esc.txt” already exists', '“over.txt” already exists', '“skip.txt” already exists']);
    expect(await conflictDialog().count()).toBe(0);

    expect(await onServer('skip.txt')).toBe('server skip\n');
    expect(await onServer('esc.txt')).toBe('server esc\n');
    expect(await onServer('over.txt')).toBe('local over\n');
    expect(await onServer('both.txt')).toBe('server both\n');
    expect(await onServer('both (1).txt')).toBe('local both\n');
    expect(await onServer('new.txt')).toBe('local new\n');
    expect((await readdir(home)).filter((n) => n.startsWith('both')).sort()).toEqual(['both (1).txt', 'both.txt']);
    await treeItem(page, 'both (1).txt').waitFor();
    await screenshot(page, '61-conflicts-answered');
    await transfersButton(page, 'Clear finished').click();
    await page.getByText('No transfers yet.', { exact: false }).waitFor();
  });

  it('“Apply to all” answers the rest of the same upload; a later upload is asked again', async () => {
    const names = ['a1.txt', 'a2.txt', 'a3.txt'];
    await serverFiles(Object.fromEntries(names.map((n) => [n, `server ${n}\n`])));
    await localFiles(Object.fromEntries(names.map((n) => [n, `first upload ${n}\n`])));
    await conflictsAsked();

    // First upload: one question, answered Overwrite for all three.
    await pickFiles(...names);
    const first = await nextConflict();
    await first.dialog.getByRole('checkbox', { name: /^Apply to all/ }).check();
    await screenshot(page, '62-conflict-apply-to-all');
    await first.dialog.getByRole('button', { name: 'Overwrite', exact: true }).click();
    for (const n of names) await waitTransferDone(page, n);
    expect(await conflictsAsked()).toEqual([`“${first.name}” already exists`]);
    for (const n of names) expect(await onServer(n)).toBe(`first upload ${n}\n`);
    await transfersButton(page, 'Clear finished').click();
    await page.getByText('No transfers yet.', { exact: false }).waitFor();

    // A later upload of existing files is its own batch: asked again (and this time: Skip, for all).
    await localFiles(Object.fromEntries(names.map((n) => [n, `second upload ${n}\n`])));
    await pickFiles(...names);
    const second = await nextConflict();
    // A fresh question: the last answer's "Apply to all" is not ticked already.
    expect(await second.dialog.getByRole('checkbox', { name: /^Apply to all/ }).isChecked()).toBe(false);
    await second.dialog.getByRole('checkbox', { name: /^Apply to all/ }).check();
    await second.dialog.getByRole('button', { name: 'Skip', exact: true }).click();
    for (const n of names) await waitTransferState(page, n, 'Skipped');
    expect(await conflictsAsked()).toEqual([`“${second.name}” already exists`]);
    // Not overwritten by the first upload's "apply to all": the server keeps the first upload's bytes.
    for (const n of names) expect(await onServer(n)).toBe(`first upload ${n}\n`);
    await transfersButton(page, 'Clear finished').click();
    await page.getByText('No transfers yet.', { exact: false }).waitFor();
  });
});

describe('settings', () => {
  const settingsDialog = () => page.getByRole('dialog', { name: 'Settings', exact: true });
  const folderBox = () => settingsDialog().getByRole('textbox', { name: 'Download folder', exact: true });
  const countBox = () => settingsDialog().getByRole('spinbutton', { name: 'Transfers at once', exact: true });
  const footer = () => page.getByRole('region', { name: 'Transfers' });
  const settingsFile = async () => JSON.parse(await readFile(path.join(e2e.configDir, 'settings.json'), 'utf8').catch(() => '{}'));

  async function openSettings(): Promise<void> {
    await page.getByRole('banner').getByRole('button', { name: 'Settings', exact: true }).click();
    await settingsDialog().waitFor();
  }

  it('changes the download folder and transfers at once; the next download lands there; a reload keeps both', async () => {
    // A folder that does not exist yet (the first download makes it), with a space in its name,
    // inside the host's download folder (in browser mode downloads stay inside it).
    const chosen = path.join(e2e.downloadDir, 'My downloads');
    await openSettings();
    expect(await folderBox().inputValue()).toBe(e2e.downloadDir);
    expect(await countBox().inputValue()).toBe('4');
    expect([await countBox().getAttribute('min'), await countBox().getAttribute('max')]).toEqual(['1', '16']);

    // What cannot be saved is said in the dialog, which stays open; nothing is stored.
    for (const bad of ['0', '17', '2.5']) {
      await countBox().fill(bad);
      await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
      await expect.poll(() => settingsDialog().getByRole('alert').textContent()).toBe('Transfers at once is a whole number from 1 to 16.');
    }
    await countBox().fill('2');
    await folderBox().fill('relative/folder');
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => settingsDialog().getByRole('alert').textContent()).toMatch(/^EINVAL: .*full path/);
    // A page may not send downloads outside the host's download folder.
    await folderBox().fill(await tempDir('ferry-e2e-elsewhere-'));
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => settingsDialog().getByRole('alert').textContent()).toMatch(/^EACCES: In browser mode downloads stay inside /);
    expect((await settingsFile()).downloadDir).toBeUndefined();
    // Cancel forgets what was typed.
    await settingsDialog().getByRole('button', { name: 'Cancel', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    await openSettings();
    expect(await folderBox().inputValue()).toBe(e2e.downloadDir);
    expect(await countBox().inputValue()).toBe('4');

    await folderBox().fill(chosen);
    await countBox().fill('2');
    await screenshot(page, '63-settings');
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    await footer().getByText(`Downloads go to ${chosen}`).waitFor();
    expect(await settingsFile()).toMatchObject({ downloadDir: chosen, concurrency: 2 });

    // The next download goes to the new folder, not the old one.
    await treeItem(page, 'fetch-me.txt').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for fetch-me.txt', exact: true }).getByRole('menuitem', { name: 'Download', exact: true }).click();
    await waitTransferDone(page, 'fetch-me.txt');
    expect(await readFile(path.join(chosen, 'fetch-me.txt'), 'utf8')).toBe('downloaded into the chosen folder\n');
    expect(await exists(path.join(e2e.downloadDir, 'fetch-me.txt'))).toBe(false);

    // Once more: the file is in the download folder now, so the person is asked (Rename keeps both).
    await transfersButton(page, 'Clear finished').click();
    await page.getByText('No transfers yet.', { exact: false }).waitFor();
    await conflictsAsked();
    await treeItem(page, 'fetch-me.txt').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Actions for fetch-me.txt', exact: true }).getByRole('menuitem', { name: 'Download', exact: true }).click();
    const again = await nextConflict();
    expect(again.name).toBe('fetch-me.txt');
    expect(await again.dialog.textContent()).toContain(`already in the download folder: ${path.join(chosen, 'fetch-me.txt')}`);
    await again.dialog.getByRole('button', { name: 'Rename', exact: true }).click();
    await waitTransferDone(page, 'fetch-me.txt');
    expect(await conflictsAsked()).toEqual(['“fetch-me.txt” already exists']);
    expect((await readdir(chosen)).sort()).toEqual(['fetch-me (1).txt', 'fetch-me.txt']);
    expect(await readFile(path.join(chosen, 'fetch-me (1).txt'), 'utf8')).toBe('downloaded into the chosen folder\n');

    // A reload is a new engine session: the settings are the engine's, so they are still there.
    await page.reload();
    await connectForm(page).waitFor();
    await recordDialogs(page);
    await footer().getByText(`Downloads go to ${chosen}`).waitFor();
    // "Change…" in the transfers pane opens the same dialog.
    await footer().getByRole('button', { name: 'Change…', exact: true }).click();
    await settingsDialog().waitFor();
    expect(await folderBox().inputValue()).toBe(chosen);
    expect(await countBox().inputValue()).toBe('2');
    await page.keyboard.press('Escape');
    await settingsDialog().waitFor({ state: 'detached' });

    // The engine uses it: with 2 transfers at once, a third upload waits while two move. (Through
    // a throttling proxy, so the uploads are reliably still moving while the test looks.)
    const proxy = await logInThroughProxy(page, e2e.server, carol);
    expect(await transferRow(page, 'fetch-me.txt').count()).toBe(0);
    const names = ['c1.bin', 'c2.bin', 'c3.bin'];
    const sums = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await randomFile(path.join(local, n), 12 * MiB)] as const)));
    await recordMostTransferring(page);
    proxy.rate = 1 * MiB;
    await pickFiles(...names);
    const states = async () => (await Promise.all(names.map(async (n) => (await transferStatus(page, n))?.state ?? null))).sort();
    await expect.poll(states, { timeout: 30_000 }).toEqual(['Queued', 'Transferring', 'Transferring']);
    await screenshot(page, '64-two-at-once');
    proxy.rate = null;
    for (const n of names) await waitTransferDone(page, n);
    for (const n of names) expect(await sha256File(path.join(home, n))).toBe(sums[n]);
    expect(await page.evaluate('window.__ferryMostTransferring')).toBe(2);
    await transfersButton(page, 'Clear finished').click();
    await page.getByText('No transfers yet.', { exact: false }).waitFor();
  });

  it('checks transfers with SHA-256 when the box is ticked, and with XXH3-128 again once it is not', async () => {
    const box = () => settingsDialog().getByRole('checkbox', { name: 'Check transfers with SHA-256 (slower)', exact: true });
    const checksFact = () => page.getByRole('region', { name: 'Connection' }).getByText(/^(XXH3-128 on both ends|SHA-256 of every file)/);
    await openSettings();
    expect(await box().isChecked()).toBe(false);
    expect(await box().getAttribute('aria-describedby')).toBe('settings-check-help');
    await box().check();
    await screenshot(page, '65-settings-sha256');
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    expect(await settingsFile()).toMatchObject({ checkSha256: true });
    await expect.poll(() => checksFact().textContent()).toBe('SHA-256 of every file');

    await localFiles({ 'sha-checked.txt': 'checked by SHA-256\n' });
    await pickFiles('sha-checked.txt');
    const row = await waitTransferDone(page, 'sha-checked.txt', transferRow(page, 'sha-checked.txt'), 'SHA-256 verified');
    expect(await row.textContent()).not.toContain('XXH3-128');

    await openSettings();
    expect(await box().isChecked()).toBe(true);
    await box().uncheck();
    await settingsDialog().getByRole('button', { name: 'Save', exact: true }).click();
    await settingsDialog().waitFor({ state: 'detached' });
    await expect.poll(() => checksFact().textContent()).toMatch(/^XXH3-128 on both ends/);
    await localFiles({ 'xxh-checked.txt': 'checked by XXH3-128\n' });
    await pickFiles('xxh-checked.txt');
    await waitTransferDone(page, 'xxh-checked.txt', transferRow(page, 'xxh-checked.txt'), 'XXH3-128 checked');
    await transfersButton(page, 'Clear finished').click();
  });
});

describe('sorting', () => {
  const DAY = 24 * 3600 * 1000;
  const at = (iso: string) => new Date(iso);
  const sortButton = (label: 'name' | 'size' | 'modified') => page.getByRole('button', { name: `Sort by ${label}`, exact: true });

  /** Which sort button is pressed, and what its tooltip says about the direction. */
  async function pressed(): Promise<Record<string, string | null>> {
    const out: Record<string, string | null> = {};
    for (const label of ['name', 'size', 'modified'] as const) {
      out[label] = (await sortButton(label).getAttribute('aria-pressed')) === 'true' ? await sortButton(label).getAttribute('title') : null;
    }
    return out;
  }

  it('sorts by name, size and modified time (folders first), and a second click reverses', async () => {
    const dir = path.join(home, 'sorting');
    await mkdir(path.join(dir, 'docs'), { recursive: true });
    await mkdir(path.join(dir, 'zz-folder'), { recursive: true });
    const files: Array<[string, number, string]> = [
      ['alpha.txt', 3000, '2021-03-01T12:00:00Z'],
      ['Beta.txt', 10, '2023-06-01T12:00:00Z'],
      ['file2.txt', 500, '2019-01-01T12:00:00Z'],
      ['file10.txt', 500, '2022-01-01T12:00:00Z'],
    ];
    for (const [name, size, when] of files) {
      await writeFile(path.join(dir, name), Buffer.alloc(size, 120));
      await utimes(path.join(dir, name), at(when), at(when));
    }
    await utimes(path.join(dir, 'docs'), at('2020-01-01T12:00:00Z'), at('2020-01-01T12:00:00Z'));
    await utimes(path.join(dir, 'zz-folder'), at('2024-01-01T12:00:00Z'), at('2024-01-01T12:00:00Z'));
    expect(Date.now() - at('2024-01-01T12:00:00Z').getTime()).toBeGreaterThan(DAY);

    await toolbar().getByRole('button', { name: 'Refresh', exact: true }).click();
    await treeItem(page, 'sorting').dblclick();
    await page.getByRole('tree', { name: '/sorting', exact: true }).waitFor();

    // Name, ascending, by default: folders first, then names case-insensitively, numbers by value.
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'zz-folder', 'alpha.txt', 'Beta.txt', 'file2.txt', 'file10.txt']);
    expect(await pressed()).toEqual({ name: 'Sorted ascending; click to reverse', size: null, modified: null });
    // The cells say what is sorted on.
    const alpha = await treeItem(page, 'alpha.txt').textContent();
    expect(alpha).toContain('2.9 KiB');
    expect(alpha).toContain('2021');
    expect(await treeItem(page, 'file2.txt').textContent()).toContain('2019');

    await sortButton('name').click();
    await expect.poll(() => treeNames(page)).toEqual(['zz-folder', 'docs', 'file10.txt', 'file2.txt', 'Beta.txt', 'alpha.txt']);
    expect(await pressed()).toEqual({ name: 'Sorted descending; click to reverse', size: null, modified: null });

    // Size: largest first on the first click (equal sizes by name), smallest first on the second.
    await sortButton('size').click();
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'zz-folder', 'alpha.txt', 'file2.txt', 'file10.txt', 'Beta.txt']);
    expect(await pressed()).toEqual({ name: null, size: 'Sorted descending; click to reverse', modified: null });
    await screenshot(page, '65-sorted-by-size');
    await sortButton('size').click();
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'zz-folder', 'Beta.txt', 'file2.txt', 'file10.txt', 'alpha.txt']);
    expect(await pressed()).toEqual({ name: null, size: 'Sorted ascending; click to reverse', modified: null });

    // Modified: newest first, then oldest first (folders too, among themselves).
    await sortButton('modified').click();
    await expect.poll(() => treeNames(page)).toEqual(['zz-folder', 'docs', 'Beta.txt', 'file10.txt', 'alpha.txt', 'file2.txt']);
    expect(await pressed()).toEqual({ name: null, size: null, modified: 'Sorted descending; click to reverse' });
    await sortButton('modified').click();
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'zz-folder', 'file2.txt', 'alpha.txt', 'file10.txt', 'Beta.txt']);
    expect(await pressed()).toEqual({ name: null, size: null, modified: 'Sorted ascending; click to reverse' });

    // aria-posinset follows the order on screen.
    expect(await treeItem(page, 'file2.txt').getAttribute('aria-posinset')).toBe('3');

    // Back to name order and the home folder for the tests that follow.
    await sortButton('name').click();
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'zz-folder', 'alpha.txt', 'Beta.txt', 'file2.txt', 'file10.txt']);
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('button', { name: 'Home', exact: true }).click();
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
  });
});

describe('themes', () => {
  /** Relative luminance (0 black … 1 white) of a CSS rgb()/rgba() colour. */
  function luminance(css: string): number {
    const m = /rgba?\((\d+), (\d+), (\d+)/.exec(css);
    if (!m) throw new Error(`not an rgb colour: ${css}`);
    const [r, g, b] = [m[1], m[2], m[3]].map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  async function colours(): Promise<{ body: string; text: string; pane: string; tree: string }> {
    const style = (l: Locator, prop: string) =>
      l.evaluate((el, p) => el.ownerDocument.defaultView!.getComputedStyle(el).getPropertyValue(p), prop);
    return {
      body: await style(page.locator('body'), 'background-color'),
      text: await style(page.locator('body'), 'color'),
      pane: await style(page.getByRole('region', { name: 'Remote files' }), 'background-color'),
      tree: await style(page.getByRole('tree'), 'color'),
    };
  }

  it('follows the system: dark colours with a dark preference, light ones with a light preference', async () => {
    await treeItem(page, 'fetch-me.txt').click();
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect.poll(async () => luminance((await colours()).body)).toBeLessThan(0.05);
    const dark = await colours();
    await screenshot(page, '66-theme-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(async () => luminance((await colours()).body)).toBeGreaterThan(0.7);
    const light = await colours();
    await screenshot(page, '67-theme-light');

    expect(dark.body).not.toBe(light.body);
    // Readable in both: light text on dark, dark text on light.
    expect(luminance(dark.text)).toBeGreaterThan(0.5);
    expect(luminance(light.text)).toBeLessThan(0.05);
    expect(luminance(dark.tree)).toBeGreaterThan(0.5);
    expect(luminance(light.tree)).toBeLessThan(0.05);
    expect(luminance(dark.pane)).toBeLessThan(0.05);
    expect(luminance(light.pane)).toBeGreaterThan(0.7);

    // A dialog in the dark theme (the conflict dialog, asked about a file that is there).
    await page.emulateMedia({ colorScheme: 'dark' });
    await localFiles({ 'fetch-me.txt': 'another copy\n' });
    await pickFiles('fetch-me.txt');
    const { dialog } = await nextConflict();
    const dialogBg = await dialog.evaluate((el) => el.ownerDocument.defaultView!.getComputedStyle(el).getPropertyValue('background-color'));
    expect(luminance(dialogBg)).toBeLessThan(0.05);
    await screenshot(page, '68-theme-dark-dialog');
    await dialog.getByRole('button', { name: 'Skip', exact: true }).click();
    await waitTransferState(page, 'fetch-me.txt', 'Skipped');
    expect(await onServer('fetch-me.txt')).toBe('downloaded into the chosen folder\n');
    await page.emulateMedia({ colorScheme: 'light' });
  });
});
