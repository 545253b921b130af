/**
 * One big file (1 GiB by default) each way: Ferry through the `ferry` CLI (what users
 * see, process start and login included), the ceilings (raw TCP and TLS pipes between
 * two Node processes, SHA-256 in Node), and the peers scp and sftp per cipher.
 * Every result is checked (size every run, SHA-256 on the first run, outside the timing).
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { createInterface } from 'node:readline';
import { emptyDir, type Bench, type Options, type RowSpec, type Task } from '../core.js';
import { FERRY, REPO, WATCHDOG, type BenchServer } from '../ferryd.js';
import { MB, MiB, PeakWatcher, ServerCpu, dirBytes, fmt, now, runOk, sha256File } from '../measure.js';

export function sizeLabel(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

/** The cipher slots measured for scp and sftp (the default one is whatever ssh offers first). */
export const CIPHERS = {
  default: undefined,
  'aes128-gcm': 'aes128-gcm@openssh.com',
  chacha20: 'chacha20-poly1305@openssh.com',
} as const;
export type CipherSlot = keyof typeof CIPHERS;
export const CIPHER_SLOTS = Object.keys(CIPHERS) as CipherSlot[];

export function bigFileRows(opts: Options): RowSpec[] {
  const big = sizeLabel(opts.sizeMiB);
  const mid = sizeLabel(Math.max(1, Math.round(opts.sizeMiB / 4)));
  const group = `${big} file`;
  const rows: RowSpec[] = [
    { id: 'ferry-tls-up', group, label: `Ferry upload, TLS + XXH3-128 check (ferry put)`, unit: 'MB/s', better: 'higher' },
    { id: 'ferry-tls-down', group, label: `Ferry download, TLS + XXH3-128 check (ferry get)`, unit: 'MB/s', better: 'higher' },
    { id: 'ferry-plain-up', group, label: `Ferry upload, --plain (ferry put)`, unit: 'MB/s', better: 'higher' },
    { id: 'ferry-plain-down', group, label: `Ferry download, --plain (ferry get)`, unit: 'MB/s', better: 'higher' },
    { id: 'ferry-tls-up-mid', group, label: `Ferry upload ${mid}, TLS (ferry put)`, unit: 'MB/s', better: 'higher' },
    { id: 'ferry-tls-down-mid', group, label: `Ferry download ${mid}, TLS (ferry get)`, unit: 'MB/s', better: 'higher' },
    { id: 'raw-net', group, label: 'ceiling: raw Node net pipe, file → socket → file', unit: 'MB/s', better: 'higher' },
    { id: 'raw-tls', group, label: 'ceiling: raw Node TLS 1.3 pipe, file → socket → file', unit: 'MB/s', better: 'higher' },
    { id: 'sha256', group, label: 'ceiling: SHA-256 of the file in Node (1 MiB reads)', unit: 'MB/s', better: 'higher' },
  ];
  for (const tool of ['scp', 'sftp'] as const) {
    for (const dir of ['up', 'down'] as const) {
      for (const slot of CIPHER_SLOTS) {
        const what = slot === 'default' ? 'default cipher' : CIPHERS[slot];
        rows.push({ id: `${tool}-${dir}-${slot}`, group, label: `${tool} ${dir === 'up' ? 'upload' : 'download'}, ${what}`, unit: 'MB/s', better: 'higher' });
      }
    }
  }
  rows.push(
    { id: 'peer-best-up', group, label: 'fastest peer upload (scp/sftp, any cipher)', unit: 'MB/s', better: 'higher', derived: true },
    { id: 'peer-best-down', group, label: 'fastest peer download (scp/sftp, any cipher)', unit: 'MB/s', better: 'higher', derived: true },
  );
  const cpu = `CPU time of the ${big} transfers (user + system, both ends)`;
  for (const dir of ['up', 'down'] as const) {
    const what = dir === 'up' ? 'upload' : 'download';
    rows.push(
      { id: `cpu-ferry-tls-${dir}`, group: cpu, label: `Ferry TLS + XXH3-128 check ${what}: ferry + ferryd`, unit: 's', better: 'lower', derived: true },
      { id: `cpu-peer-best-${dir}`, group: cpu, label: `fastest peer ${what}: scp/sftp + sshd`, unit: 's', better: 'lower', derived: true },
      {
        id: `cpu-bound-tls-${dir}`,
        group: cpu,
        label: `the fastest a Ferry TLS ${what} can be on this machine's cores at that CPU time (size ÷ (CPU ÷ cores))`,
        unit: 'MB/s',
        better: 'higher',
        derived: true,
      },
    );
  }
  return rows;
}

export function memoryRows(opts: Options): RowSpec[] {
  const big = sizeLabel(opts.sizeMiB);
  const mid = sizeLabel(Math.max(1, Math.round(opts.sizeMiB / 4)));
  const group = 'peak memory (RSS)';
  return [
    { id: 'rss-ferryd-big', group, label: `ferryd during ${big} transfers (max of TLS/plain, up/down)`, unit: 'MB', better: 'lower', perRun: 'max' },
    { id: 'rss-ferry-big', group, label: `ferry CLI during ${big} transfers (max of TLS/plain, up/down)`, unit: 'MB', better: 'lower', perRun: 'max' },
    { id: 'rss-ferryd-mid', group, label: `ferryd during ${mid} transfers (TLS up/down)`, unit: 'MB', better: 'lower', perRun: 'max' },
    { id: 'rss-ferry-mid', group, label: `ferry CLI during ${mid} transfers (TLS up/down)`, unit: 'MB', better: 'lower', perRun: 'max' },
  ];
}

/** Generous bounds: a transfer slower than 5 MB/s is broken, not slow. */
export function timeoutFor(bytes: number): number {
  return 120_000 + (bytes / (5 * MB)) * 1000;
}

export async function checkFile(file: string, size: number, sha: string | null, what: string): Promise<void> {
  const info = await stat(file).catch(() => null);
  if (!info) throw new Error(`${what}: ${file} is missing after the transfer`);
  if (info.size !== size) throw new Error(`${what}: ${file} has ${info.size} bytes, expected ${size}`);
  if (sha !== null) {
    const { hex } = await sha256File(file);
    if (hex !== sha) throw new Error(`${what}: SHA-256 of ${file} does not match the source`);
  }
}

export function mbps(bytes: number, ms: number): number {
  return bytes / MB / (ms / 1000);
}

/**
 * Both ends' CPU seconds of one transfer, and how they split (for the notes). Always a
 * value (NaN when unknown), so that a row's CPU times stay in step with its runs.
 */
export function cpuOf(client: string, here: number, server: string, there: number): { cpu: number; note: string } {
  const cpu = here + there;
  return { cpu, note: Number.isFinite(cpu) ? `CPU ${client} ${fmt(here)} s + ${server} ${fmt(there)} s` : 'CPU time not measured' };
}

/** `ferry put` / `ferry get` of the big or the mid file, with both processes' peak memory. */
function ferryTransfer(b: Bench, o: { plain: boolean; direction: 'up' | 'down'; which: 'big' | 'mid' }): Task {
  const row = `ferry-${o.plain ? 'plain' : 'tls'}-${o.direction}${o.which === 'mid' ? '-mid' : ''}`;
  const rssRows = o.which === 'big' ? ['rss-ferryd-big', 'rss-ferry-big'] : ['rss-ferryd-mid', 'rss-ferry-mid'];
  let server: BenchServer;
  let local: string;
  return {
    rows: [row, ...rssRows],
    async prepare() {
      server = await (o.plain ? b.plain() : b.tls());
      local = await b.scratch(`${row}-local`);
      return undefined;
    },
    async run(run, rec) {
      const data = await b.data();
      const source = o.which === 'big' ? data.big : data.mid;
      const size = o.which === 'big' ? data.bigSize : data.midSize;
      const sha = o.which === 'big' ? data.bigSha : data.midSha;
      const name = path.basename(source);
      // Start each run clean: no old copy on the server, nothing dirty in the page cache.
      await emptyDir(path.join(server.home, 'up'));
      await emptyDir(local);
      await b.sync();
      await b.warm(source);
      const args =
        o.direction === 'up'
          ? [FERRY, ...server.cliArgs(), 'put', source, '/up']
          : [FERRY, ...server.cliArgs(), 'get', `/src/${name}`, local];
      const watcher = await PeakWatcher.start(server.pid);
      const serverCpu = await ServerCpu.start(server.pid);
      let result;
      try {
        // Bytes that arrived so far (server partials + target for uploads, the local folder
        // with its hidden .ferry-part for downloads): a hang is cut short, not waited out.
        const progress =
          o.direction === 'up'
            ? async () => (await dirBytes(server.partials)) + (await dirBytes(path.join(server.home, 'up')))
            : () => dirBytes(local);
        result = await runOk(process.execPath, args, { env: server.cliEnv, cwd: REPO, watchRss: true, timeoutMs: timeoutFor(size), progress });
      } finally {
        rec.record(rssRows[0]!, (await watcher.stop()) / MB);
      }
      rec.record(rssRows[1]!, result.peakRss / MB);
      const there = (await serverCpu?.settle()) ?? NaN;
      const target = o.direction === 'up' ? path.join(server.home, 'up', name) : path.join(local, name);
      await checkFile(target, size, run === 1 ? sha : null, row);
      rec.record(row, mbps(size, result.ms), { ms: result.ms, ...cpuOf('ferry', result.cpu, 'ferryd', there) });
      await emptyDir(path.join(server.home, 'up'));
      await emptyDir(local);
    },
  };
}

/** The raw ceilings: a receiving process (like ferryd) and a sender in the bench. */
function rawPipe(b: Bench, mode: 'plain' | 'tls'): Task {
  const row = mode === 'plain' ? 'raw-net' : 'raw-tls';
  let dir: string;
  return {
    rows: [row],
    async prepare() {
      dir = await b.scratch(row);
      return undefined;
    },
    async run(run, rec) {
      const data = await b.data();
      const out = path.join(dir, 'out.bin');
      await emptyDir(dir);
      await b.sync();
      await b.warm(data.big);
      const child = spawn(process.execPath, ['--import', WATCHDOG, path.join(REPO, 'dist/bench/raw-pipe.js'), mode, out, path.join(b.dir, 'raw-cert')], {
        env: { ...process.env, FERRY_BENCH_DEADLINE: String(b.deadline) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
      const kill = setTimeout(() => child.kill('SIGKILL'), timeoutFor(data.bigSize));
      try {
        const lines = createInterface({ input: child.stdout! });
        const next = (): Promise<string> =>
          new Promise((resolve, reject) => {
            const onExit = (code: number | null): void => reject(new Error(`raw-pipe exited (${code}): ${stderr}`));
            child.once('exit', onExit);
            lines.once('line', (line) => {
              child.off('exit', onExit);
              resolve(line);
            });
          });
        const port = Number(/^port (\d+)$/.exec(await next())?.[1]);
        const started = now();
        const done = next();
        const socket =
          mode === 'tls'
            ? // As the engine does: noDelay rides along to the underlying net.connect.
              tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', noDelay: true } as tls.ConnectionOptions)
            : net.connect({ host: '127.0.0.1', port, noDelay: true });
        await new Promise<void>((resolve, reject) => {
          socket.once(mode === 'tls' ? 'secureConnect' : 'connect', () => resolve());
          socket.once('error', reject);
        });
        createReadStream(data.big, { highWaterMark: MiB }).pipe(socket);
        const line = await done;
        const ms = now() - started;
        const bytes = Number(/^done (\d+)$/.exec(line)?.[1]);
        if (bytes !== data.bigSize) throw new Error(`${row}: ${bytes} bytes arrived, expected ${data.bigSize}`);
        await checkFile(out, data.bigSize, run === 1 ? data.bigSha : null, row);
        rec.record(row, mbps(data.bigSize, ms), { ms });
      } finally {
        clearTimeout(kill);
        child.kill('SIGKILL');
        await emptyDir(dir);
      }
    },
  };
}

function sha256Task(b: Bench): Task {
  return {
    rows: ['sha256'],
    async run(_run, rec) {
      const data = await b.data();
      await b.warm(data.big);
      const started = now();
      const { hex } = await sha256File(data.big);
      const ms = now() - started;
      if (hex !== data.bigSha) throw new Error('sha256: the file changed under the bench');
      rec.record('sha256', mbps(data.bigSize, ms), { ms });
    },
  };
}

/** scp or sftp of the big file through the throwaway sshd, with one cipher. */
function peerTransfer(b: Bench, tool: 'scp' | 'sftp', direction: 'up' | 'down', slot: CipherSlot): Task {
  const row = `${tool}-${direction}-${slot}`;
  let dir: string;
  return {
    rows: [row],
    async prepare() {
      const peer = await b.ssh();
      if (typeof peer === 'string') return peer;
      const cipher = CIPHERS[slot];
      if (cipher !== undefined && cipher === peer.defaultCipher) return `same as the default cipher (${tool}-${direction}-default)`;
      dir = await b.scratch(row);
      return undefined;
    },
    async run(run, rec) {
      const peer = await b.ssh();
      if (typeof peer === 'string') throw new Error(peer);
      const data = await b.data();
      const cipher = CIPHERS[slot];
      const dest = path.join(dir, 'big.bin');
      await emptyDir(dir);
      await b.sync();
      await b.warm(data.big);
      const serverCpu = peer.pid === null ? null : await ServerCpu.start(peer.pid);
      let result;
      if (tool === 'scp') {
        const args =
          direction === 'up'
            ? [...peer.scpArgs(cipher), data.big, `127.0.0.1:${dest}`]
            : [...peer.scpArgs(cipher), `127.0.0.1:${data.big}`, dest];
        result = await runOk(peer.tools.scp, args, { timeoutMs: timeoutFor(data.bigSize), progress: () => dirBytes(dir) });
      } else {
        const batch = path.join(b.dir, `${row}.batch`);
        await writeFile(batch, direction === 'up' ? `put ${data.big} ${dest}\n` : `get ${data.big} ${dest}\n`);
        result = await runOk(peer.tools.sftp, peer.sftpArgs(batch, cipher), { timeoutMs: timeoutFor(data.bigSize), progress: () => dirBytes(dir) });
      }
      const there = (await serverCpu?.settle()) ?? NaN;
      await checkFile(dest, data.bigSize, run === 1 ? data.bigSha : null, row);
      const spent = cpuOf(tool, result.cpu, 'sshd', there);
      rec.record(row, mbps(data.bigSize, result.ms), { ms: result.ms, cpu: spent.cpu, note: `${cipher ?? peer.defaultCipher}; ${spent.note}` });
      await emptyDir(dir);
    },
  };
}

export function bigFileTasks(b: Bench): Task[] {
  const tasks: Task[] = [];
  for (const plain of [false, true]) {
    for (const direction of ['up', 'down'] as const) tasks.push(ferryTransfer(b, { plain, direction, which: 'big' }));
  }
  tasks.push(ferryTransfer(b, { plain: false, direction: 'up', which: 'mid' }));
  tasks.push(ferryTransfer(b, { plain: false, direction: 'down', which: 'mid' }));
  tasks.push(rawPipe(b, 'plain'), rawPipe(b, 'tls'), sha256Task(b));
  for (const tool of ['scp', 'sftp'] as const) {
    for (const direction of ['up', 'down'] as const) {
      for (const slot of CIPHER_SLOTS) tasks.push(peerTransfer(b, tool, direction, slot));
    }
  }
  return tasks;
}
