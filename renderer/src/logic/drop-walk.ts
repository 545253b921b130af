/**
 * What a drop from the OS contains, as files with their path inside what was dropped
 * ('photos/2024/a.jpg'). The browser's entry API is callback-based and hands out folder
 * contents in batches, so a folder is read until a batch comes back empty. The types are
 * the shapes this code relies on (the DOM's FileSystemEntry family fits them), which keeps
 * the walk testable without a browser.
 */

export interface WalkFile {
  readonly name: string;
  readonly size: number;
}

export interface FileEntryLike<F extends WalkFile> {
  readonly isFile: true;
  readonly isDirectory: false;
  readonly name: string;
  file(success: (file: F) => void, error?: (err: unknown) => void): void;
}

export interface DirectoryReaderLike<F extends WalkFile> {
  readEntries(success: (entries: Array<EntryLike<F>>) => void, error?: (err: unknown) => void): void;
}

export interface DirectoryEntryLike<F extends WalkFile> {
  readonly isFile: false;
  readonly isDirectory: true;
  readonly name: string;
  createReader(): DirectoryReaderLike<F>;
}

export type EntryLike<F extends WalkFile> = FileEntryLike<F> | DirectoryEntryLike<F>;

export interface WalkResult<F> {
  readonly files: F[];
  readonly relativePaths: string[];
  /** Every folder walked (relative paths), empty ones included, parents before children. */
  readonly folders: string[];
  /** Entries that could not be read (permissions, vanished files): their paths. */
  readonly unreadable: string[];
}

const fileOf = <F extends WalkFile>(entry: FileEntryLike<F>): Promise<F> =>
  new Promise((resolve, reject) => entry.file(resolve, reject));

const batchOf = <F extends WalkFile>(reader: DirectoryReaderLike<F>): Promise<Array<EntryLike<F>>> =>
  new Promise((resolve, reject) => reader.readEntries(resolve, reject));

/** All files under the dropped entries, depth first, in the order the browser gives them. */
export async function walkEntries<F extends WalkFile>(entries: ReadonlyArray<EntryLike<F>>): Promise<WalkResult<F>> {
  const result: WalkResult<F> = { files: [], relativePaths: [], folders: [], unreadable: [] };
  const visit = async (entry: EntryLike<F>, prefix: string): Promise<void> => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isFile) {
      try {
        result.files.push(await fileOf(entry));
        result.relativePaths.push(path);
      } catch {
        result.unreadable.push(path);
      }
      return;
    }
    result.folders.push(path);
    const reader = entry.createReader();
    for (;;) {
      let batch: Array<EntryLike<F>>;
      try {
        batch = await batchOf(reader);
      } catch {
        result.unreadable.push(path);
        return;
      }
      if (batch.length === 0) return;
      for (const child of batch) await visit(child, path);
    }
  };
  for (const entry of entries) await visit(entry, '');
  return result;
}

/** Files from a picker: a folder picker fills webkitRelativePath ('folder/sub/a.txt'). */
export function pickedPaths(files: ReadonlyArray<WalkFile & { readonly webkitRelativePath?: string }>): string[] {
  return files.map((f) => (f.webkitRelativePath ? f.webkitRelativePath : f.name));
}
