/**
 * The console's command history (history.json in the config folder), one list per
 * connection (a profile, or user@host:port), newest last, capped, with consecutive
 * repeats collapsed like a shell's ignoredups.
 */
import path from 'node:path';
import { z } from 'zod';
import { JsonFile } from '../stores/json-file.js';

export const HISTORY_LIMIT = 500;
/** Connections whose history is kept; the least recently used ones are dropped first. */
const KEY_LIMIT = 200;

const HistoryFile = z.object({
  version: z.literal(1),
  /** Insertion order is recency: a key is moved to the end when it is used. */
  entries: z.record(z.string().max(400), z.array(z.string().max(4096)).max(HISTORY_LIMIT * 2)),
});
type HistoryFile = z.infer<typeof HistoryFile>;

export class ConsoleHistory {
  private readonly file: JsonFile<HistoryFile>;

  constructor(
    configDir: string,
    log?: (line: string) => void,
    private readonly limit = HISTORY_LIMIT,
  ) {
    this.file = new JsonFile(path.join(configDir, 'history.json'), HistoryFile, () => ({ version: 1, entries: {} }), log);
  }

  async get(key: string): Promise<string[]> {
    const data = await this.file.read();
    return Object.hasOwn(data.entries, key) ? (data.entries[key] ?? []).slice(-this.limit) : [];
  }

  add(key: string, command: string): Promise<void> {
    const line = command.replace(/\s+$/, '');
    if (line.trim() === '') return Promise.resolve();
    return this.file.update((data) => {
      const list = Object.hasOwn(data.entries, key) ? [...(data.entries[key] ?? [])] : [];
      if (list[list.length - 1] !== line) list.push(line);
      const entries: Record<string, string[]> = {};
      const others = Object.entries(data.entries).filter(([k]) => k !== key);
      for (const [k, v] of others.slice(-(KEY_LIMIT - 1))) entries[k] = v;
      entries[key] = list.slice(-this.limit);
      return { value: { version: 1, entries }, result: undefined };
    });
  }
}
