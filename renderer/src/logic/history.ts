/**
 * Shell-style history on the command line: ↑ walks back from the newest command, ↓ walks
 * forward, and past the newest you are back at what you were typing (the draft).
 * `history` is oldest first.
 */

export interface HistoryCursor {
  /** Index into history, or null while editing the draft. */
  readonly index: number | null;
  /** What was typed before the walk started. */
  readonly draft: string;
}

export const FRESH_CURSOR: HistoryCursor = { index: null, draft: '' };

export function historyStep(
  history: readonly string[],
  cursor: HistoryCursor,
  current: string,
  direction: 'up' | 'down',
): { cursor: HistoryCursor; text: string } {
  if (history.length === 0) return { cursor, text: current };
  if (direction === 'up') {
    if (cursor.index === null) {
      const index = history.length - 1;
      return { cursor: { index, draft: current }, text: history[index]! };
    }
    const index = Math.max(0, cursor.index - 1);
    return { cursor: { ...cursor, index }, text: history[index]! };
  }
  if (cursor.index === null) return { cursor, text: current };
  if (cursor.index >= history.length - 1) return { cursor: { index: null, draft: '' }, text: cursor.draft };
  const index = cursor.index + 1;
  return { cursor: { ...cursor, index }, text: history[index]! };
}

/** Add a command at the newest end (an immediate repeat is kept once, as shells do). */
export function pushHistory(history: readonly string[], command: string, max = 1000): string[] {
  if (history[history.length - 1] === command) return [...history];
  const next = [...history, command];
  return next.length > max ? next.slice(next.length - max) : next;
}
