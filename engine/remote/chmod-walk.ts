/**
 * A recursive chmod walked by the engine, for a transport whose server cannot do it
 * itself (SFTP): each folder's contents before the folder (a mode without the owner's r
 * or x must not lock the walk out), links skipped and never followed, a bounded number of
 * entries (ETOOBIG past it), and a stop between entries (ECANCELED).
 */
import { FerryError } from '../../shared/common/errors.js';
import type { Entry } from '../../shared/common/messages.js';

/** The most entries one recursive chmod changes (as a ferryd account's default entry limit). */
export const CHMOD_WALK_MAX = 1_000_000;

export interface ChmodWalker {
  list(folder: string): Promise<{ entries: Entry[] }>;
  setMode(path: string, mode: number): Promise<void>;
  join(folder: string, name: string): string;
}

/** Change `folder` and everything below it; resolves with how many entries changed. */
export async function chmodTree(walker: ChmodWalker, folder: string, mode: number, signal?: AbortSignal, max = CHMOD_WALK_MAX): Promise<number> {
  let changed = 0;
  let visited = 0;
  const stopIfAsked = (): void => {
    if (signal?.aborted) throw new FerryError('ECANCELED', 'The chmod was cancelled: the entries changed so far keep their new mode.');
  };
  const walk = async (dir: string): Promise<void> => {
    const { entries } = await walker.list(dir);
    for (const entry of entries) {
      stopIfAsked();
      if (++visited > max) {
        throw new FerryError('ETOOBIG', `More than ${max.toLocaleString('en')} entries: the chmod stopped (the entries changed so far keep their new mode).`, { maxEntries: max });
      }
      if (entry.type === 'symlink') continue;
      const child = walker.join(dir, entry.name);
      if (entry.type === 'dir') await walk(child);
      else {
        await walker.setMode(child, mode);
        changed++;
      }
    }
    stopIfAsked();
    await walker.setMode(dir, mode);
    changed++;
  };
  await walk(folder);
  return changed;
}
