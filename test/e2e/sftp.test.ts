/**
 * SFTP in a real Chromium against a real OpenSSH sshd (test/helpers/sshd.ts): choosing the
 * protocol, logging in with a key file after the first-use key dialog (no credential is
 * sent before the key is trusted), the home in the tree, uploads and downloads checked by
 * SHA-256, a conflict asked about, the console, a key's passphrase asked for, an
 * SFTP-only account whose transfers are checked by size and whose status bar shows no
 * quota, changed keys refused (the one Ferry pinned, the one ~/.ssh/known_hosts records),
 * and a saved SFTP profile.
 *
 * The browser-mode host's ~/.ssh is the sshd helper's throwaway client home, never the
 * real one of the machine running the tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, onCleanup } from '../helpers/harness.js';
import { sha256 } from '../helpers/files.js';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';
import {
  checkAfterEach,
  connectForm,
  connectionState,
  consoleText,
  dropFiles,
  makeDataTransfer,
  patternBytes,
  runAndWait,
  runCommand,
  screenshot,
  setupE2E,
  transferRow,
  tree,
  treeItem,
  treeNames,
  waitTransferDone,
  type E2E,
} from './e2e.js';

/** SFTP sessions start in the account's home when the tests run as root (as in CI); otherwise in the real $HOME. */
const root = process.getuid?.() === 0;

let sshd: TestSshd;
let e2e: E2E;
let page: Page;

beforeAll(async () => {
  sshd = await startTestSshd();
  onCleanup(() => sshd.stop());
  e2e = await setupE2E([], { backend: { ssh: { home: sshd.clientHome, agentSocket: sshd.agentSocket } } });
  // Browser mode takes key files only from the host's ~/.ssh: put the test's keys there.
  for (const [from, to] of [
    [sshd.keyFile, 'id_test'],
    [sshd.encryptedKeyFile, 'id_locked'],
  ] as const) {
    await copyFile(from, path.join(sshd.clientHome, '.ssh', to));
    await chmod(path.join(sshd.clientHome, '.ssh', to), 0o600);
  }
  await mkdir(path.join(sshd.home, 'docs'), { recursive: true });
  await writeFile(path.join(sshd.home, 'docs', 'plan.md'), '# plan\n');
  await writeFile(path.join(sshd.home, 'readme.txt'), 'read me over sftp\n');
  page = await e2e.openTab();
}, 90_000);
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const form = (): Locator => connectForm(page);
const field = (name: string): Locator => form().getByLabel(name, { exact: true });
const statusBar = (): Locator => page.getByRole('contentinfo');
const consolePane = (): Locator => page.getByRole('region', { name: 'Console' });
/** The folder the tests work in, as the tree names it. */
const testTreeName = (): string => (root ? 'Home' : sshd.home);

/** Fill the form for SFTP to `port` as the test account, with a key file from ~/.ssh (or none) and no agent unless asked. */
async function fillSftp(port: number, keyFile: string, options: { agent?: boolean } = {}): Promise<void> {
  await form().getByRole('radio', { name: 'SFTP', exact: true }).check();
  await field('Host').fill(sshd.host);
  await field('Port').fill(String(port));
  await field('User').fill(sshd.user);
  await field('Password').fill('');
  await field('Key file').fill(keyFile);
  await form().getByRole('checkbox', { name: 'Use ssh-agent', exact: true }).setChecked(options.agent ?? false);
}

const connect = (): Promise<void> => form().getByRole('button', { name: 'Connect', exact: true }).click();

/** sshd logs a request a moment after it answers: wait before saying none came. */
async function authRequestsAfterAMoment(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 400));
  return sshd.authRequests();
}

/**
 * Connected: the tree shows where the session started. Not root, sessions start in the
 * real $HOME, so the console takes the tree to the test's folder instead.
 */
async function openTestFolder(): Promise<void> {
  await connectionState(page, 'Connected').waitFor();
  if (root) return page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
  await runCommand(page, `cd ${sshd.home}`);
  await page.getByRole('tree', { name: sshd.home, exact: true }).waitFor();
}

async function disconnect(): Promise<void> {
  await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await form().waitFor();
}

describe('SFTP in the browser', () => {
  it('chooses SFTP (port 22 by default), trusts the key on first use before any login, and logs in with a key file', async () => {
    await expect.poll(() => field('Port').inputValue()).toBe('7070');
    await form().getByRole('radio', { name: 'SFTP', exact: true }).check();
    expect(await field('Port').inputValue()).toBe('22');
    // SFTP has a key file and the agent, and no "No encryption"; a browser has no native picker.
    await form().getByText('More options').click();
    expect(await form().getByRole('checkbox', { name: 'No encryption (trusted loopback only)' }).count()).toBe(0);
    expect(await form().getByRole('button', { name: 'Choose key file…' }).count()).toBe(0);
    expect(await form().getByRole('checkbox', { name: 'Use ssh-agent', exact: true }).isChecked()).toBe(true);
    await fillSftp(sshd.port, '~/.ssh/id_test');
    // Saved as a profile, which keeps the protocol, the key file and the agent choice.
    await field('Profile name').fill('Test box');
    await form().getByRole('button', { name: 'Save profile', exact: true }).click();
    await page.getByRole('button', { name: /^Test box SFTP · / }).waitFor();
    await screenshot(page, '30-sftp-form');

    const before = await authRequestsAfterAMoment();
    await connect();
    const dialog = page.getByRole('dialog', { name: 'Trust this server?' });
    await dialog.waitFor();
    expect(await dialog.getByText(/^SHA256:/).textContent()).toBe(sshd.fingerprint);
    expect(await dialog.textContent()).toContain(`${sshd.host}:${sshd.port}`);
    // The key is asked about before any credential went to the server.
    expect(await authRequestsAfterAMoment()).toBe(before);
    await screenshot(page, '31-sftp-new-key');
    await dialog.getByRole('button', { name: 'Trust', exact: true }).click();

    await openTestFolder();
    expect(sshd.authRequests()).toBeGreaterThan(before);
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'readme.txt']);
    // The status bar says SFTP, shows the key, and no quota (SFTP reports none).
    await statusBar().getByText('SFTP', { exact: true }).waitFor();
    expect(await statusBar().getByText(`Key ${sshd.fingerprint}`, { exact: true }).count()).toBe(1);
    expect(await statusBar().getByTitle('Quota').count()).toBe(0);
    if (root) expect(await page.getByRole('navigation', { name: 'Breadcrumbs' }).locator('[aria-current="page"]').textContent()).toBe('Home');
  });

  it('uploads dropped files with a progress bar each, checked by SHA-256', async () => {
    const big = 3 * 1024 * 1024 + 17;
    const dt = await makeDataTransfer(page, { 'notes.txt': 'dropped over sftp\n', 'big.bin': big });
    await dropFiles(tree(page), dt, { beforeDrop: () => page.getByText(`Drop to upload to ${testTreeName()}`).waitFor() });
    for (const name of ['notes.txt', 'big.bin']) {
      const row = await waitTransferDone(page, name, transferRow(page, name), 'SHA-256 verified');
      expect(await row.textContent()).toContain('Done');
      expect(await row.textContent()).not.toContain('size checked');
    }
    await expect.poll(() => treeNames(page)).toEqual(['docs', 'big.bin', 'notes.txt', 'readme.txt']);
    expect(await readFile(path.join(sshd.home, 'notes.txt'), 'utf8')).toBe('dropped over sftp\n');
    expect(sha256(await readFile(path.join(sshd.home, 'big.bin')))).toBe(sha256(patternBytes(big)));
  });

  it('downloads a file from the context menu, checked by SHA-256', async () => {
    await treeItem(page, 'readme.txt').click({ button: 'right' });
    const menu = page.getByRole('menu', { name: 'Actions for readme.txt', exact: true });
    await menu.getByRole('menuitem', { name: 'Download', exact: true }).click();
    const row = await waitTransferDone(page, 'readme.txt', transferRow(page, 'readme.txt'), 'SHA-256 verified');
    expect(await row.textContent()).toContain('Download');
    expect(await readFile(path.join(e2e.downloadDir, 'readme.txt'), 'utf8')).toBe('read me over sftp\n');
  });

  it('asks before replacing a file that is there, and replaces it when told', async () => {
    await dropFiles(tree(page), await makeDataTransfer(page, { 'notes.txt': 'a newer note\n' }));
    const conflict = page.getByRole('dialog', { name: '“notes.txt” already exists' });
    await conflict.waitFor();
    await conflict.getByRole('button', { name: 'Overwrite', exact: true }).click();
    await expect.poll(() => transferRow(page, 'notes.txt').count()).toBe(2);
    await waitTransferDone(page, 'notes.txt', transferRow(page, 'notes.txt').last(), 'SHA-256 verified');
    expect(await readFile(path.join(sshd.home, 'notes.txt'), 'utf8')).toBe('a newer note\n');
  });

  it('runs console commands on the server: output, then [exit N]', async () => {
    await expect.poll(() => consoleText(page)).toContain(`── connected to ${sshd.user}@${sshd.host}:${sshd.port} ──`);
    let text = await runAndWait(page, 'echo hello over ssh; ls', /^\[exit 0\]$/);
    // (The prompt is long: the terminal may wrap it.)
    expect(text.replace(/\n/g, '')).toContain(`${sshd.user}:${sshd.home}$ echo hello over ssh; ls`);
    expect(text).toMatch(/^hello over ssh$/m);
    expect(text).toMatch(/^readme\.txt$/m);
    text = await runAndWait(page, "echo oops >&2; sh -c 'exit 3'", /^\[exit 3\]$/);
    expect(text).toMatch(/^oops$/m);
    await screenshot(page, '32-sftp-connected');
  });

  it('asks for a key’s passphrase; an SFTP-only account checks transfers by size and shows no quota', async () => {
    await disconnect();
    await fillSftp(sshd.noExecPort, '~/.ssh/id_locked');
    await connect();
    // Another port is another server to Ferry: its key is asked about too.
    const trust = page.getByRole('dialog', { name: 'Trust this server?' });
    await trust.waitFor();
    expect(await trust.getByText(/^SHA256:/).textContent()).toBe(sshd.fingerprint);
    await trust.getByRole('button', { name: 'Trust', exact: true }).click();

    // The key is encrypted: the form asks for its passphrase, and says which key it is for.
    const passphrase = field('Key passphrase');
    await passphrase.waitFor();
    expect(await form().getByRole('alert').textContent()).toMatch(/^EAUTH: /);
    expect(await form().textContent()).toContain(`for ${path.join(sshd.clientHome, '.ssh', 'id_locked')}`);
    await expect.poll(() => passphrase.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await screenshot(page, '33-sftp-passphrase');
    await passphrase.fill(sshd.passphrase);
    await connect();
    await openTestFolder();
    expect(await passphrase.count()).toBe(0);

    await statusBar().getByText('SFTP', { exact: true }).waitFor();
    expect(await statusBar().getByTitle('Quota').count()).toBe(0);
    const dt = await makeDataTransfer(page, { 'sized.txt': 'checked by its size\n' });
    await dropFiles(tree(page), dt);
    const row = await waitTransferDone(page, 'sized.txt', transferRow(page, 'sized.txt'), 'size checked');
    expect(await row.textContent()).not.toContain('SHA-256 verified');
    expect(await readFile(path.join(sshd.home, 'sized.txt'), 'utf8')).toBe('checked by its size\n');
    await screenshot(page, '34-sftp-size-checked');
  });

  it('refuses a changed key before any login: the one Ferry pinned, then the one ~/.ssh/known_hosts records (EHOSTKEY)', async () => {
    await disconnect();
    const pinned = sshd.fingerprint;
    const changed = await sshd.changeHostKey();
    await fillSftp(sshd.port, '~/.ssh/id_test');
    let before = await authRequestsAfterAMoment();
    await connect();
    const warning = page.getByRole('dialog', { name: 'Warning: the server’s key has changed' });
    await warning.waitFor();
    expect(await warning.textContent()).toContain(pinned);
    expect(await warning.textContent()).toContain(changed);
    expect(await authRequestsAfterAMoment()).toBe(before);
    await screenshot(page, '35-sftp-changed-key');
    await warning.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect.poll(() => connectionState(page, 'Disconnected').isVisible()).toBe(true);

    // A key the person's own known_hosts holds is trusted as it is (no dialog).
    await writeFile(path.join(sshd.clientHome, '.ssh', 'known_hosts'), `${sshd.knownHostsLine}\n`);
    await connect();
    await openTestFolder();
    await disconnect();

    // The key changes again: known_hosts records another one, so the login is refused.
    await sshd.changeHostKey();
    await fillSftp(sshd.port, '~/.ssh/id_test');
    before = await authRequestsAfterAMoment();
    await connect();
    const alert = form().getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^EHOSTKEY: The key of 127\.0\.0\.1:\d+ \(SHA256:[A-Za-z0-9+/]{43}\) is not the one ~\/\.ssh\/known_hosts records/);
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await authRequestsAfterAMoment()).toBe(before);
    await expect.poll(() => connectionState(page, 'Disconnected').isVisible()).toBe(true);
    await screenshot(page, '36-sftp-ehostkey');
  });

  it('fills the form from a saved SFTP profile after a reload', async () => {
    await page.reload();
    await form().waitFor();
    const profile = page.getByRole('button', { name: /^Test box SFTP · / });
    expect(await profile.textContent()).toContain(`${sshd.user}@${sshd.host}:${sshd.port}`);
    await profile.click();
    expect(await form().getByRole('radio', { name: 'SFTP', exact: true }).isChecked()).toBe(true);
    expect(await field('Port').inputValue()).toBe(String(sshd.port));
    expect(await field('Key file').inputValue()).toBe('~/.ssh/id_test');
    expect(await form().getByRole('checkbox', { name: 'Use ssh-agent', exact: true }).isChecked()).toBe(false);
    // Back to Ferry: its options come back, SFTP's go.
    await form().getByRole('radio', { name: 'Ferry', exact: true }).check();
    expect(await field('Key file').count()).toBe(0);
    expect(await form().getByRole('checkbox', { name: 'Use ssh-agent', exact: true }).count()).toBe(0);
  });
});
