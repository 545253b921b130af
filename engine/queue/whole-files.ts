/**
 * Small files, moved whole and pipelined: a batch of them holds one slot and one lane,
 * with up to SMALL_WINDOW files being read (up) or asked for (down) at once, each request
 * sent as soon as it is ready without waiting for the answers before it. The batch gives
 * its slot and lane back once every request is on the wire; the answers complete each file.
 */
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import { statOrNull } from '../../shared/node/fs-calls.js';
import { createCheckHash } from '../../shared/node/checksums.js';
import { NotWhole, type Lane } from '../remote/remote.js';
import { untilAborted } from './conflicts.js';
import type { QueueHost } from './queue-host.js';
import { paceBytes } from './rate-limit.js';
import { SMALL_WINDOW, onceChunk, readSmallFile, readSmallFileSync } from './small-files.js';
import { begin, end, unclaim, type Attempt, type Item } from './transfer-item.js';
import { freeLocalName } from './transfers.js';

/** Run a batch of claimed small files (same direction). `freeSlot` gives the batch's slot back. */
export function runWholeBatch(host: QueueHost, items: readonly Item[], freeSlot: () => void): void {
  let lane: Promise<Lane> | undefined;
  const acquire = (): Promise<Lane> => (lane ??= host.remote.acquire());
  // Requests go out in the queue's order, whatever order their files are read in: each
  // file gets the lane once the file before it has issued its request.
  let previous: Promise<void> = Promise.resolve();
  let next = 0;
  let sending = 0;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    // Give the lane back (its answers still arrive) and the slot to the next batch.
    void lane?.then(
      (l) => host.remote.release(l),
      () => undefined,
    );
    freeSlot();
  };
  const startMore = (): void => {
    while (sending < SMALL_WINDOW && next < items.length) {
      const item = items[next++]!;
      unclaim(item);
      // Paused, cancelled (or closed) while it waited in the batch.
      if (item.view.state !== 'queued' || host.closed) continue;
      sending++;
      let sent = false;
      const after = previous;
      let issued!: () => void;
      previous = new Promise<void>((resolve) => (issued = resolve));
      runWhole(host, item, () => after.then(acquire), issued, () => {
        if (sent) return;
        sent = true;
        sending--;
        // Later in this turn: runWhole() may call this before it has returned.
        queueMicrotask(startMore);
      });
    }
    if (sending === 0 && next >= items.length) end();
  };
  startMore();
}

/**
 * One small file of a batch; sets 'active' before its first await. `lane` gives the lane
 * when it is this file's turn to issue its request; `issued` passes the turn on (once the
 * request is queued, or the file ended without one); `sent` is called once its request is
 * on the wire (or it ended before that).
 */
function runWhole(host: QueueHost, item: Item, lane: () => Promise<Lane>, issued: () => void, sent: () => void): void {
  const attempt = begin(item, 'whole');
  item.view.attempts++;
  item.view.bytes = 0;
  host.setState(item, 'active');
  // Small files share their lane, so stopping one closes it only in the one case where
  // that is the only way: an upload whose request waits to be written (`unsent`; the
  // others on the lane are retried). A download whose request is out stops waiting: the
  // reply is still read, then dropped, and the lane stays in step. Anything else either
  // has not asked yet (it just ends) or is answered and being stored, which finishes, as
  // a verifying file does.
  let unsent: Lane | undefined;
  attempt.whenStopped(() => unsent?.destroy());
  let settleDebt: (() => void) | undefined;
  const leave = (): void => {
    settleDebt?.();
    settleDebt = undefined;
  };
  const toVerifying = (): void => {
    if (item.view.state !== 'active') return;
    settleDebt ??= host.load.owe();
    item.view.bytes = item.view.size;
    host.setState(item, 'verifying');
  };
  const handOver = (): void => {
    sent();
    host.handToStreamed(item, attempt);
  };
  // A speed limit is waited for before the file is read or asked for, so it holds the
  // batch back rather than piling up files in memory; the planned size is what is charged.
  const pace = host.limits?.of(item.view.direction);
  // Null when the bytes may go now (always without a limit: no extra turn per file).
  const charge = (bytes: number): Promise<void> | null => {
    const wait = paceBytes(pace, bytes, attempt.signal);
    return wait && wait.then(() => attempt.check(host.closed));
  };
  const work = async (): Promise<void> => {
    const exists = host.conflicts.existsPolicy(item);
    if (item.view.direction === 'upload') {
      const planned = item.view.size;
      const paced = charge(planned);
      if (paced) await paced;
      const file = host.blockingSmallIo ? readSmallFileSync(item.view.localPath, WHOLE_FILE_MAX) : await readSmallFile(item.view.localPath, WHOLE_FILE_MAX);
      attempt.check(host.closed);
      if (file === null) return handOver();
      const more = file.data.length > planned ? charge(file.data.length - planned) : null;
      if (more) await more;
      const l = await lane();
      attempt.check(host.closed);
      unsent = l;
      const putting = l.put(
        { path: item.view.remotePath, offset: 0, total: file.data.length, exists, mtime: Math.round(file.mtimeMs), mode: file.mode, preserveMode: item.preserveMode },
        () => onceChunk(file.data),
        createCheckHash(host.check, file.data.length),
        {
          onWritten: () => {
            unsent = undefined;
            sent();
            toVerifying();
          },
        },
      );
      issued();
      const result = await putting.finally(() => (unsent = undefined));
      leave();
      return host.succeed(item, attempt, { path: result.path, skipped: result.skipped, verified: !result.skipped && result.digest !== null, digest: result.digest });
    }
    let target = item.view.localPath;
    if (exists !== 'overwrite' && (await statOrNull(target))) {
      if (exists === 'skip') {
        sent();
        return host.succeed(item, attempt, { path: target, skipped: true, verified: false });
      }
      if (exists === 'fail') throw new FerryError('EEXIST', `${target} already exists`);
      target = await freeLocalName(target);
    }
    const paced = charge(item.view.size);
    if (paced) await paced;
    const l = await lane();
    attempt.check(host.closed);
    settleDebt = host.load.owe();
    const reading = l.getWhole(item.view.remotePath, WHOLE_FILE_MAX, () => {
      issued();
      sent();
    }, host.check);
    const file = await untilAborted(reading, attempt.signal).catch((err: unknown) => stopOrHandOver(err, attempt, reading, () => {
      const owed = settleDebt;
      settleDebt = undefined;
      return owed;
    }));
    if (file === null) return handOver();
    host.resized(item, file.data.length);
    attempt.check(host.closed);
    toVerifying();
    await host.writeSmall(target, file.data, file.mtime);
    leave();
    host.succeed(item, attempt, { path: target, skipped: false, verified: file.digest !== null, digest: file.digest });
  };
  void work()
    .catch(async (err: unknown) => {
      leave();
      issued();
      sent();
      await host.settle(item, attempt, toFerryError(err));
    })
    .finally(() => {
      leave();
      issued();
      sent();
      end(item, attempt);
    });
}

/**
 * A whole download that did not arrive: stopped (its reply is still owed, so it counts
 * against the bound until it is in), to be streamed instead (null), or failed.
 */
function stopOrHandOver(err: unknown, attempt: Attempt, reading: Promise<unknown>, takeDebt: () => (() => void) | undefined): null {
  if (attempt.stopped) {
    const owed = takeDebt();
    void reading.catch(() => undefined).finally(() => owed?.());
    throw new FerryError('ECANCELED', 'the transfer was cancelled');
  }
  if (err instanceof NotWhole) return null;
  throw err;
}
