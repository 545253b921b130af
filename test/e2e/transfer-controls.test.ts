/**
 * The transfers pane's controls in a real Chromium: pause, resume, cancel and retry on one
 * row, and the pane-wide Pause all, Resume all, Cancel all and Clear finished.
 *
 * Transfers are made slow on purpose, not by hoping a loopback is slow: the web host
 * reaches ferryd through a throttling TCP proxy (test/helpers/proxy.ts) at 1 MiB/s, and
 * files are 12–16 MiB, so a transfer is reliably still running when the test acts on it
 * (the throttle is lifted afterwards so the rest finishes at once). Each test that throttles
 * logs in again through a new proxy: TCP connections that once ran at full speed have
 * grown kernel buffers that swallow a whole file in an instant; fresh ones hold ~5 MiB.
 *
 * States are read from the rows' progress bars (aria-valuenow, and aria-valuetext
 * "42%, Paused") and badges; outcomes are checked on the server's disk: the file's SHA-256
 * in the user's home, and the upload partial ferryd keeps while a transfer is paused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, tempDir, type TestUser } from '../helpers/harness.js';
import { exists, randomFile, sha256, sha256File } from '../helpers/files.js';
import type { Proxy } from '../helpers/proxy.js';
import {
  checkAfterEach,
  dropFiles,
  logInThroughProxy,
  makeDataTransfer,
  patternBytes,
  rowButton,
  screenshot,
  setupE2E,
  transferRow,
  transferStatus,
  transfersButton,
  treeItem,
  waitTransferDone,
  waitTransferState,
  type E2E,
  type TransferStatus,
} from './e2e.js';

const gus: TestUser = { name: 'gus', password: 'gus pass phrase' };
const MiB = 1024 * 1024;
/** The throttle while a test acts on running transfers (client → server, all connections together). */
const SLOW = 1 * MiB;

let e2e: E2E;
let page: Page;
let proxy: Proxy | null = null;
let local: string;
let home: string;

beforeAll(async () => {
  e2e = await setupE2E([gus]);
  home = e2e.home(gus);
  await mkdir(path.join(home, 'inbox'), { recursive: true });
  local = await tempDir('ferry-e2e-local-');
  page = await e2e.openTab();
  await connectFresh();
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

/**
 * Log in (again) through a new proxy, so the transfers that follow use new connections (and
 * start from an empty transfers pane). The web host's engine reaches ferryd only through it.
 */
async function connectFresh(): Promise<void> {
  proxy = await logInThroughProxy(page, e2e.server, gus, proxy);
}

/** The proxy of the current login. */
function net(): Proxy {
  if (!proxy) throw new Error('not connected');
  return proxy;
}

const list = () => page.getByRole('list', { name: 'Transfers', exact: true });
const pickFiles = (...files: string[]) => page.getByTestId('upload-files-input').setInputFiles(files);

/**
 * Bytes of the upload partials ferryd holds for these files of the user (virtual paths, e.g.
 * "/one.bin"): ROOT/state/partials/USER/<SHA-256 of the path>.part, see server/local-storage.ts.
 */
async function partialBytes(...vpaths: string[]): Promise<number> {
  let total = 0;
  for (const vpath of vpaths) {
    const file = path.join(e2e.server.root, 'state', 'partials', gus.name, `${sha256(vpath)}.part`);
    total += (await stat(file).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Random local files of `size` bytes; their SHA-256 by name. */
async function localFiles(size: number, ...names: string[]): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const name of names) sums[name] = await randomFile(path.join(local, name), size);
  return sums;
}

const state = async (name: string): Promise<string | null> => (await transferStatus(page, name))?.state ?? null;

/**
 * What the server and the UI show of paused transfers, once the bytes that were already on
 * the wire when they paused have arrived (the proxy no longer holds any back, and two
 * looks a moment apart agree).
 */
async function settledSnapshot(names: readonly string[]): Promise<string> {
  const vpaths = names.map((n) => `/${n}`);
  const snap = async (): Promise<string> => {
    const rows: Array<TransferStatus | null> = [];
    for (const n of names) rows.push(await transferStatus(page, n));
    return JSON.stringify({ up: net().upstreamBytes, partials: await partialBytes(...vpaths), rows });
  };
  let last = '';
  await expect
    .poll(
      async () => {
        const before = await snap();
        await new Promise((r) => setTimeout(r, 250));
        last = await snap();
        return before === last;
      },
      { timeout: 20_000, interval: 50 },
    )
    .toBe(true);
  return last;
}

/** Nothing moves for `ms`: no byte through the proxy, no growth of the partials, the rows unchanged. */
async function expectSteady(names: readonly string[], settled: string, ms = 1500): Promise<void> {
  const vpaths = names.map((n) => `/${n}`);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 150));
    const rows: Array<TransferStatus | null> = [];
    for (const n of names) rows.push(await transferStatus(page, n));
    expect(JSON.stringify({ up: net().upstreamBytes, partials: await partialBytes(...vpaths), rows })).toBe(settled);
  }
}

describe('transfer controls', () => {
  it('pauses a running upload, which stays paused, and resumes it from the server’s partial to a verified file', async () => {
    const size = 16 * MiB;
    const sums = await localFiles(size, 'one.bin');
    net().rate = SLOW;
    await pickFiles(path.join(local, 'one.bin'));
    await waitTransferState(page, 'one.bin', 'Transferring');
    // Pause once the server really holds part of the file (so a resume has something to continue).
    await expect.poll(() => partialBytes('/one.bin'), { timeout: 20_000 }).toBeGreaterThanOrEqual(1 * MiB);
    const row = transferRow(page, 'one.bin');
    expect(await row.textContent()).toMatch(/MiB of 16\.0 MiB/);
    expect(await rowButton(page, 'Resume', 'one.bin').count()).toBe(0);
    await screenshot(page, '20-transfer-running');

    await rowButton(page, 'Pause', 'one.bin').click();
    await waitTransferState(page, 'one.bin', 'Paused');
    // A paused row offers Resume and Cancel, not Pause or Retry.
    await rowButton(page, 'Resume', 'one.bin').waitFor();
    expect(await rowButton(page, 'Cancel', 'one.bin').isVisible()).toBe(true);
    expect(await rowButton(page, 'Pause', 'one.bin').count()).toBe(0);
    expect(await rowButton(page, 'Retry', 'one.bin').count()).toBe(0);
    expect(await transfersButton(page, 'Resume all').isEnabled()).toBe(true);
    expect(await transfersButton(page, 'Pause all').isDisabled()).toBe(true);

    // Stays paused: once what was in flight has landed, nothing more is sent and nothing grows.
    net().rate = null;
    const settled = await settledSnapshot(['one.bin']);
    const partial = await partialBytes('/one.bin');
    expect(partial).toBeGreaterThanOrEqual(1 * MiB);
    expect(partial).toBeLessThan(size);
    await expectSteady(['one.bin'], settled);
    expect(await state('one.bin')).toBe('Paused');
    expect(await exists(path.join(home, 'one.bin'))).toBe(false);
    await screenshot(page, '21-transfer-paused');

    // Resume: it continues from the server's partial (less than the file crosses the wire).
    net().reset();
    await rowButton(page, 'Resume', 'one.bin').click();
    await waitTransferDone(page, 'one.bin');
    expect(await row.textContent()).toContain('XXH3-128 checked');
    expect(net().upstreamBytes).toBeLessThan(size - partial / 2);
    expect(await sha256File(path.join(home, 'one.bin'))).toBe(sums['one.bin']);
    expect(await partialBytes('/one.bin')).toBe(0);
  });

  it('cancels a running upload: the row says Cancelled, offers Retry, and nothing arrives on the server', async () => {
    await connectFresh();
    await localFiles(12 * MiB, 'two.bin');
    net().rate = SLOW;
    await pickFiles(path.join(local, 'two.bin'));
    await waitTransferState(page, 'two.bin', 'Transferring');
    await rowButton(page, 'Cancel', 'two.bin').click();
    await waitTransferState(page, 'two.bin', 'Cancelled');
    net().rate = null;
    await rowButton(page, 'Retry', 'two.bin').waitFor();
    for (const action of ['Pause', 'Resume', 'Cancel'] as const) expect(await rowButton(page, action, 'two.bin').count()).toBe(0);
    await screenshot(page, '22-transfer-cancelled');
    await settledSnapshot(['two.bin']);
    expect(await state('two.bin')).toBe('Cancelled');
    expect(await exists(path.join(home, 'two.bin'))).toBe(false);
  });

  // In browser mode the upload reads a spooled copy of the dropped file: the copy must
  // outlive a cancel for Retry to work (it once did not: "ENOENT: No such file or folder.").
  it('retries a cancelled single-file upload to a verified file', async () => {
    await connectFresh();
    const sums = await localFiles(12 * MiB, 'alone.bin');
    net().rate = SLOW;
    await pickFiles(path.join(local, 'alone.bin'));
    await waitTransferState(page, 'alone.bin', 'Transferring');
    await rowButton(page, 'Cancel', 'alone.bin').click();
    await waitTransferState(page, 'alone.bin', 'Cancelled');
    net().rate = null;
    await rowButton(page, 'Retry', 'alone.bin').click();
    await expect.poll(() => state('alone.bin'), { timeout: 20_000 }).toMatch(/^(Done|Failed)$/);
    expect(await transferRow(page, 'alone.bin').textContent()).not.toContain('ENOENT');
    await waitTransferDone(page, 'alone.bin');
    expect(await sha256File(path.join(home, 'alone.bin'))).toBe(sums['alone.bin']);
  });

  it('retries a cancelled upload (the rest of its drop still pending) to a verified file', async () => {
    await connectFresh();
    // Two files in one pick: one is cancelled while the other is still on its way.
    const sums = await localFiles(12 * MiB, 'keep.bin', 'again.bin');
    net().rate = SLOW;
    await pickFiles(path.join(local, 'keep.bin'), path.join(local, 'again.bin'));
    await waitTransferState(page, 'again.bin', 'Transferring');
    await waitTransferState(page, 'keep.bin', 'Transferring');
    await rowButton(page, 'Pause', 'keep.bin').click();
    await rowButton(page, 'Cancel', 'again.bin').click();
    await waitTransferState(page, 'keep.bin', 'Paused');
    await waitTransferState(page, 'again.bin', 'Cancelled');
    net().rate = null;

    await rowButton(page, 'Retry', 'again.bin').click();
    await waitTransferDone(page, 'again.bin');
    expect(await sha256File(path.join(home, 'again.bin'))).toBe(sums['again.bin']);
    await rowButton(page, 'Resume', 'keep.bin').click();
    await waitTransferDone(page, 'keep.bin');
    expect(await sha256File(path.join(home, 'keep.bin'))).toBe(sums['keep.bin']);
  });

  it('shows a failed upload with its error and retries it to a verified file', async () => {
    await connectFresh();
    const size = 12 * MiB;
    // Dropped on the "inbox" folder row: it goes to /inbox/three.bin.
    net().rate = SLOW;
    await dropFiles(treeItem(page, 'inbox'), await makeDataTransfer(page, { 'three.bin': size }));
    await waitTransferState(page, 'three.bin', 'Transferring');
    await rowButton(page, 'Pause', 'three.bin').click();
    await waitTransferState(page, 'three.bin', 'Paused');
    net().rate = null;

    // Meanwhile, on the server, its folder becomes a file: the server refuses the upload.
    await rm(path.join(home, 'inbox'), { recursive: true });
    await writeFile(path.join(home, 'inbox'), 'not a folder\n');
    await rowButton(page, 'Resume', 'three.bin').click();
    await waitTransferState(page, 'three.bin', 'Failed');
    const row = transferRow(page, 'three.bin');
    await row.getByText(/^ENOTDIR: /).waitFor();
    await page.getByRole('region', { name: 'Transfers' }).getByText(/^0 of 1 done · 1 failed/).waitFor();
    await rowButton(page, 'Retry', 'three.bin').waitFor();
    expect(await rowButton(page, 'Resume', 'three.bin').count()).toBe(0);
    await screenshot(page, '23-transfer-failed');

    // The folder is back: Retry finishes it.
    await rm(path.join(home, 'inbox'));
    await mkdir(path.join(home, 'inbox'));
    await rowButton(page, 'Retry', 'three.bin').click();
    await waitTransferDone(page, 'three.bin');
    expect(await row.getByText(/^ENOTDIR: /).count()).toBe(0);
    expect(sha256(await readFile(path.join(home, 'inbox', 'three.bin')))).toBe(sha256(patternBytes(size)));
  });

  it('cancels a running download and retries it to a verified local copy', async () => {
    await connectFresh();
    const sum = await randomFile(path.join(home, 'down.bin'), 12 * MiB);
    await page.getByRole('toolbar', { name: 'File actions' }).getByRole('button', { name: 'Refresh', exact: true }).click();
    await treeItem(page, 'down.bin').click({ button: 'right' });
    net().downRate = SLOW;
    await page.getByRole('menu', { name: 'Actions for down.bin', exact: true }).getByRole('menuitem', { name: 'Download', exact: true }).click();
    await waitTransferState(page, 'down.bin', 'Transferring');
    await rowButton(page, 'Cancel', 'down.bin').click();
    await waitTransferState(page, 'down.bin', 'Cancelled');
    net().downRate = null;
    expect(await exists(path.join(e2e.downloadDir, 'down.bin'))).toBe(false);
    await rowButton(page, 'Retry', 'down.bin').click();
    await waitTransferDone(page, 'down.bin');
    expect(await sha256File(path.join(e2e.downloadDir, 'down.bin'))).toBe(sum);
  });

  it('Pause all pauses every running upload, which stay paused; Resume all finishes them verified', async () => {
    await connectFresh();
    await page.getByText('No transfers yet.', { exact: false }).waitFor();
    for (const name of ['Pause all', 'Resume all', 'Cancel all', 'Clear finished']) expect(await transfersButton(page, name).isDisabled()).toBe(true);

    const names = ['a.bin', 'b.bin', 'c.bin'];
    // Big enough that no file fits in the socket and proxy buffers: a file whose bytes have
    // all been handed over is verifying, and Pause lets that finish (rightly).
    const sums = await localFiles(40 * MiB, ...names);
    net().rate = SLOW;
    await pickFiles(...names.map((n) => path.join(local, n)));
    for (const n of names) await waitTransferState(page, n, 'Transferring');

    await transfersButton(page, 'Pause all').click();
    for (const n of names) await waitTransferState(page, n, 'Paused');
    expect(await transfersButton(page, 'Pause all').isDisabled()).toBe(true);
    expect(await transfersButton(page, 'Resume all').isEnabled()).toBe(true);
    net().rate = null;
    await expectSteady(names, await settledSnapshot(names), 1000);
    for (const n of names) expect(await exists(path.join(home, n))).toBe(false);
    await screenshot(page, '24-transfers-paused-all');

    await transfersButton(page, 'Resume all').click();
    for (const n of names) await waitTransferDone(page, n);
    for (const n of names) expect(await sha256File(path.join(home, n))).toBe(sums[n]);
    await page.getByRole('region', { name: 'Transfers' }).getByText('3 of 3 done', { exact: true }).waitFor();
    expect(await partialBytes(...names.map((n) => `/${n}`))).toBe(0);
  });

  it('Clear finished takes finished rows only; Cancel all cancels every running one', async () => {
    await connectFresh();
    await writeFile(path.join(local, 'small.txt'), 'small and quick\n');
    await pickFiles(path.join(local, 'small.txt'));
    await waitTransferDone(page, 'small.txt');

    const names = ['d.bin', 'e.bin'];
    await localFiles(12 * MiB, ...names);
    net().rate = SLOW;
    await pickFiles(...names.map((n) => path.join(local, n)));
    for (const n of names) await waitTransferState(page, n, 'Transferring');
    // The done row goes; the running ones stay, still running.
    await transfersButton(page, 'Clear finished').click();
    await expect.poll(() => list().getByRole('listitem').count(), { timeout: 20_000 }).toBe(2);
    expect(await transferRow(page, 'small.txt').count()).toBe(0);
    for (const n of names) expect(await state(n)).toBe('Transferring');

    await transfersButton(page, 'Cancel all').click();
    for (const n of names) await waitTransferState(page, n, 'Cancelled');
    net().rate = null;
    expect(await transfersButton(page, 'Cancel all').isDisabled()).toBe(true);
    expect(await transfersButton(page, 'Pause all').isDisabled()).toBe(true);
    await screenshot(page, '25-transfers-cancelled-all');
    await settledSnapshot(names);
    for (const n of names) expect(await exists(path.join(home, n))).toBe(false);

    // Cancelled rows are finished too: the pane is empty again; what was done stays on the server.
    await transfersButton(page, 'Clear finished').click();
    await list().waitFor({ state: 'detached' });
    await page.getByText('No transfers yet.', { exact: false }).waitFor();
    expect(await transfersButton(page, 'Clear finished').isDisabled()).toBe(true);
    expect(await readFile(path.join(home, 'small.txt'), 'utf8')).toBe('small and quick\n');
  });
});
