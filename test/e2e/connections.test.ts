/**
 * Connections in a real Chromium: a server whose key changed since it was trusted (a
 * blocking warning with both fingerprints; nothing is sent, nothing accepted unless the
 * person explicitly replaces the key), clear errors for an unreachable server and for a
 * TLS / no-TLS mismatch (the code first, the form still usable), and saved connections
 * (save, list, connect from one with the password asked, rename, remove, all kept by the
 * engine across a page reload).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { cleanupAll, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, connectForm, connectionState, logIn, screenshot, setupE2E, submitLogin, treeItem, type E2E } from './e2e.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };

let e2e: E2E;
/** The TLS ferryd the tests talk to (the first one is replaced by a new one on its port). */
let server: Ferryd;

beforeAll(async () => {
  e2e = await setupE2E([alice]);
  server = e2e.server;
  await putFile(server, 'on-first-server.txt', 'first\n');
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

async function putFile(on: Ferryd, name: string, content: string): Promise<void> {
  const home = path.join(on.root, 'homes', alice.name);
  await mkdir(home, { recursive: true });
  await writeFile(path.join(home, name), content);
}

const knownHosts = (): Promise<string> => readFile(path.join(e2e.configDir, 'known_hosts'), 'utf8').catch(() => '');
const savedProfiles = async (): Promise<Array<{ id: string; name: string; host: string; port: number; user: string; secret?: string }>> =>
  JSON.parse(await readFile(path.join(e2e.configDir, 'profiles.json'), 'utf8').catch(() => '{"profiles":[]}')).profiles;

/** Logins the server accepted so far (its log). */
const okLogins = (on: Ferryd): number => on.log().match(/auth \S+ user=\S+ ok/g)?.length ?? 0;
const field = (page: Page, label: string): Locator => connectForm(page).getByLabel(label, { exact: true });
const connectButton = (page: Page): Locator => connectForm(page).getByRole('button', { name: 'Connect', exact: true });
const formAlert = (page: Page): Locator => connectForm(page).getByRole('alert');
const savedList = (page: Page): Locator => page.getByRole('region', { name: 'Saved connections' });

async function disconnect(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Disconnect', exact: true }).click();
  await connectionState(page, 'Disconnected').waitFor();
  await connectForm(page).waitFor();
}

/** Open the form's "More options" (profile name, No encryption) if it is closed. */
async function moreOptions(page: Page): Promise<void> {
  const details = connectForm(page).locator('details');
  if ((await details.getAttribute('open')) === null) await details.getByText('More options', { exact: true }).click();
  await field(page, 'Profile name').waitFor();
}

/** The form is usable: every field editable and Connect enabled. */
async function expectFormUsable(page: Page): Promise<void> {
  for (const label of ['Host', 'Port', 'User', 'Password']) expect(await field(page, label).isEditable()).toBe(true);
  expect(await connectButton(page).isEnabled()).toBe(true);
  expect(await connectButton(page).textContent()).toBe('Connect');
}

/** The text of the <dd> that follows the <dt> reading `term`. */
function definition(scope: Locator, term: string): Locator {
  return scope.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');
}

describe('host keys', () => {
  it('blocks a changed server key with a warning showing both fingerprints; only an explicit, confirmed choice replaces it', async () => {
    const page = await e2e.openTab();
    const first = server;
    await logIn(page, first, alice);
    await treeItem(page, 'on-first-server.txt').waitFor();
    await disconnect(page);
    const hostPort = `${first.host}:${first.port}`;
    expect(await knownHosts()).toContain(`${hostPort} ${first.fingerprint}`);

    // The server is reinstalled (or impersonated): a new root, so a new key, on the same port.
    await first.stop();
    const second = await startFerryd({ users: [alice], port: first.port });
    server = second;
    expect(second.port).toBe(first.port);
    expect(second.fingerprint).toMatch(/^SHA256:/);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    await putFile(second, 'on-second-server.txt', 'second\n');

    await submitLogin(page, second, alice, alice.password);
    const warning = page.getByRole('dialog', { name: 'Warning: the server’s key has changed' });
    await warning.waitFor();
    const text = (await warning.textContent()) ?? '';
    expect(text).toContain(hostPort);
    expect(text).toContain('man-in-the-middle');
    expect(text).toMatch(/has not connected and sent nothing/);
    expect(await definition(warning, 'Expected (recorded)').textContent()).toBe(first.fingerprint);
    expect(await definition(warning, 'Presented now').textContent()).toBe(second.fingerprint);
    // Cancel is the safe default (focused); replacing needs the confirmation ticked first.
    const cancel = warning.getByRole('button', { name: 'Cancel', exact: true });
    const replace = warning.getByRole('button', { name: 'Forget old key and trust the new one', exact: true });
    const confirmed = warning.getByRole('checkbox', { name: 'The administrator confirmed this new key to me', exact: true });
    await expect.poll(() => cancel.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await replace.isDisabled()).toBe(true);
    expect(await confirmed.isChecked()).toBe(false);
    expect(await warning.getByRole('button').allTextContents()).toEqual(['Forget old key and trust the new one', 'Cancel']);
    await screenshot(page, '50-hostkey-changed');

    // Nothing was accepted or sent: no login reached the new server, the old key is still the one recorded.
    expect(second.log()).not.toMatch(/\bauth\b/);
    expect(await knownHosts()).toContain(`${hostPort} ${first.fingerprint}`);
    expect(await knownHosts()).not.toContain(second.fingerprint);
    expect(await connectionState(page, 'Disconnected').isVisible()).toBe(true);
    expect(await page.getByRole('tree').count()).toBe(0);

    // Escape is Cancel: the dialog goes, the form is still there and usable, nothing changed.
    await page.keyboard.press('Escape');
    await warning.waitFor({ state: 'detached' });
    await expectFormUsable(page);
    expect(await connectionState(page, 'Disconnected').isVisible()).toBe(true);
    expect(await knownHosts()).toContain(`${hostPort} ${first.fingerprint}`);

    // Asked again on the next attempt (a cancel is not a silent acceptance); Cancel by click this time.
    await connectButton(page).click();
    await warning.waitFor();
    await cancel.click();
    await warning.waitFor({ state: 'detached' });
    expect(await page.getByRole('tree').count()).toBe(0);
    expect(second.log()).not.toMatch(/\bauth\b/);
    expect(await knownHosts()).not.toContain(second.fingerprint);

    // A confirmation ticked and then cancelled does not carry over to the next warning.
    await connectButton(page).click();
    await warning.waitFor();
    await confirmed.check();
    expect(await replace.isEnabled()).toBe(true);
    await cancel.click();
    await warning.waitFor({ state: 'detached' });
    await connectButton(page).click();
    await warning.waitFor();
    expect(await confirmed.isChecked()).toBe(false);
    expect(await replace.isDisabled()).toBe(true);

    // The explicit path: confirm, then forget the old key and trust the new one.
    await confirmed.check();
    expect(await replace.isEnabled()).toBe(true);
    await screenshot(page, '51-hostkey-changed-confirmed');
    await replace.click();
    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    await connectionState(page, 'Connected').waitFor();
    await treeItem(page, 'on-second-server.txt').waitFor();
    expect(await page.getByRole('contentinfo').textContent()).toContain(`Key ${second.fingerprint}`);
    const hosts = await knownHosts();
    expect(hosts).toContain(`${hostPort} ${second.fingerprint}`);
    expect(hosts).not.toContain(first.fingerprint);
    expect(second.log()).toMatch(/auth .*user=alice ok/);
    await disconnect(page);
    await page.close();
  });
});

describe('connection errors', () => {
  it('says ECONN for a port where nothing listens, and the form stays usable', async () => {
    const page = await e2e.openTab();
    // A port that was just a server's: nothing listens there now.
    const gone = await startFerryd();
    const port = gone.port;
    await gone.stop();

    await submitLogin(page, { ...server, port }, alice, alice.password);
    const alert = formAlert(page);
    await alert.waitFor({ timeout: 30_000 });
    const message = (await alert.textContent()) ?? '';
    expect(message).toMatch(/^ECONN: /);
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('The server could not be reached');
    expect(await page.getByRole('dialog').count()).toBe(0);
    await connectionState(page, 'Disconnected').waitFor();
    await expectFormUsable(page);
    await screenshot(page, '52-unreachable');

    // Still usable: the right port connects (the key is known by now: no question).
    await field(page, 'Port').fill(String(server.port));
    await field(page, 'Password').fill(alice.password);
    await connectButton(page).click();
    await connectionState(page, 'Connected').waitFor();
    await disconnect(page);
    expect(await formAlert(page).count()).toBe(0);
    await page.close();
  });

  it('says what is wrong when "No encryption" is ticked for a TLS server, and when it is not for a plain one', async () => {
    const page = await e2e.openTab();
    const plainServer = await startFerryd({ users: [alice], plain: true });
    await putFile(plainServer, 'on-plain-server.txt', 'plain\n');

    // No encryption against the TLS ferryd.
    await moreOptions(page);
    const noTls = connectForm(page).getByRole('checkbox', { name: 'No encryption (trusted loopback only)', exact: true });
    const loginsBefore = okLogins(server);
    await noTls.check();
    await submitLogin(page, server, alice, alice.password);
    const alert = formAlert(page);
    const started = Date.now();
    await alert.waitFor({ timeout: 40_000 });
    // Said at once: a TLS server hanging up on a plain client is not a busy server to retry.
    expect(Date.now() - started).toBeLessThan(5000);
    const plainToTls = (await alert.textContent()) ?? '';
    expect(plainToTls).toMatch(new RegExp(`^EPROTO: 127\\.0\\.0\\.1:${server.port} did not answer like a Ferry server without encryption`));
    expect(plainToTls).toContain('turn off "No encryption"');
    await screenshot(page, '53-plain-against-tls');
    await connectionState(page, 'Disconnected').waitFor();
    await expectFormUsable(page);
    expect(okLogins(server)).toBe(loginsBefore);

    // TLS (the box unticked) against the plain ferryd.
    await noTls.uncheck();
    await submitLogin(page, plainServer, alice, alice.password);
    const overTls = new RegExp(`^EPROTO: 127\\.0\\.0\\.1:${plainServer.port} did not answer like a Ferry server over TLS`);
    await expect.poll(async () => ((await alert.count()) > 0 ? await alert.textContent() : ''), { timeout: 40_000 }).toMatch(overTls);
    const tlsToPlain = (await alert.textContent()) ?? '';
    expect(tlsToPlain).toContain('turn on "No encryption"');
    await screenshot(page, '54-tls-against-plain');
    await connectionState(page, 'Disconnected').waitFor();
    await expectFormUsable(page);
    expect(plainServer.log()).not.toMatch(/\bauth\b/);

    // Ticked again, the plain server takes the login: the form did not get stuck.
    await noTls.check();
    await field(page, 'Password').fill(alice.password);
    await connectButton(page).click();
    await connectionState(page, 'Connected').waitFor();
    await treeItem(page, 'on-plain-server.txt').waitFor();
    expect(await page.getByRole('contentinfo').textContent()).toContain('No encryption');
    await disconnect(page);
    await page.close();
  });
});

describe('saved connections', () => {
  it('saves a profile from the form, connects from it (asking the password), renames and removes it; the engine keeps them across a reload', async () => {
    const page = await e2e.openTab();
    const where = `${alice.name}@${server.host}:${server.port}`;
    await savedList(page).getByText('None yet.', { exact: false }).waitFor();

    // Save from the form, with a name.
    const form = connectForm(page);
    await field(page, 'Host').fill(server.host);
    await field(page, 'Port').fill(String(server.port));
    await field(page, 'User').fill(alice.name);
    await moreOptions(page);
    await field(page, 'Profile name').fill('Work server');
    await form.getByRole('button', { name: 'Save profile', exact: true }).click();
    const profile = savedList(page).getByRole('button', { name: `Work server ${where}`, exact: true });
    await profile.waitFor();
    expect(await profile.getAttribute('aria-pressed')).toBe('true');
    await form.getByRole('button', { name: 'Update profile', exact: true }).waitFor();
    let stored = await savedProfiles();
    expect(stored.map((p) => [p.name, p.host, p.port, p.user])).toEqual([['Work server', server.host, server.port, alice.name]]);
    await screenshot(page, '55-profile-saved');

    // A reload is a new engine session: the profile is still listed (kept by the engine), nothing picked.
    await page.reload();
    await connectForm(page).waitFor();
    await profile.waitFor();
    expect(await profile.getAttribute('aria-pressed')).toBe('false');
    expect(await field(page, 'User').inputValue()).toBe('');

    // Picking it fills the form, without a password (none is kept); the password is asked for.
    await profile.click();
    expect(await profile.getAttribute('aria-pressed')).toBe('true');
    expect(await field(page, 'Host').inputValue()).toBe(server.host);
    expect(await field(page, 'Port').inputValue()).toBe(String(server.port));
    expect(await field(page, 'User').inputValue()).toBe(alice.name);
    expect(await field(page, 'Password').inputValue()).toBe('');
    expect(await field(page, 'Password').getAttribute('placeholder')).toBeNull();
    // Double-click connects from the profile: without a password, the login asks for one.
    await profile.dblclick();
    await formAlert(page).waitFor();
    expect(await formAlert(page).textContent()).toMatch(/^EAUTH: /);
    expect(await connectionState(page, 'Disconnected').isVisible()).toBe(true);
    await screenshot(page, '56-profile-needs-password');

    // With the password (and "Remember login" asked for): connected. Browser mode keeps no login.
    await field(page, 'Password').fill(alice.password);
    await form.getByRole('checkbox', { name: 'Remember login', exact: true }).check();
    await connectButton(page).click();
    await connectionState(page, 'Connected').waitFor();
    await treeItem(page, 'on-second-server.txt').waitFor();
    expect(await page.getByRole('banner').textContent()).toContain(where);
    await page.getByRole('status').filter({ hasText: 'The login was not remembered' }).waitFor();
    // Profiles are listed while connected too, but cannot be picked.
    expect(await profile.isDisabled()).toBe(true);
    await screenshot(page, '57-connected-from-profile');
    stored = await savedProfiles();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.secret).toBeUndefined();
    await disconnect(page);
    expect(await profile.textContent()).not.toContain('remembered');

    // Rename: pick it, change its name, Update profile (the same profile, not a second one).
    await profile.click();
    await moreOptions(page);
    expect(await field(page, 'Profile name').inputValue()).toBe('Work server');
    await field(page, 'Profile name').fill('Backup box');
    await form.getByRole('button', { name: 'Update profile', exact: true }).click();
    const renamed = savedList(page).getByRole('button', { name: `Backup box ${where}`, exact: true });
    await renamed.waitFor();
    await profile.waitFor({ state: 'detached' });
    expect(await savedList(page).getByRole('listitem').count()).toBe(1);
    stored = await savedProfiles();
    expect(stored.map((p) => p.name)).toEqual(['Backup box']);

    await page.reload();
    await renamed.waitFor();
    expect(await savedList(page).getByRole('listitem').count()).toBe(1);

    // Remove it: gone from the list, from the engine's file, and after a reload.
    await savedList(page).getByRole('button', { name: 'Remove profile Backup box', exact: true }).click();
    await renamed.waitFor({ state: 'detached' });
    await savedList(page).getByText('None yet.', { exact: false }).waitFor();
    expect(await savedProfiles()).toEqual([]);
    await page.reload();
    await connectForm(page).waitFor();
    await savedList(page).getByText('None yet.', { exact: false }).waitFor();
    await page.close();
  });
  it('keeps "No encryption" in a saved profile (named user@host when no name is given)', async () => {
    const page = await e2e.openTab();
    const plainServer = await startFerryd({ users: [alice], plain: true });
    await putFile(plainServer, 'plain-profile.txt', 'plain\n');
    const form = connectForm(page);
    await field(page, 'Host').fill(plainServer.host);
    await field(page, 'Port').fill(String(plainServer.port));
    await field(page, 'User').fill(alice.name);
    await moreOptions(page);
    const noTls = form.getByRole('checkbox', { name: 'No encryption (trusted loopback only)', exact: true });
    await noTls.check();
    await form.getByRole('button', { name: 'Save profile', exact: true }).click();
    const profile = savedList(page).getByRole('button', { name: `alice@127.0.0.1 alice@127.0.0.1:${plainServer.port}`, exact: true });
    await profile.waitFor();
    expect((await savedProfiles()).map((p) => [p.name, p.port, (p as { plain?: boolean }).plain])).toEqual([['alice@127.0.0.1', plainServer.port, true]]);

    await page.reload();
    await profile.click();
    await moreOptions(page);
    expect(await noTls.isChecked()).toBe(true);
    await field(page, 'Password').fill(alice.password);
    await connectButton(page).click();
    await connectionState(page, 'Connected').waitFor();
    await treeItem(page, 'plain-profile.txt').waitFor();
    expect(await page.getByRole('contentinfo').textContent()).toContain('No encryption');
    await disconnect(page);
    await savedList(page).getByRole('button', { name: 'Remove profile alice@127.0.0.1', exact: true }).click();
    await profile.waitFor({ state: 'detached' });
    expect(await savedProfiles()).toEqual([]);
    await page.close();
  });
});
