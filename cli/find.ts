/**
 * `ferry find PATH PATTERN`: names matching a pattern anywhere below a folder, printed as
 * they are found (over Ferry the server searches, over SFTP the engine walks). A search
 * stopped by a bound says so on stderr; Ctrl+C stops it.
 */
import type { SearchBound } from '../shared/common/search-model.js';
import { connect, type Context } from './connect.js';
import { printable } from './terminal-text.js';

export interface FindOptions {
  readonly json: boolean;
  readonly caseSensitive: boolean;
  readonly maxResults: number | undefined;
}

const BOUND_NOTE: Record<SearchBound, (found: number) => string> = {
  results: (found) => `stopped after the first ${found.toLocaleString('en')} results (--max raises it, up to 10,000)`,
  visited: () => 'stopped after looking at 1,000,000 entries: search a folder further down',
  time: () => 'stopped after 60 s: search a folder further down',
};

/** Write and wait while the pipe is full: a slow reader slows the search. */
function print(line: string): Promise<void> | undefined {
  if (!process.stdout.write(line)) return new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
  return undefined;
}

export async function findCommand(ctx: Context, folder: string, pattern: string, options: FindOptions): Promise<number> {
  const session = await connect(ctx);
  let found = 0;
  let truncated: SearchBound | undefined;
  try {
    const request = { signal: ctx.signal, caseSensitive: options.caseSensitive, maxResults: options.maxResults };
    for await (const batch of session.search(folder, pattern, request)) {
      for (const { path, entry } of batch.hits) {
        const line = options.json
          ? `${JSON.stringify({ path, type: entry.type, size: entry.size, mtime: entry.mtime })}\n`
          : `${printable(path)}${entry.type === 'dir' ? '/' : ''}\n`;
        await print(line);
      }
      found += batch.hits.length;
      truncated ??= batch.truncated;
    }
  } finally {
    session.close();
  }
  if (truncated) process.stderr.write(`ferry: ${BOUND_NOTE[truncated](found)}\n`);
  return 0;
}
