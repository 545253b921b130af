/**
 * The queue's totals (QueueTotals in shared/common/transfer-model.ts, where what counts is
 * documented): the one computation, attached by the queue to each of its events.
 */
import type { QueueTotals, TransferView } from '../../shared/common/transfer-model.js';

export function queueTotals(views: Iterable<Pick<TransferView, 'state' | 'bytes' | 'size'>>): QueueTotals {
  let count = 0, queued = 0, active = 0, paused = 0, done = 0, failed = 0, cancelled = 0, bytes = 0, size = 0;
  for (const view of views) {
    count++;
    switch (view.state) {
      case 'queued': queued++; break;
      case 'active':
      case 'verifying': active++; break;
      case 'paused': paused++; break;
      case 'done':
      case 'skipped': done++; break;
      case 'failed': failed++; break;
      case 'cancelled': cancelled++; break;
    }
    // Skipped and cancelled files are not moved: their bytes are not part of the work.
    if (view.state !== 'cancelled' && view.state !== 'skipped') {
      bytes += view.bytes;
      size += view.size;
    }
  }
  return { count, queued, active, paused, done, failed, cancelled, unfinished: queued + active + paused, bytes, size };
}
