/**
 * The transfer attempt state machine (engine/queue/transfer-item.ts), its load counters
 * and the conflict desk, as pure logic: each transition that once had a bug has a case.
 */
import { describe, expect, it } from 'vitest';
import type { TransferId, TransferView } from '../../shared/common/transfer-model.js';
import { ConflictDesk } from '../../engine/queue/conflicts.js';
import { Load, MAX_OWED } from '../../engine/queue/queue-host.js';
import { begin, claim, end, hold, newItem, owns, startable, stopAttempt, unclaim, unhold } from '../../engine/queue/transfer-item.js';

const view = (id = 't1'): TransferView => ({
  id: id as TransferId,
  direction: 'upload',
  name: 'a.txt',
  localPath: '/tmp/a.txt',
  remotePath: '/a.txt',
  size: 10,
  bytes: 0,
  speed: 0,
  eta: null,
  state: 'queued',
  verified: false,
    check: null,
  attempts: 0,
});

describe('transfer attempts', () => {
  it('an item starts idle and startable; an attempt owns it until it ends', () => {
    const item = newItem(view(), 'b1');
    expect(startable(item)).toBe(true);
    const attempt = begin(item, 'streamed');
    expect(item.run).toEqual({ kind: 'running', attempt });
    expect(owns(item, attempt)).toBe(true);
    expect(() => begin(item, 'streamed')).toThrow(/begin from running/);
    end(item, attempt);
    expect(item.run.kind).toBe('idle');
  });

  it('an older attempt that ends late leaves the newer one its stop handle (hand-over to the streamed way)', () => {
    const item = newItem(view(), 'b1');
    const small = begin(item, 'whole');
    end(item, small); // handed over
    const streamed = begin(item, 'streamed');
    end(item, small); // the small attempt's own cleanup, later
    expect(owns(item, streamed)).toBe(true);
    expect(stopAttempt(item, 'pause')).toBe(true);
    expect(streamed.stopReason).toBe('pause');
    expect(small.stopped).toBe(false);
  });

  it('a held item (retry delay or question) is queued but not startable, and a pause stops its wait', () => {
    const item = newItem(view(), 'b1');
    const attempt = begin(item, 'whole');
    hold(item, attempt, 'retry-delay');
    expect(item.run).toMatchObject({ kind: 'held', why: 'retry-delay' });
    expect(startable(item)).toBe(false);
    expect(stopAttempt(item, 'pause')).toBe(true);
    expect(attempt.signal.aborted).toBe(true);
    unhold(item, attempt);
    expect(item.run.kind).toBe('running');
    end(item, attempt);
    expect(startable(item)).toBe(true);
  });

  it('a cancel outranks a pause, a pause never a cancel, and what a stop must also do runs once', () => {
    const item = newItem(view(), 'b1');
    const attempt = begin(item, 'whole');
    let destroyed = 0;
    attempt.whenStopped(() => destroyed++);
    attempt.stop('pause');
    expect(attempt.stopReason).toBe('pause');
    attempt.stop('cancel');
    expect(attempt.stopReason).toBe('cancel');
    attempt.stop('pause');
    expect(attempt.stopReason).toBe('cancel');
    expect(destroyed).toBe(1);
    attempt.whenStopped(() => destroyed++); // registered after the stop: runs at once
    expect(destroyed).toBe(2);
    expect(() => attempt.check()).toThrow(/cancelled/);
  });

  it('a claimed item is not startable; paused meanwhile, it has no attempt to stop', () => {
    const item = newItem(view(), 'b1');
    claim(item);
    expect(startable(item)).toBe(false);
    expect(() => claim(item)).toThrow(/claim from claimed/);
    expect(stopAttempt(item, 'pause')).toBe(false);
    unclaim(item);
    expect(startable(item)).toBe(true);
  });
});

describe('the queue load', () => {
  it('gives back a slot or an owed answer once, however often it is called', () => {
    let freed = 0;
    const load = new Load(() => freed++);
    const slot = load.takeSlot();
    expect(load.canStart(1)).toBe(false);
    slot();
    slot();
    expect(freed).toBe(1);
    expect(load.canStart(1)).toBe(true);
  });

  it('stops starting files while MAX_OWED answers are owed (an answered small download counts once)', () => {
    const load = new Load(() => undefined);
    const debts = Array.from({ length: MAX_OWED }, () => load.owe());
    expect(load.canStart(4)).toBe(false);
    debts[0]!();
    debts[0]!();
    expect(load.canStart(4)).toBe(true);
    expect(load.canStart(0)).toBe(false);
  });
});

describe('conflicts', () => {
  it('maps a decision to what the request says, once', () => {
    const item = newItem(view(), 'b1');
    expect(new ConflictDesk('overwrite', undefined).existsPolicy(item)).toBe('overwrite');
    expect(new ConflictDesk('resume', undefined).existsPolicy(item)).toBe('overwrite');
    expect(new ConflictDesk('ask', undefined).existsPolicy(item)).toBe('fail');
    item.decision = 'rename';
    expect(new ConflictDesk('ask', undefined).existsPolicy(item)).toBe('rename');
  });

  it('asks one question at a time; "apply to all" settles its batch only, and a stop withdraws a question', async () => {
    const asked: string[] = [];
    const desk = new ConflictDesk('ask', async (conflict) => {
      asked.push(conflict.transfer.id);
      return { decision: 'skip', applyToAll: conflict.batch === 'b1' };
    });
    const existing = async () => ({ size: 1, mtime: 1 });
    const a = newItem(view('a'), 'b1');
    const b = newItem(view('b'), 'b1');
    const c = newItem(view('c'), 'b2');
    const stop = new AbortController();
    const d = newItem(view('d'), 'b3');
    stop.abort();
    const answers = await Promise.allSettled([
      desk.decide(a, new AbortController().signal, existing),
      desk.decide(b, new AbortController().signal, existing),
      desk.decide(c, new AbortController().signal, existing),
      desk.decide(d, stop.signal, existing),
    ]);
    expect(answers.slice(0, 3).map((r) => (r.status === 'fulfilled' ? r.value : r.reason))).toEqual(['skip', 'skip', 'skip']);
    expect(answers[3]!.status).toBe('rejected');
    expect(asked).toEqual(['a', 'c']);
    expect(desk.existsPolicy(newItem(view('e'), 'b1'))).toBe('skip');
    expect(desk.existsPolicy(newItem(view('f'), 'b2'))).toBe('fail');
  });
});
