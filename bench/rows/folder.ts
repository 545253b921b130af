/**
 * A folder of many small files (2,000 × 4 KiB by default) moved as one folder each way:
 * Ferry (ferry put/get of the folder, TLS), scp -r, sftp put -r/get -r, and rsync -a over
 * the same ssh. Reported as files per second of wall time; every run counts the files
 * that arrived.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { emptyDir, type Bench, type Options, type RowSpec, type Task } from '../core.js';
import { FERRY, REPO, type BenchServer } from '../ferryd.js';
import { dirCount, runOk } from '../measure.js';
import type { SshPeer } from '../sshd.js';

export type FolderTool = 'ferry' | 'scp' | 'sftp' | 'rsync';
export const FOLDER_TOOLS: readonly FolderTool[] = ['ferry', 'scp', 'sftp', 'rsync'];
export const FOLDER_HOW: Record<FolderTool, string> = {
  ferry: 'Ferry (ferry put/get of the folder, TLS)',
  scp: 'scp -r',
  sftp: 'sftp put -r / get -r',
  rsync: 'rsync -a over ssh',
};

export function folderRows(opts: Options): RowSpec[] {
  const group = `folder of ${opts.files} × ${opts.smallFileBytes / 1024} KiB`;
  return FOLDER_TOOLS.flatMap((tool) =>
    (['up', 'down'] as const).map((dir) => ({
      id: `folder-${tool}-${dir}`,
      group,
      label: `${FOLDER_HOW[tool]}, ${dir === 'up' ? 'upload' : 'download'}`,
      unit: 'files/s' as const,
      better: 'higher' as const,
    })),
  );
}

/** The small files (*.bin) in a folder that arrived: every run checks all of them did. */
export async function countFiles(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.bin')).length;
}

/** One folder move by one tool: who it talks to, and where the folder is on each side. */
export interface FolderMove {
  readonly tool: FolderTool;
  readonly direction: 'up' | 'down';
  /** Ferry's server (tool 'ferry'), or the sshd peer (the others). */
  readonly server?: BenchServer;
  readonly peer?: SshPeer;
  /** Where to connect when not the server's own port (a proxy in front of it). */
  readonly port?: number;
  /** The folder of small files on this machine: read by uploads, and by the sshd side of downloads. */
  readonly source: string;
  /** The same folder as Ferry's server sees it (its downloads), e.g. /src/small. */
  readonly ferrySource: string;
  /** Where the folder arrives (named like the source; the tools create it). */
  readonly arrived: string;
  /** A scratch file for sftp's batch. */
  readonly batch: string;
  readonly count: number;
}

/** The `ferry` arguments that reach `server`, on `port` when a proxy stands in front of it. */
export function ferryArgs(server: BenchServer, port = server.port): string[] {
  const args = server.cliArgs();
  const at = args.indexOf('--port');
  if (at < 0) throw new Error('ferry arguments without --port');
  args[at + 1] = String(port);
  return args;
}

/** Move the folder with the tool; resolves with the wall time in ms (the files are not counted here). */
export async function moveFolder(m: FolderMove, timeoutMs = 120_000 + m.count * 50): Promise<number> {
  // Files arrived so far: a transfer that makes no progress for 10 s is killed (none of
  // the tools pauses that long between two 4 KiB files unless it hangs).
  const progress = (): Promise<number> => dirCount(m.arrived);
  const stallMs = 10_000;
  const up = m.direction === 'up';
  if (m.tool === 'ferry') {
    const server = m.server!;
    const local = path.dirname(m.arrived);
    const args = up ? [FERRY, ...ferryArgs(server, m.port), 'put', m.source, '/'] : [FERRY, ...ferryArgs(server, m.port), 'get', m.ferrySource, local];
    return (await runOk(process.execPath, args, { env: server.cliEnv, cwd: REPO, timeoutMs, progress, stallMs })).ms;
  }
  const p = m.peer!;
  const far = up ? m.arrived : m.source; // the path on the sshd side
  if (m.tool === 'scp') {
    const args = up ? [...p.scpArgs(undefined, m.port), '-r', m.source, `127.0.0.1:${far}`] : [...p.scpArgs(undefined, m.port), '-r', `127.0.0.1:${far}`, m.arrived];
    return (await runOk(p.tools.scp, args, { timeoutMs, progress, stallMs })).ms;
  }
  if (m.tool === 'sftp') {
    await writeFile(m.batch, up ? `put -r ${m.source} ${far}\n` : `get -r ${far} ${m.arrived}\n`);
    return (await runOk(p.tools.sftp, p.sftpArgs(m.batch, undefined, m.port), { timeoutMs, progress, stallMs })).ms;
  }
  const args = up
    ? ['-a', '-e', p.rsyncShell(m.port), `${m.source}/`, `127.0.0.1:${far}/`]
    : ['-a', '-e', p.rsyncShell(m.port), `127.0.0.1:${far}/`, `${m.arrived}/`];
  return (await runOk(p.tools.rsync!, args, { timeoutMs, progress, stallMs })).ms;
}

function folderTask(b: Bench, tool: FolderTool, direction: 'up' | 'down'): Task {
  const row = `folder-${tool}-${direction}`;
  let server: BenchServer | undefined;
  let peer: SshPeer | undefined;
  let local: string;
  return {
    rows: [row],
    async prepare() {
      if (tool === 'ferry') {
        server = await b.tls();
      } else {
        const ssh = await b.ssh();
        if (typeof ssh === 'string') return ssh;
        if (tool === 'rsync' && !ssh.tools.rsync) return 'rsync is not installed';
        peer = ssh;
      }
      local = await b.scratch(row);
      return undefined;
    },
    async run(_run, rec) {
      const data = await b.data();
      // Uploads land in <server side>/small, downloads in <local>/small.
      const remoteSide = server ? server.home : local;
      const arrived = direction === 'up' ? path.join(remoteSide, 'small') : path.join(local, 'small');
      await emptyDir(local);
      if (server) await emptyDir(path.join(server.home, 'small'));
      // The tools create the target folder themselves (scp -r would nest into an existing one).
      await rm(arrived, { recursive: true, force: true });
      await b.sync();
      await b.warm(data.small);
      const ms = await moveFolder({
        tool,
        direction,
        server,
        peer,
        source: data.small,
        ferrySource: '/src/small',
        arrived,
        batch: path.join(b.dir, `${row}.batch`),
        count: data.smallCount,
      });
      const count = await countFiles(arrived);
      if (count !== data.smallCount) throw new Error(`${row}: ${count} files arrived, expected ${data.smallCount}`);
      rec.record(row, data.smallCount / (ms / 1000), { ms });
      await emptyDir(local);
      if (server) await emptyDir(path.join(server.home, 'small'));
    },
  };
}

export function folderTasks(b: Bench): Task[] {
  return FOLDER_TOOLS.flatMap((tool) => (['up', 'down'] as const).map((dir) => folderTask(b, tool, dir)));
}
