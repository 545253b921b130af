/**
 * ferryd's log on stderr: one line per event, each with its timestamp. Lines are taken
 * at once and written together at the end of the current turn of the event loop, so a
 * burst (one line per file of a 2,000-file upload) costs a few writes, not one each.
 * Whatever is pending is written before the process exits.
 */
import { writeSync } from 'node:fs';

let pending: string[] = [];
let scheduled = false;
let hooked = false;

/** Write the pending lines now (synchronously when the process is exiting). */
export function flushLog(exiting = false): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join('');
  pending = [];
  if (!exiting) {
    process.stderr.write(text);
    return;
  }
  try {
    writeSync(2, text);
  } catch {
    // stderr is gone: nothing sensible to do with a log line.
  }
}

/** Log one line (a timestamp is added now). */
export function logLine(line: string): void {
  pending.push(`${new Date().toISOString()} ${line}\n`);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => flushLog(true));
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(() => flushLog());
  }
}
