/**
 * The transitions of an edited file (engine/app/edit/edit-state.ts): when a save starts,
 * and that no event but the person's answer ends a conflict or a failure.
 */
import { describe, expect, it } from 'vitest';
import type { EditState } from '../../shared/common/edit-model.js';
import { transition, type EditEvent } from '../../engine/app/edit/edit-state.js';

const quota = { code: 'EQUOTA', message: 'Not enough quota left.' } as const;

function run(start: EditState, events: readonly EditEvent[]): { state: EditState; saves: number } {
  let state = start;
  let saves = 0;
  for (const event of events) {
    const step = transition(state, event);
    state = step.state;
    if (step.save) saves++;
  }
  return { state, saves };
}

describe('an edited file’s state', () => {
  it('saves a change, and a change made during a save once more after it', () => {
    expect(run({ kind: 'opening' }, [{ kind: 'opened' }])).toEqual({ state: { kind: 'saved' }, saves: 0 });
    expect(run({ kind: 'saved' }, [{ kind: 'changed' }, { kind: 'changed' }, { kind: 'saved' }, { kind: 'saved' }])).toEqual({
      state: { kind: 'saved' },
      saves: 2,
    });
  });

  it('waits without the connection and saves when it returns', () => {
    expect(run({ kind: 'saved' }, [{ kind: 'changed' }, { kind: 'offline' }, { kind: 'changed' }])).toEqual({ state: { kind: 'waiting' }, saves: 1 });
    expect(run({ kind: 'waiting' }, [{ kind: 'online' }, { kind: 'saved' }])).toEqual({ state: { kind: 'saved' }, saves: 1 });
  });

  it('keeps a failure until a retry or a new save, and a conflict until the person answers', () => {
    const failed = run({ kind: 'saved' }, [{ kind: 'changed' }, { kind: 'failed', error: quota }, { kind: 'online' }]);
    expect(failed).toEqual({ state: { kind: 'failed', error: quota }, saves: 1 });
    expect(run(failed.state, [{ kind: 'retry' }]).saves).toBe(1);
    expect(run(failed.state, [{ kind: 'changed' }]).saves).toBe(1);

    const conflict = run({ kind: 'saving', again: false }, [{ kind: 'conflict', theirs: { size: 3, mtime: 1 } }, { kind: 'changed' }, { kind: 'online' }]);
    expect(conflict).toEqual({ state: { kind: 'conflict', theirs: { size: 3, mtime: 1 } }, saves: 0 });
    expect(run(conflict.state, [{ kind: 'compared', theirsCopy: '/w/theirs' }])).toEqual({
      state: { kind: 'conflict', theirs: { size: 3, mtime: 1 }, theirsCopy: '/w/theirs' },
      saves: 0,
    });
    expect(run(conflict.state, [{ kind: 'retry' }])).toEqual({ state: { kind: 'saving', again: false }, saves: 1 });
  });
});
