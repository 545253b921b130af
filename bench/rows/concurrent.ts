/**
 * Many clients at once: each one an in-process engine session that connects, logs in
 * with the password (the full PBKDF2 600k each: it is part of the real cost of a login),
 * lists its home and downloads a 1 MiB file through the transfer queue (SHA-256 checked
 * by the engine). All start together; all are expected to succeed.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { toFerryError } from '../../shared/common/errors.js';
import { emptyDir, type Bench, type Options, type RowSpec, type Task } from '../core.js';
import { MiB, now, percentile } from '../measure.js';

export function concurrentRows(opts: Options): RowSpec[] {
  const group = `${opts.clients} concurrent clients`;
  const what = 'connect + login (password) + list + download 1 MiB';
  return [
    { id: 'conc-ok', group, label: `clients that succeeded, of ${opts.clients} (${what})`, unit: 'ok', better: 'higher' },
    { id: 'conc-total', group, label: `total time for all ${opts.clients}`, unit: 's', better: 'lower' },
    { id: 'conc-p99', group, label: 'per-client time, p99 (succeeded clients)', unit: 'ms', better: 'lower' },
  ];
}

export function concurrentTasks(b: Bench): Task[] {
  let local: string;
  const FILE = '/conc/one.bin';
  return [
    {
      rows: ['conc-ok', 'conc-total', 'conc-p99'],
      async prepare() {
        local = await b.scratch('conc');
        return undefined;
      },
      async run(_run, rec) {
        // A fresh server per run: failed or abandoned logins here must not leave the auth
        // throttle of the shared server (or of the next run) locked.
        const server = await b.ownServer('ferryd-conc');
        await mkdir(path.join(server.home, 'conc'), { recursive: true });
        await writeFile(path.join(server.home, 'conc', 'one.bin'), randomFillSync(Buffer.alloc(MiB)));
        await emptyDir(local);
        const client = async (i: number): Promise<number> => {
          const started = now();
          const session = await server.connect();
          try {
            const { entries } = await session.list('/');
            if (!entries.some((e) => e.name === 'conc')) throw new Error('listing without conc/');
            const queue = new TransferQueue(session, { retries: 0 });
            const dir = path.join(local, `c${i}`);
            await queue.download([FILE], dir);
            await queue.idle();
            const failed = queue.list().find((t) => t.state !== 'done');
            queue.close();
            if (failed) throw new Error(`download ${failed.state}: ${failed.error?.code ?? ''} ${failed.error?.message ?? ''}`);
            if ((await stat(path.join(dir, 'one.bin'))).size !== MiB) throw new Error('downloaded file has the wrong size');
          } finally {
            session.close();
          }
          return now() - started;
        };
        const started = now();
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('concurrent clients: not finished after 180 s')), 180_000);
        });
        const results = await Promise.race([Promise.allSettled(Array.from({ length: b.opts.clients }, (_, i) => client(i))), bound]).finally(() =>
          clearTimeout(timer),
        );
        const total = now() - started;
        const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        const errors = new Map<string, number>();
        for (const r of results) {
          if (r.status === 'rejected') {
            const e = toFerryError(r.reason);
            const key = `${e.code}: ${e.message}`.slice(0, 90);
            errors.set(key, (errors.get(key) ?? 0) + 1);
          }
        }
        const failures = [...errors].map(([k, n]) => `${n} × ${k}`).join('; ');
        rec.record('conc-ok', ok.length, { note: failures ? `failed: ${failures}` : `all ${b.opts.clients} succeeded` });
        rec.record('conc-total', total / 1000, { ms: total });
        if (ok.length > 0) rec.record('conc-p99', percentile(ok, 99), { note: `median ${Math.round(percentile(ok, 50))} ms` });
        await emptyDir(local);
        await server.stop();
      },
    },
  ];
}
