/**
 * One file moved streamed (transfers.ts): it holds a slot until its bytes are all sent,
 * then gives the slot to the next file while its check and commit complete (pipelining),
 * owing an answer until then.
 */
import { toFerryError } from '../../shared/common/errors.js';
import type { QueueHost } from './queue-host.js';
import { begin, end, type Item } from './transfer-item.js';
import { downloadFile, uploadFile, type TransferHooks } from './transfers.js';

export async function runStreamed(host: QueueHost, item: Item, freeSlot: () => void): Promise<void> {
  const attempt = begin(item, 'streamed');
  item.view.attempts++;
  host.setState(item, 'active');
  host.progress.startRate(item);
  item.view.bytes = 0;
  item.reached = undefined;
  // Uploads and downloads both pass through 'verifying'; whichever way this attempt ends,
  // it settles that debt, and the queue may then start more.
  let settleDebt: (() => void) | undefined;
  const leave = (): void => {
    settleDebt?.();
    settleDebt = undefined;
  };
  const hooks: TransferHooks = {
    signal: attempt.signal,
    pace: host.limits?.of(item.view.direction),
    check: host.check,
    onBytes: (delta) => {
      item.view.bytes = Math.max(0, item.view.bytes + delta);
      if (delta > 0) item.reached = Math.max(item.reached ?? 0, item.view.bytes);
      host.progress.mark(item);
    },
    onSize: (size) => host.resized(item, size),
    onVerifying: () => {
      if (item.view.state !== 'active') return;
      settleDebt = host.load.owe();
      host.setState(item, 'verifying');
      freeSlot(); // pipelining: the next file may start while this one is committed
    },
  };
  try {
    // Partials are always ours to continue: the check catches a changed source.
    const options = { ...hooks, exists: host.conflicts.existsPolicy(item), resume: true, preserveMode: item.preserveMode };
    const { view } = item;
    const result =
      view.direction === 'upload'
        ? await uploadFile(host.remote, view.localPath, view.remotePath, options)
        : await downloadFile(host.remote, view.remotePath, view.localPath, options);
    leave();
    host.succeed(item, attempt, result);
  } catch (err) {
    leave();
    await host.settle(item, attempt, toFerryError(err));
  } finally {
    leave();
    end(item, attempt);
    freeSlot();
  }
}
