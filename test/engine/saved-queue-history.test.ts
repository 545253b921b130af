/**
 * A queue that survives a restart, and the transfer history, through the real backend and
 * a real ferryd: transfers left paused and failed are saved when the backend is disposed (a
 * quit), offered to a NEW backend on the same config folder once it connects to the same
 * server, and restored from their partials (the bytes that cross the wire after the restore
 * are fewer than the files' sizes, and the files are intact); discard forgets them. Files
 * that finish are recorded with their SHA-256, time and speed, searchable and exported as
 * CSV and JSON. The history file's own rules (a torn last line, the bound, several writers)
 * are checked on TransferHistory directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFile, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { callBackend, createBackend, type Backend, type BackendOptions } from '../../engine/app/backend.js';
import { HISTORY_FILE, TransferHistory } from '../../engine/history/transfer-history.js';
import { historyCsv } from '../../engine/history/history-export.js';
import type { CallArgs, CallName, CallResults, ConnectResult } from '../../shared/common/contract.js';
import type { SavedQueueOffer, TransferLogEntry } from '../../shared/common/transfer-log.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { cleanupAll, onCleanup, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { randomFile, sha256, sha256File, waitFor } from '../helpers/files.js';
import { Proxy } from '../helpers/proxy.js';
import { parseCsv } from '../helpers/csv.js';
import { hashLocalFile } from '../../shared/node/checksums.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
const MiB = 1024 * 1024;
const BIG = 6 * MiB;

let server: Ferryd;
let home: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice] });
  home = path.join(server.root, 'homes', alice.name);
});
afterAll(cleanupAll);

/** One backend (one window): typed calls, and the latest view of each transfer. */
class App {
  readonly views = new Map<string, TransferView>();
  private constructor(readonly backend: Backend) {
    backend.on((name, payload) => {
      if (name !== 'transfers:event') return;
      const ev = payload as CallResults['transfers:list'] & { kind: string; ids?: string[]; transfers?: TransferView[] };
      if (ev.kind === 'removed') for (const id of ev.ids ?? []) this.views.delete(id);
      else for (const t of ev.transfers ?? []) this.views.set(t.id, t);
    });
  }

  static open(options: BackendOptions): App {
    const backend = createBackend({ reconnectDelaysMs: [100], fsChangedDelayMs: 50, progressIntervalMs: 50, ...options });
    onCleanup(() => backend.dispose());
    return new App(backend);
  }

  async ok<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResults[N]> {
    const result = await callBackend(this.backend, name, ...args);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.code} ${result.error.message}`);
    return result.value;
  }

  async connect(port: number): Promise<void> {
    const input = { host: '127.0.0.1', port, user: alice.name, password: alice.password };
    let result: ConnectResult = await this.ok('session:connect', input);
    if (result.kind === 'hostkey-new') {
      await this.ok('hosts:trust', result.hostPort, result.fingerprint);
      result = await this.ok('session:connect', input);
    }
    expect(result.kind).toBe('connected');
  }

  view(name: string): TransferView | undefined {
    return [...this.views.values()].find((v) => v.name === name);
  }

  waitState(name: string, states: readonly string[]): Promise<TransferView> {
    return waitFor(() => {
      const v = this.view(name);
      return v && states.includes(v.state) ? v : undefined;
    }, 30_000, `${name} to be ${states.join(' or ')}`);
  }

  waitBytes(name: string, atLeast: number): Promise<TransferView> {
    return waitFor(() => {
      const v = this.view(name);
      return v && v.bytes >= atLeast ? v : undefined;
    }, 30_000, `${name} to pass ${atLeast} bytes`);
  }
}

describe('a queue that survives a restart', () => {
  let configDir: string;
  let downloadDir: string;
  let local: string;
  let proxy: Proxy;
  const sums: Record<string, string> = {};

  beforeAll(async () => {
    [configDir, downloadDir, local] = await Promise.all([tempDir('ferry-config-'), tempDir('ferry-downloads-'), tempDir('ferry-local-')]);
    proxy = await Proxy.start(server.port);
    sums['big.bin'] = await randomFile(path.join(home, 'big.bin'), BIG);
    sums['up.bin'] = await randomFile(path.join(local, 'up.bin'), BIG);
    sums['doomed.bin'] = await randomFile(path.join(home, 'doomed.bin'), 3000);
    sums['done.txt'] = await randomFile(path.join(local, 'done.txt'), 5000);
  });

  const downloadPartial = () => path.join(downloadDir, '.big.bin.ferry-part');
  const uploadPartial = () => path.join(server.root, 'state', 'partials', alice.name, `${sha256('/up.bin')}.part`);
  const waitSize = (file: string, atLeast: number) =>
    waitFor(async () => ((await stat(file).catch(() => ({ size: 0 }))).size >= atLeast ? true : undefined), 30_000, `${file} to reach ${atLeast} bytes`);

  it('saves paused and failed transfers at a quit, offers them to the next start, and resumes them from their partials', async () => {
    const first = App.open({ configDir, downloadDir });
    await first.ok('settings:set', { concurrency: 1 });
    await first.connect(proxy.port);
    // A finished transfer: recorded in the history, never saved in the queue.
    await first.ok('transfers:uploadPaths', [path.join(local, 'done.txt')], '/');
    await first.waitState('done.txt', ['done']);

    proxy.downRate = 512 * 1024;
    proxy.rate = 512 * 1024;
    await first.ok('transfers:download', ['/big.bin']);
    // Paused once the partials really hold part of each file (not only bytes in flight).
    await waitSize(downloadPartial(), MiB);
    const big = first.view('big.bin')!;
    await first.ok('transfers:pause', big.id);
    await first.waitState('big.bin', ['paused']);

    await first.ok('transfers:uploadPaths', [path.join(local, 'up.bin')], '/');
    await waitSize(uploadPartial(), MiB);
    const up = first.view('up.bin')!;
    // Queued behind the upload (one at a time), and gone from the server before its turn: it fails.
    await first.ok('transfers:download', ['/doomed.bin']);
    await rm(path.join(home, 'doomed.bin'));
    await first.ok('transfers:pause', up.id);
    await first.waitState('up.bin', ['paused']);
    expect((await first.waitState('doomed.bin', ['failed'])).error?.code).toBe('ENOENT');

    // Quit: the backend ends (it would cancel its queue, which must be saved first).
    await first.backend.dispose();
    const file = JSON.parse(await readFile(path.join(configDir, 'saved-queue.json'), 'utf8')) as { connections: Record<string, unknown> };
    expect(Object.keys(file.connections)).toEqual([`ferry:alice@127.0.0.1:${proxy.port}`]);

    // A new start on the same config folder; nothing is offered before it connects.
    const second = App.open({ configDir, downloadDir });
    expect(await second.ok('transfers:saved')).toBeNull();
    await second.connect(proxy.port);
    const offer = (await second.ok('transfers:saved')) as SavedQueueOffer;
    expect(offer.leftOut).toBe(0);
    const byName = Object.fromEntries(offer.transfers.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(['big.bin', 'doomed.bin', 'up.bin']);
    expect(byName['big.bin']).toMatchObject({ direction: 'download', state: 'paused', size: BIG, remotePath: '/big.bin', localPath: path.join(downloadDir, 'big.bin') });
    expect(byName['up.bin']).toMatchObject({ direction: 'upload', state: 'paused', size: BIG, remotePath: '/up.bin', localPath: path.join(local, 'up.bin') });
    expect(byName['doomed.bin']).toMatchObject({ state: 'failed', error: { code: 'ENOENT' } });
    expect(byName['big.bin']!.bytes).toBeGreaterThanOrEqual(MiB); // the partial held at least this much when paused

    // Resume: the partials are continued, so less than the files crosses the wire.
    sums['doomed.bin'] = await randomFile(path.join(home, 'doomed.bin'), 3000);
    const downloaded = (await stat(downloadPartial())).size;
    const uploaded = (await stat(uploadPartial())).size;
    expect(downloaded).toBeGreaterThanOrEqual(MiB);
    expect(uploaded).toBeGreaterThanOrEqual(MiB);
    proxy.release();
    // Bytes of the first run still in the proxy's buffers arrive first: count only after them.
    await settled(proxy);
    proxy.reset();
    const restored = await second.ok('transfers:restore');
    expect(restored.map((v) => v.name).sort()).toEqual(['big.bin', 'doomed.bin', 'up.bin']);
    for (const name of ['big.bin', 'up.bin', 'doomed.bin']) expect((await second.waitState(name, ['done', 'failed'])).state).toBe('done');
    // What is left of each, plus the protocol's own bytes (and the small file).
    expect(proxy.downstreamBytes).toBeLessThan(BIG - downloaded + 64 * 1024);
    expect(proxy.upstreamBytes).toBeLessThan(BIG - uploaded + 64 * 1024);
    expect(await sha256File(path.join(downloadDir, 'big.bin'))).toBe(sums['big.bin']);
    expect(await sha256File(path.join(home, 'up.bin'))).toBe(sums['up.bin']);
    expect(await sha256File(path.join(downloadDir, 'doomed.bin'))).toBe(sums['doomed.bin']);
    // Taken: not offered again, and nothing unfinished is left to save.
    expect(await second.ok('transfers:saved')).toBeNull();

    // The history: every file that ended done, newest first, with its hash, time and speed.
    const history = await second.ok('transfers:history', {});
    const names = history.map((e) => path.posix.basename(e.remotePath));
    expect(names.sort()).toEqual(['big.bin', 'done.txt', 'doomed.bin', 'up.bin']);
    const bigEntry = history.find((e) => e.remotePath === '/big.bin')!;
    expect(bigEntry).toMatchObject({
      direction: 'download',
      protocol: 'ferry',
      server: `alice@127.0.0.1:${proxy.port}`,
      localPath: path.join(downloadDir, 'big.bin'),
      size: BIG,
      // The default check: its XXH3-128, no SHA-256.
      check: 'xxh128',
      sha256: null,
      xxh128: (await hashLocalFile(path.join(home, 'big.bin'), 'xxh128')).hex,
    });
    // Its time counts the whole of it: the throttled part before the quit too (at least 2 s at 512 KiB/s).
    expect(bigEntry.durationMs).toBeGreaterThanOrEqual(1500);
    expect(bigEntry.speed).toBeGreaterThan(0);
    expect(history.find((e) => e.remotePath === '/done.txt')).toMatchObject({ direction: 'upload', xxh128: (await hashLocalFile(path.join(local, 'done.txt'), 'xxh128')).hex });
    for (let i = 1; i < history.length; i++) expect(history[i - 1]!.finishedAt).toBeGreaterThanOrEqual(history[i]!.finishedAt);

    // Search (paths and server) and a limit.
    expect((await second.ok('transfers:history', { search: 'BIG.bin' })).map((e) => e.remotePath)).toEqual(['/big.bin']);
    expect(await second.ok('transfers:history', { search: 'no such thing' })).toEqual([]);
    expect(await second.ok('transfers:history', { search: `127.0.0.1:${proxy.port}`, limit: 2 })).toHaveLength(2);

    // Exports: CSV parsed back, JSON.
    const csv = parseCsv(await second.ok('transfers:exportHistory', 'csv', 'up.bin'));
    expect(csv[0]).toEqual(['finished', 'direction', 'protocol', 'server', 'local_path', 'remote_path', 'size', 'duration_ms', 'speed_bytes_per_s', 'check', 'sha256', 'xxh128']);
    expect(csv).toHaveLength(2);
    expect(csv[1]!.slice(1, 7)).toEqual(['upload', 'ferry', `alice@127.0.0.1:${proxy.port}`, path.join(local, 'up.bin'), '/up.bin', String(BIG)]);
    expect(csv[1]!.slice(9)).toEqual(['xxh128', '', (await hashLocalFile(path.join(local, 'up.bin'), 'xxh128')).hex]);
    const json = JSON.parse(await second.ok('transfers:exportHistory', 'json')) as Array<TransferLogEntry & { finished: string }>;
    expect(json).toHaveLength(4);
    expect(json.find((e) => e.remotePath === '/doomed.bin')).toMatchObject({ xxh128: (await hashLocalFile(path.join(home, 'doomed.bin'), 'xxh128')).hex, check: 'xxh128' });
    expect(() => new Date(json[0]!.finished).toISOString()).not.toThrow();

    expect((await callBackend(second.backend, 'transfers:exportHistory', 'xml' as 'csv')).ok).toBe(false);
  });

  it('keeps no cancelled transfer, and discard forgets the saved ones', async () => {
    await randomFile(path.join(home, 'later.bin'), BIG);
    const app = App.open({ configDir, downloadDir });
    await app.connect(proxy.port);
    proxy.downRate = 256 * 1024;
    await randomFile(path.join(home, 'dropped.bin'), BIG);
    await app.ok('transfers:download', ['/later.bin', '/dropped.bin']);
    // One at a time (the settings of the test before): dropped.bin waits behind later.bin.
    const later = await app.waitBytes('later.bin', 1);
    // A cancelled transfer is not saved.
    await app.ok('transfers:cancel', app.view('dropped.bin')!.id);
    await app.waitState('dropped.bin', ['cancelled']);
    await app.ok('transfers:pause', later.id);
    await app.waitState('later.bin', ['paused']);
    // A disconnect keeps it too (the same connection offers it on the next connect).
    await app.ok('session:disconnect');
    proxy.release();
    await app.connect(proxy.port);
    expect((await app.ok('transfers:saved'))?.transfers.map((t) => t.name)).toEqual(['later.bin']);
    await app.ok('transfers:discardSaved');
    expect(await app.ok('transfers:saved')).toBeNull();
    await app.backend.dispose();
    const next = App.open({ configDir, downloadDir });
    await next.connect(proxy.port);
    expect(await next.ok('transfers:saved')).toBeNull();
    // Forgotten in the file too, not only hidden.
    expect(await readFile(path.join(configDir, 'saved-queue.json'), 'utf8')).not.toContain('later.bin');
  });
});

describe('the history file', () => {
  const entry = (i: number, extra: Partial<TransferLogEntry> = {}): TransferLogEntry => ({
    finishedAt: 1_700_000_000_000 + i,
    direction: i % 2 === 0 ? 'upload' : 'download',
    protocol: 'ferry',
    server: 'alice@127.0.0.1:7070',
    localPath: `/home/alice/file-${i}.bin`,
    remotePath: `/file-${i}.bin`,
    size: 1000 + i,
    durationMs: 10,
    speed: 100_000,
    check: 'sha256',
    sha256: 'ab'.repeat(32),
    ...extra,
  });

  it('skips a line cut short by a crash, and the next append starts a line of its own', async () => {
    const dir = await tempDir('ferry-history-');
    const history = new TransferHistory(dir);
    await history.append([entry(1), entry(2)]);
    await appendFile(path.join(dir, HISTORY_FILE), JSON.stringify(entry(3)).slice(0, 40));
    expect((await history.list()).map((e) => e.remotePath)).toEqual(['/file-2.bin', '/file-1.bin']);
    await history.append([entry(4)]);
    expect((await history.list()).map((e) => e.remotePath)).toEqual(['/file-4.bin', '/file-2.bin', '/file-1.bin']);
  });

  it('keeps its bound: the newest entries, compacted when the file grows', async () => {
    const dir = await tempDir('ferry-history-');
    const history = new TransferHistory(dir, { maxEntries: 50, compactAtBytes: 20_000 });
    for (let i = 0; i < 300; i += 10) await history.append(Array.from({ length: 10 }, (_, j) => entry(i + j)));
    const file = path.join(dir, HISTORY_FILE);
    expect((await stat(file)).size).toBeLessThanOrEqual(20_000 + 10 * 400);
    const all = await history.list({ limit: 10_000 });
    expect(all).toHaveLength(50);
    expect(all[0]!.remotePath).toBe('/file-299.bin');
    expect(all.at(-1)!.remotePath).toBe('/file-250.bin');
    // Private to the user, like the other stores of the config folder.
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('takes appends from several writers at once without losing or tearing a line', async () => {
    const dir = await tempDir('ferry-history-');
    // Separate instances share only the file and its lock, as separate processes do.
    const writers = Array.from({ length: 4 }, () => new TransferHistory(dir));
    await Promise.all(writers.map((w, k) => Promise.all(Array.from({ length: 40 }, (_, i) => w.append([entry(k * 1000 + i)])))));
    const text = await readFile(path.join(dir, HISTORY_FILE), 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(160);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const kept = await new TransferHistory(dir).list({ limit: 10_000 });
    expect(new Set(kept.map((e) => e.remotePath)).size).toBe(160);
    // And while one of them compacts, nothing is torn and the bound holds.
    const small = Array.from({ length: 4 }, () => new TransferHistory(dir, { maxEntries: 100, compactAtBytes: 30_000 }));
    await Promise.all(small.map((w, k) => Promise.all(Array.from({ length: 30 }, (_, i) => w.append([entry(k * 1000 + 100 + i)])))));
    const after = (await readFile(path.join(dir, HISTORY_FILE), 'utf8')).trimEnd().split('\n');
    for (const line of after) expect(() => JSON.parse(line)).not.toThrow();
    const bounded = await small[0]!.list({ limit: 10_000 });
    expect(bounded.length).toBeGreaterThanOrEqual(30);
    expect(bounded.length).toBeLessThanOrEqual(100);
  });

  it('writes CSV by RFC 4180: quotes, commas and line ends in a name survive', async () => {
    const odd = entry(7, { localPath: '/tmp/a "quoted", name\r\nwith a line end.txt' });
    const rows = parseCsv(historyCsv([odd]));
    expect(rows[1]![4]).toBe(odd.localPath);
    expect(rows[1]).toHaveLength(12);
    expect(historyCsv([odd]).endsWith('\r\n')).toBe(true);
  });
});

/** Wait until nothing crosses the proxy for half a second. */
async function settled(proxy: Proxy): Promise<void> {
  let last = -1;
  for (;;) {
    const now = proxy.upstreamBytes + proxy.downstreamBytes;
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 500));
  }
}
