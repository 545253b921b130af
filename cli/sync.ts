/**
 * `ferry sync LOCAL REMOTE`: plan a folder sync, print the plan, and (unless --dry-run)
 * carry it out through the transfer queue. The plan says how files were compared
 * (SHA-256 or size and mtime) and why each line is there; conflicts are printed and left.
 */
import { CHECK_NAMES, type CheckAlgorithm } from '../shared/common/checks.js';
import { FerryError } from '../shared/common/errors.js';
import { formatBytes } from '../shared/common/size.js';
import type { SyncAction, SyncDirection, SyncPlan } from '../shared/common/sync-model.js';
import type { RateLimits } from '../engine/queue/rate-limit.js';
import { TransferQueue } from '../engine/queue/transfer-queue.js';
import { TransferHistory } from '../engine/history/transfer-history.js';
import { logEntryOf } from '../engine/history/history-export.js';
import { prepareSync } from '../engine/sync/sync-prepare.js';
import { runSync } from '../engine/sync/sync-run.js';
import { connect, type Context } from './connect.js';
import { ProgressPrinter } from './progress.js';
import { printable } from './terminal-text.js';

export interface SyncOptions {
  readonly direction: SyncDirection;
  readonly deleteExtras: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly concurrency: number;
  /** --limit-rate: both directions' speed limits (undefined: none). */
  readonly rateLimits?: RateLimits;
  /** --check: the transfers' check, and the one files without a stored digest are compared by. */
  readonly check: CheckAlgorithm;
}

const LABEL: Record<SyncAction['kind'], string> = {
  upload: 'upload',
  download: 'download',
  mkdir: 'mkdir',
  delete: 'delete',
  conflict: 'CONFLICT',
  same: 'same',
  keep: 'keep',
};

function actionJson(a: SyncAction): Record<string, unknown> {
  return {
    action: a.kind,
    path: a.path,
    ...(a.side ? { side: a.side } : {}),
    reason: a.reason,
    ...(a.local ? { local: a.local } : {}),
    ...(a.remote ? { remote: a.remote } : {}),
  };
}

function summary(plan: SyncPlan): Record<string, number> {
  const counts: Record<string, number> = { upload: 0, download: 0, mkdir: 0, delete: 0, conflict: 0, same: 0, keep: 0 };
  for (const a of plan.actions) counts[a.kind] = (counts[a.kind] ?? 0) + 1;
  return counts;
}

function printPlan(plan: SyncPlan, json: boolean): void {
  const out = process.stdout;
  if (json) {
    for (const a of plan.actions) out.write(`${JSON.stringify(actionJson(a))}\n`);
    return;
  }
  const how = plan.compare === 'size-mtime' ? 'by size and modification time (the server lists no hashes)' : `by ${CHECK_NAMES[plan.compare]} (content)`;
  out.write(`sync ${plan.direction}: ${printable(plan.localRoot)} ⇄ ${printable(plan.remoteRoot)}, compared ${how}\n`);
  for (const a of plan.actions) {
    if (a.kind === 'same') continue;
    const where = a.side ? ` (${a.side})` : '';
    out.write(`${LABEL[a.kind].padEnd(8)} ${printable(a.path)}${where}  — ${printable(a.reason)}\n`);
  }
  const c = summary(plan);
  out.write(
    `${c.upload} to upload (${formatBytes(plan.bytesUp)}), ${c.download} to download (${formatBytes(plan.bytesDown)}), ` +
      `${c.mkdir} folders to create, ${c.delete} to delete, ${c.conflict} conflicts, ${c.same} the same, ${c.keep} kept\n`,
  );
}

export async function syncCommand(ctx: Context, localRoot: string, remoteRoot: string, options: SyncOptions): Promise<number> {
  const session = await connect(ctx, options.concurrency);
  try {
    const prepared = await prepareSync(session, { localRoot, remoteRoot, direction: options.direction, deleteExtras: options.deleteExtras }, {
      stateDir: ctx.configDir,
      signal: ctx.signal,
      blockingIo: true,
      check: options.check,
    });
    const { plan } = prepared;
    printPlan(plan, options.json);
    if (options.dryRun) return 0;
    // A file the plan found missing is not replaced if it appeared since: 'ask' with
    // nobody to ask fails it with EEXIST (the plan's replacements are decided up front).
    // Its copies are transfers like put's and get's: the history records them.
    const history = new TransferHistory(ctx.configDir);
    const queue = new TransferQueue(session, {
      concurrency: options.concurrency,
      conflict: 'ask',
      blockingSmallIo: true,
      rateLimits: options.rateLimits,
      check: options.check,
      onDone: (done) => history.record(logEntryOf(session, done)),
    });
    const printer = new ProgressPrinter(process.stderr);
    const off = queue.on((event) => printer.onEvent(event));
    let outcome;
    try {
      outcome = await runSync(prepared, session, queue, { signal: ctx.signal });
    } finally {
      off();
      printer.finish();
      queue.close();
      await history.flush();
    }
    if (ctx.signal.aborted) throw new FerryError('ECANCELED', 'interrupted');
    for (const f of outcome.failed) process.stderr.write(`ferry: ${f.code}: ${printable(`${f.path}: ${f.message}`)}\n`);
    const conflicts = plan.actions.filter((a) => a.kind === 'conflict').length;
    if (conflicts > 0) process.stderr.write(`ferry: ${conflicts} conflict${conflicts === 1 ? '' : 's'} left as they are (see the plan)\n`);
    if (options.json) process.stdout.write(`${JSON.stringify({ result: { compare: plan.compare, ...summary(plan), done: outcome.done, failed: outcome.failed.length } })}\n`);
    return outcome.failed.length > 0 ? 1 : 0;
  } finally {
    session.close();
  }
}
