/**
 * Responsiveness: how long a listing takes on a second connection (its own engine
 * session, in-process) while a big upload runs through the `ferry` CLI, against the same
 * listing on an idle server.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RemoteSession } from '../../engine/wire/session.js';
import { emptyDir, type Bench, type Options, type RowSpec, type Task } from '../core.js';
import { FERRY, REPO, type BenchServer } from '../ferryd.js';
import { MB, fmt, median, now, percentile, runOk, runQueueWaitSync } from '../measure.js';
import { sizeLabel } from './big-file.js';

export function responsiveRows(opts: Options): RowSpec[] {
  const group = 'responsiveness';
  const big = sizeLabel(opts.sizeMiB);
  return [
    { id: 'ls-idle', group, label: '`ls` on an idle server, median (engine list on a second session)', unit: 'ms', better: 'lower' },
    { id: 'ls-idle-p95', group, label: '`ls` on an idle server, p95', unit: 'ms', better: 'lower' },
    { id: 'ls-busy', group, label: `\`ls\` while a ${big} upload runs (ferry put), median`, unit: 'ms', better: 'lower' },
    { id: 'ls-busy-p95', group, label: `\`ls\` while a ${big} upload runs (ferry put), p95`, unit: 'ms', better: 'lower' },
  ];
}

/** True once an upload has written bytes into the server's partials folder. */
async function uploadUnderWay(partials: string): Promise<boolean> {
  const names = await readdir(partials).catch(() => [] as string[]);
  for (const name of names) {
    const info = await stat(path.join(partials, name)).catch(() => null);
    if (info && info.size > 0) return true;
  }
  return false;
}

export function responsiveTasks(b: Bench): Task[] {
  let server: BenchServer;
  let session: RemoteSession;
  const timed = async (): Promise<number> => {
    const started = now();
    await session.list('/');
    return now() - started;
  };
  return [
    {
      rows: ['ls-idle', 'ls-idle-p95', 'ls-busy', 'ls-busy-p95'],
      async prepare() {
        server = await b.tls();
        session = await server.connect();
        b.onCleanup(async () => session.close());
        return undefined;
      },
      async run(_run, rec) {
        const data = await b.data();
        await emptyDir(path.join(server.home, 'up'));
        await b.sync();
        await b.warm(data.big);
        for (let i = 0; i < 5; i++) await timed(); // warm-up
        const idle: number[] = [];
        for (let i = 0; i < Math.max(50, b.opts.execCount); i++) idle.push(await timed());
        rec.record('ls-idle', median(idle), { note: `n=${idle.length}` });
        rec.record('ls-idle-p95', percentile(idle, 95));

        let exited = false;
        const upload = runOk(process.execPath, [FERRY, ...server.cliArgs(), 'put', data.big, '/up'], {
          env: server.cliEnv,
          cwd: REPO,
          timeoutMs: 120_000 + (data.bigSize / (5 * MB)) * 1000,
          onSpawn: (child) => child.once('exit', () => (exited = true)),
        });
        upload.catch(() => (exited = true));
        // Sample only while bytes flow: from the first bytes on the server until the CLI ends
        // (that includes the server's hash check and fsync, which the user also waits for).
        const waitUntil = now() + 60_000;
        while (!exited && now() < waitUntil && !(await uploadUnderWay(server.partials))) {
          await new Promise((r) => setTimeout(r, 10));
        }
        // How long ferryd's main thread and ours (the listing's client) were ready to run but
        // had no core: on a machine with few cores this, not the server's work, sets the tail.
        const waited = { server: runQueueWaitSync(server.pid), client: runQueueWaitSync(process.pid), at: now() };
        const busy: number[] = [];
        while (!exited && busy.length < 100_000) busy.push(await timed());
        const span = (now() - waited.at) / 1000;
        const serverWait = (runQueueWaitSync(server.pid) - waited.server) / span;
        const clientWait = (runQueueWaitSync(process.pid) - waited.client) / span;
        const result = await upload;
        const arrived = await stat(path.join(server.home, 'up', path.basename(data.big))).catch(() => null);
        if (arrived?.size !== data.bigSize) throw new Error('ls-busy: the upload did not arrive complete');
        if (busy.length === 0) throw new Error('ls-busy: no listing completed during the upload');
        const note = `n=${busy.length} during ${fmt(result.ms / 1000)} s`;
        const waits = Number.isFinite(serverWait + clientWait)
          ? `; waiting for a core: ferryd's main thread ${Math.round(serverWait * 100)} % of the time, the listing client ${Math.round(clientWait * 100)} %`
          : '';
        rec.record('ls-busy', median(busy), { note });
        rec.record('ls-busy-p95', percentile(busy, 95), { note: note + waits });
        await emptyDir(path.join(server.home, 'up'));
      },
    },
  ];
}
