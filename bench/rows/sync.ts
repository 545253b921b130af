/**
 * Sync of a big tree with few changes: 10,000 files of 4 KiB in 100 folders, 10 of them
 * changed (new bytes, same size) before each run, synced up or down. Ferry (`ferry sync`
 * to ferryd, compared by SHA-256; and `ferry --protocol sftp sync` to the sshd, by size
 * and mtime) against `rsync -a` over ssh to the same sshd. Every tool goes through the
 * same counting relay, so the bytes each sent are measured the same way; the time is
 * from process start to exit (login included), after an untimed first sync.
 */
import { randomFillSync } from 'node:crypto';
import { cp, mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CountProxy } from '../count-proxy.js';
import { type Bench, type Options, type RowSpec, type Task } from '../core.js';
import { BENCH_PASSWORD, FERRY, REPO } from '../ferryd.js';
import { fmt, runOk } from '../measure.js';

type Tool = 'ferry' | 'ferry-sftp' | 'rsync';
const TOOLS: readonly Tool[] = ['ferry', 'rsync', 'ferry-sftp'];
type Direction = 'up' | 'down';
const HOW: Record<Tool, string> = {
  ferry: 'Ferry: ferry sync (ferryd, TLS; by SHA-256)',
  'ferry-sftp': 'Ferry over SFTP: ferry --protocol sftp sync (same sshd; by size and mtime)',
  rsync: 'rsync -a over ssh (same sshd; by size and mtime)',
};
const CHANGED = 10;

function shape(opts: Options): { folders: number; perFolder: number } {
  return opts.quick ? { folders: 4, perFolder: 10 } : { folders: 100, perFolder: 100 };
}

export function syncRows(opts: Options): RowSpec[] {
  const { folders, perFolder } = shape(opts);
  const group = `sync: ${(folders * perFolder).toLocaleString('en')} files × 4 KiB in ${folders} folders, ${CHANGED} changed`;
  const rows: RowSpec[] = [];
  for (const direction of ['up', 'down'] as const) {
    for (const tool of TOOLS) {
      rows.push({ id: `sync-${tool}-${direction}`, group, label: `${HOW[tool]}, ${direction}: time`, unit: 'ms', better: 'lower' });
    }
    for (const tool of TOOLS) {
      rows.push({ id: `sync-bytes-${tool}-${direction}`, group, label: `${HOW[tool]}, ${direction}: bytes on the wire, both ways`, unit: 'MB', better: 'lower' });
    }
  }
  return rows;
}

/**
 * The tree, once: `folders` folders of `perFolder` random 4 KiB files, last changed an hour
 * ago (so a change made now has a later mtime, to the second, as edits have in life).
 */
async function makeTree(dir: string, folders: number, perFolder: number): Promise<string[]> {
  const files: string[] = [];
  const buf = Buffer.allocUnsafe(4096);
  const anHourAgo = new Date(Date.now() - 3_600_000);
  for (let d = 0; d < folders; d++) {
    const folder = path.join(dir, `d${String(d).padStart(3, '0')}`);
    await mkdir(folder, { recursive: true });
    for (let f = 0; f < perFolder; f++) {
      randomFillSync(buf);
      const rel = path.join(path.basename(folder), `f${String(f).padStart(3, '0')}.bin`);
      const handle = await open(path.join(dir, rel), 'w');
      await handle.write(buf);
      await handle.utimes(anHourAgo, anHourAgo);
      await handle.close();
      files.push(rel);
    }
  }
  return files;
}

/** Change `count` files spread over the tree: new bytes, the same size (a later mtime). */
async function change(root: string, files: readonly string[], run: number): Promise<string[]> {
  const step = Math.max(1, Math.floor(files.length / CHANGED));
  const picked = Array.from({ length: Math.min(CHANGED, files.length) }, (_, i) => files[(i * step + run) % files.length]!);
  const buf = Buffer.allocUnsafe(4096);
  for (const rel of picked) {
    randomFillSync(buf);
    const handle = await open(path.join(root, rel), 'r+');
    await handle.write(buf, 0, buf.length, 0);
    await handle.close();
  }
  return picked;
}

async function same(a: string, b: string, files: readonly string[], row: string): Promise<void> {
  for (const rel of files) {
    const [x, y] = await Promise.all([readFile(path.join(a, rel)), readFile(path.join(b, rel))]);
    if (!x.equals(y)) throw new Error(`${row}: ${rel} differs after the sync`);
  }
}

function syncTask(b: Bench, tool: Tool, direction: Direction): Task {
  const row = `sync-${tool}-${direction}`;
  let local: string;
  let remote: string;
  let files: string[];
  let command: (d: Direction) => { cmd: string; args: string[]; env?: Record<string, string> };
  let proxy: CountProxy;
  return {
    rows: [row, `sync-bytes-${tool}-${direction}`],
    async prepare() {
      const { folders, perFolder } = shape(b.opts);
      const work = await b.scratch(row);
      local = path.join(work, 'local');
      files = await makeTree(local, folders, perFolder);
      if (tool === 'ferry') {
        const server = await b.tls();
        proxy = await CountProxy.start(server.port);
        remote = path.join(server.home, row);
        const configDir = path.join(work, 'config');
        const args = ['--host', '127.0.0.1', '--port', String(proxy.port), '--user', 'bench'];
        const env = { FERRY_PASSWORD: BENCH_PASSWORD, FERRY_CONFIG_DIR: configDir };
        // Untimed, as an ssh key is for the peers: trust the key and save the login through the relay.
        await runOk(process.execPath, [FERRY, ...args, 'login'], { env, cwd: REPO, timeoutMs: 60_000 });
        command = (d) => ({ cmd: process.execPath, args: [FERRY, ...args, 'sync', local, `/${row}`, '--direction', d], env });
      } else {
        const sftp = await b.sftp();
        if (typeof sftp === 'string') return sftp;
        const peer = sftp.peer;
        if (tool === 'rsync' && !peer.tools.rsync) return 'rsync is not installed';
        proxy = await CountProxy.start(peer.port);
        remote = path.join(work, 'remote');
        if (tool === 'rsync') {
          const shell = [peer.tools.ssh, ...peer.common(), '-p', String(proxy.port)].join(' ');
          command = (d) => ({
            cmd: peer.tools.rsync!,
            args: d === 'up' ? ['-a', '-e', shell, `${local}/`, `127.0.0.1:${remote}/`] : ['-a', '-e', shell, `127.0.0.1:${remote}/`, `${local}/`],
          });
        } else {
          const args = sftp.cliArgs('full').map((a, i, all) => (all[i - 1] === '--port' ? String(proxy.port) : a));
          command = (d) => ({ cmd: process.execPath, args: [FERRY, ...args, 'sync', local, remote, '--direction', d], env: sftp.cliEnv });
        }
      }
      b.onCleanup(() => proxy.close());
      // The first sync (untimed): both sides hold the tree, and each tool has what it keeps.
      if (tool !== 'ferry') await cp(local, remote, { recursive: true, preserveTimestamps: true });
      const first = command('up');
      await runOk(first.cmd, first.args, { env: first.env, cwd: REPO, timeoutMs: 600_000 });
      return undefined;
    },
    async run(run, rec) {
      const source = direction === 'up' ? local : remote;
      const target = direction === 'up' ? remote : local;
      const changed = await change(source, files, run);
      await b.sync();
      const { cmd, args, env } = command(direction);
      proxy.reset();
      const result = await runOk(cmd, args, { env, cwd: REPO, timeoutMs: 600_000 });
      await same(source, target, changed, row);
      const bytes = proxy.up + proxy.down;
      const payload = CHANGED * 4096;
      rec.record(row, result.ms, { ms: result.ms, note: `${fmt(bytes / 1e6)} MB on the wire (${fmt(proxy.up / 1e3)} kB up, ${fmt(proxy.down / 1e3)} kB down)` });
      rec.record(`sync-bytes-${tool}-${direction}`, bytes / 1e6, { note: `${fmt(bytes / payload)}× the ${CHANGED} changed files’ ${payload / 1024} KiB` });
    },
  };
}

export function syncTasks(b: Bench): Task[] {
  return (['up', 'down'] as const).flatMap((direction) => TOOLS.map((tool) => syncTask(b, tool, direction)));
}
