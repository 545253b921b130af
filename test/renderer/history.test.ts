import { describe, expect, it } from 'vitest';
import { FRESH_CURSOR, historyStep, pushHistory } from '../../renderer/src/logic/history.js';

describe('command history', () => {
  const history = ['ls', 'pwd', 'du -sh .'];

  it('walks back from the newest, forward again, and returns to the draft', () => {
    let step = historyStep(history, FRESH_CURSOR, 'ech', 'up');
    expect(step.text).toBe('du -sh .');
    step = historyStep(history, step.cursor, step.text, 'up');
    expect(step.text).toBe('pwd');
    step = historyStep(history, step.cursor, step.text, 'up');
    step = historyStep(history, step.cursor, step.text, 'up');
    expect(step.text).toBe('ls');
    step = historyStep(history, step.cursor, step.text, 'down');
    expect(step.text).toBe('pwd');
    step = historyStep(history, step.cursor, step.text, 'down');
    step = historyStep(history, step.cursor, step.text, 'down');
    expect(step.text).toBe('ech');
    expect(step.cursor.index).toBeNull();
    expect(historyStep(history, step.cursor, 'ech', 'down').text).toBe('ech');
  });

  it('does nothing without history', () => {
    expect(historyStep([], FRESH_CURSOR, 'x', 'up').text).toBe('x');
  });

  it('keeps an immediate repeat once and is bounded', () => {
    expect(pushHistory(['a', 'b'], 'b')).toEqual(['a', 'b']);
    expect(pushHistory(['a', 'b'], 'a')).toEqual(['a', 'b', 'a']);
    expect(pushHistory(['a', 'b', 'c'], 'd', 3)).toEqual(['b', 'c', 'd']);
  });
});
