/**
 * Turning a drop or a picker into files for api.uploadFiles. Folders are walked with the
 * entry API (webkitGetAsEntry), which must be asked during the drop event itself; the
 * walk then runs asynchronously. Without entries (older browsers, odd sources) the plain
 * file list is used.
 */
import { pickedPaths, walkEntries, type EntryLike } from './logic/drop-walk.js';

export interface DroppedFiles {
  readonly files: File[];
  readonly relativePaths: string[];
  /** The drop's folders, empty ones included (a picker lists none: its files imply them). */
  readonly folders: string[];
  /** The dropped items themselves (Electron turns them into OS paths). */
  readonly roots: File[];
  readonly unreadable: string[];
}

/** Call synchronously inside the drop handler; await the result afterwards. */
export function readDrop(dataTransfer: DataTransfer): Promise<DroppedFiles> {
  const items = [...dataTransfer.items].filter((item) => item.kind === 'file');
  const entries = items.map((item) => item.webkitGetAsEntry());
  // Read now: the DataTransfer is emptied when the event ends.
  const roots = [...dataTransfer.files];
  if (entries.length > 0 && entries.every((e): e is FileSystemEntry => e !== null)) {
    // The DOM's entry types fit the shapes the walk relies on.
    return walkEntries(entries as unknown as Array<EntryLike<File>>).then((walk) => ({ ...walk, roots }));
  }
  return Promise.resolve({ files: roots, relativePaths: roots.map((f) => f.name), folders: [], roots, unreadable: [] });
}

export function readPicked(list: FileList | null): DroppedFiles {
  const files = list ? [...list] : [];
  return { files, relativePaths: pickedPaths(files), folders: [], roots: [], unreadable: [] };
}

/** The type our own drags carry (moving tree items), so OS drops and moves are told apart. */
export const TREE_DRAG_TYPE = 'application/x-ferry-paths';
