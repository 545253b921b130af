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

type Tool = 'ferry' | 'scp' | 'sftp' | 'rsync';
const TOOLS: readonly Tool[] = ['ferry', 'scp', 'sftp', 'rsync'];
const HOW: Record<Tool, string> = {
  ferry: 'Ferry (ferry put/get of the folder, TLS)',
  scp: 'scp -r',
  sftp: 'sftp put -r / get -r',
  rsync: 'rsync -a over ssh',
};

export function folderRows(opts: Options): RowSpec[] {
  const group = `folder of ${opts.files} × ${opts.smallFileBytes / 1024} KiB`;
  return TOOLS.flatMap((tool) =>
    (['up', 'down'] as const).map((dir) => ({
      id: `folder-${tool}-${dir}`,
      group,
      label: `${HOW[tool]}, ${dir === 'up' ? 'upload' : 'download'}`,
      unit: 'files/s' as const,
      better: 'higher' as const,
    })),
  );
}

async function countFiles(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.bin')).length;
}

function folderTask(b: Bench, tool: Tool, direction: 'up' | 'down'): Task {
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
      const timeoutMs = 120_000 + data.smallCount * 50;
      // Files arrived so far: a transfer that makes no progress for 10 s is killed (none of
      // the tools pauses that long between two 4 KiB files unless it hangs).
      const progress = (): Promise<number> => dirCount(arrived);
      const stallMs = 10_000;
      let ms: number;
      if (server) {
        const args =
          direction === 'up'
            ? [FERRY, ...server.cliArgs(), 'put', data.small, '/']
            : [FERRY, ...server.cliArgs(), 'get', '/src/small', local];
        ms = (await runOk(process.execPath, args, { env: server.cliEnv, cwd: REPO, timeoutMs, progress, stallMs })).ms;
      } else {
        const p = peer!;
        const far = direction === 'up' ? arrived : data.small; // the path on the sshd side
        if (tool === 'scp') {
          const args =
            direction === 'up' ? [...p.scpArgs(), '-r', data.small, `127.0.0.1:${far}`] : [...p.scpArgs(), '-r', `127.0.0.1:${far}`, arrived];
          ms = (await runOk(p.tools.scp, args, { timeoutMs, progress, stallMs })).ms;
        } else if (tool === 'sftp') {
          const batch = path.join(b.dir, `${row}.batch`);
          await writeFile(batch, direction === 'up' ? `put -r ${data.small} ${far}\n` : `get -r ${far} ${arrived}\n`);
          ms = (await runOk(p.tools.sftp, p.sftpArgs(batch), { timeoutMs, progress, stallMs })).ms;
        } else {
          const args =
            direction === 'up'
              ? ['-a', '-e', p.rsyncShell(), `${data.small}/`, `127.0.0.1:${far}/`]
              : ['-a', '-e', p.rsyncShell(), `127.0.0.1:${far}/`, `${arrived}/`];
          ms = (await runOk(p.tools.rsync!, args, { timeoutMs, progress, stallMs })).ms;
        }
      }
      const count = await countFiles(arrived);
      if (count !== data.smallCount) throw new Error(`${row}: ${count} files arrived, expected ${data.smallCount}`);
      rec.record(row, data.smallCount / (ms / 1000), { ms });
      await emptyDir(local);
      if (server) await emptyDir(path.join(server.home, 'small'));
    },
  };
}

export function folderTasks(b: Bench): Task[] {
  return TOOLS.flatMap((tool) => (['up', 'down'] as const).map((dir) => folderTask(b, tool, dir)));
}
