/**
 * The saved queue: unfinished transfers (queued, running, paused, failed) of each
 * connection, kept in CONFIG_DIR/saved-queue.json so a restart can carry them on. One store
 * per app (app-stores.ts); each session's queue writes its own part (an "owner"), so two
 * windows on one server do not overwrite each other, and a session still running in this
 * process is never offered to another window as "from last time".
 */
import path from 'node:path';
import { z } from 'zod';
import type { SavedQueueOffer, SavedTransfer } from '../../../shared/common/transfer-log.js';
import { JsonFile } from '../stores/json-file.js';

const Saved = z.object({
  direction: z.enum(['upload', 'download']),
  name: z.string(),
  localPath: z.string(),
  remotePath: z.string(),
  size: z.number(),
  bytes: z.number(),
  state: z.enum(['queued', 'paused', 'failed']),
  conflict: z.enum(['overwrite', 'skip', 'rename', 'resume']).optional(),
  activeMs: z.number().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

const Part = z.object({ savedAt: z.number(), transfers: z.array(Saved), leftOut: z.number() });
const File = z.object({ version: z.literal(1), connections: z.record(z.string(), z.record(z.string(), Part)) });
type File = z.infer<typeof File>;
export type SavedPart = z.infer<typeof Part>;

export class SavedQueues {
  private readonly file: JsonFile<File>;
  /** Owners whose session runs in this process now: theirs is not "from last time". */
  private readonly live = new Set<string>();

  constructor(configDir: string, log?: (line: string) => void) {
    this.file = new JsonFile(path.join(configDir, 'saved-queue.json'), File, () => ({ version: 1, connections: {} }), log);
  }

  /** A session's queue starts saving under `owner`. */
  open(owner: string): void {
    this.live.add(owner);
  }

  /** That session ended (its last save is kept). */
  close(owner: string): void {
    this.live.delete(owner);
  }

  /** Replace what `owner` saved for connection `key` (nothing to save: its part is removed). */
  save(key: string, owner: string, part: SavedPart): Promise<void> {
    return this.file.update((value) => {
      const parts = { ...value.connections[key] };
      if (part.transfers.length === 0 && part.leftOut === 0) delete parts[owner];
      else parts[owner] = part;
      const connections = { ...value.connections };
      if (Object.keys(parts).length === 0) delete connections[key];
      else connections[key] = parts;
      return { value: { ...value, connections }, result: undefined };
    });
  }

  /** What is offered for connection `key`: the parts of sessions that are not running now. */
  async offer(key: string): Promise<SavedQueueOffer | null> {
    const parts = this.gone((await this.file.read()).connections[key]);
    return parts.length === 0 ? null : merge(parts);
  }

  /** Take the offer away (to restore it, or to forget it): what it held. */
  take(key: string): Promise<SavedQueueOffer | null> {
    return this.file.update((value) => {
      const all = value.connections[key] ?? {};
      const kept: Record<string, SavedPart> = {};
      const taken: SavedPart[] = [];
      for (const [owner, part] of Object.entries(all)) {
        if (this.live.has(owner)) kept[owner] = part;
        else taken.push(part);
      }
      const connections = { ...value.connections };
      if (Object.keys(kept).length === 0) delete connections[key];
      else connections[key] = kept;
      return { value: { ...value, connections }, result: taken.length === 0 ? null : merge(taken) };
    });
  }

  private gone(parts: Record<string, SavedPart> | undefined): SavedPart[] {
    return Object.entries(parts ?? {}).flatMap(([owner, part]) => (this.live.has(owner) ? [] : [part]));
  }
}

function merge(parts: readonly SavedPart[]): SavedQueueOffer {
  const transfers: SavedTransfer[] = [];
  // The same file saved twice (two windows, or saved again before a restore) is offered once.
  const seen = new Set<string>();
  for (const part of [...parts].sort((a, b) => b.savedAt - a.savedAt)) {
    for (const t of part.transfers) {
      const id = `${t.direction}\0${t.localPath}\0${t.remotePath}`;
      if (seen.has(id)) continue;
      seen.add(id);
      transfers.push(t);
    }
  }
  return {
    transfers,
    savedAt: Math.max(...parts.map((p) => p.savedAt)),
    leftOut: parts.reduce((n, p) => n + p.leftOut, 0),
  };
}
