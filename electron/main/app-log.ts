/**
 * The desktop app's log: one file, ferry.log, in the app's log folder (app.getPath('logs'):
 * ~/.config/Ferry/logs on Linux, ~/Library/Logs/Ferry on macOS, %APPDATA%\Ferry\logs on
 * Windows), reachable from Help → Open Logs Folder. The engine's lines, the local
 * server's and the main process's errors go there, one timestamped line each. A file
 * over 5 MiB is moved to ferry.old.log when the app starts, so two runs' worth is kept.
 */
import { createWriteStream, mkdirSync, renameSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';

const MAX_BYTES = 5 * 1024 * 1024;

export interface AppLog {
  readonly file: string;
  write(line: string): void;
  close(): Promise<void>;
}

export function openAppLog(dir: string, echo: boolean): AppLog {
  const file = path.join(dir, 'ferry.log');
  let stream: WriteStream | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    try {
      if (statSync(file).size > MAX_BYTES) renameSync(file, path.join(dir, 'ferry.old.log'));
    } catch {
      // no log yet
    }
    stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => {
      process.stderr.write(`ferry: cannot write the log ${file}: ${err.message}\n`);
      stream = undefined;
    });
  } catch (err) {
    process.stderr.write(`ferry: cannot open the log ${file}: ${(err as Error).message}\n`);
  }
  return {
    file,
    write(line) {
      // One event, one line: a newline inside a message would forge the next entry.
      const text = `${new Date().toISOString()} ${line.replace(/\r?\n/g, '\n    ')}\n`;
      stream?.write(text);
      if (echo) process.stderr.write(`ferry: ${line}\n`);
    },
    close: () => new Promise((resolve) => (stream ? stream.end(() => resolve()) : resolve())),
  };
}
