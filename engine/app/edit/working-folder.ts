/**
 * The private working folder of edit in place: one folder (0700) per edited file, holding
 * the working copy the editor writes, a snapshot of it while a save uploads, and the
 * server's copy when the person asks to compare. Also the watcher that sees an editor's
 * saves: it watches the FOLDER, so a save that writes a temporary file and renames it over
 * the working copy (vim, many IDEs) is seen like one written in place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, watch, type FSWatcher } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../../shared/common/errors.js';
import { EDIT_TEXT_MAX } from '../../../shared/common/edit-model.js';
import { createCheckHash } from '../../../shared/node/checksums.js';
import { assertSafeName } from '../../queue/local-files.js';

/**
 * A local file's content as the server may describe it: its SHA-256 and its XXH3-128
 * (whichever the server gives is compared), and its size.
 */
export interface LocalContent {
  readonly sha256: string;
  readonly xxh128: string;
  readonly size: number;
}

/** Both digests and the size of a local file, read once as a stream (memory does not grow with the file). */
export async function hashFile(file: string): Promise<LocalContent> {
  const hash = createHash('sha256');
  const xxh = createCheckHash('xxh128', 0);
  let size = 0;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      await xxh.update(chunk);
      size += chunk.length;
    }
    return { sha256: hash.digest('hex'), xxh128: await xxh.digest(), size };
  } finally {
    xxh.dispose();
  }
}

/** One edited file's folder. */
export class EditFolder {
  /** The working copy: the file the editor opens and writes. */
  readonly workingCopy: string;
  /** What a save uploads: a copy taken when it starts, so an editor writing meanwhile cannot tear it. */
  readonly snapshot: string;
  /** The server's file, fetched by "download theirs to compare". */
  readonly theirs: string;

  private constructor(
    readonly dir: string,
    name: string,
  ) {
    this.workingCopy = path.join(dir, 'edit', name);
    this.snapshot = path.join(dir, 'saving');
    this.theirs = path.join(dir, 'theirs', name);
  }

  /** A new folder under `root` (made 0700 if missing) for a remote file called `name`. */
  static async create(root: string, name: string): Promise<EditFolder> {
    assertSafeName(name);
    await mkdir(root, { recursive: true, mode: 0o700 });
    await chmod(root, 0o700); // also when it was made before, or by someone else's umask
    const dir = path.join(root, randomBytes(8).toString('hex'));
    const folder = new EditFolder(dir, name);
    await mkdir(path.dirname(folder.workingCopy), { recursive: true, mode: 0o700 });
    await mkdir(path.dirname(folder.theirs), { recursive: true, mode: 0o700 });
    return folder;
  }

  /** Copy the working copy aside for a save; its hash and size. */
  async takeSnapshot(): Promise<LocalContent> {
    await copyFile(this.workingCopy, this.snapshot);
    return hashFile(this.snapshot);
  }

  /** The working copy as text for the built-in editor: refused when it is not UTF-8 text or too big. */
  async readText(file = this.workingCopy): Promise<string> {
    return decodeText(await readFile(file), path.basename(file));
  }

  /** Replace the working copy's content (the built-in editor's save), in place as most editors do. */
  async writeText(text: string): Promise<void> {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > EDIT_TEXT_MAX) throw tooBig(path.basename(this.workingCopy), bytes.length);
    await writeFile(this.workingCopy, bytes);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Call `onChange` once the working copy was written and left alone for `debounceMs`.
   * Names other than the working copy's (an editor's swap and backup files) are ignored.
   */
  watch(debounceMs: number, onChange: () => void): () => void {
    const name = path.basename(this.workingCopy);
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined = watch(path.dirname(this.workingCopy), { persistent: false }, (_event, file) => {
      if (file !== null && file.toString() !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    });
    watcher.on('error', () => undefined);
    return () => {
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
    };
  }
}

function tooBig(name: string, size: number): FerryError {
  return new FerryError('ETOOBIG', `${name} is bigger than the built-in editor opens (${size} bytes; at most ${EDIT_TEXT_MAX}).`, {
    size,
    max: EDIT_TEXT_MAX,
  });
}

/** UTF-8 text without NUL bytes, or an EINVAL that says why (the system's app may open it). */
export function decodeText(bytes: Buffer, name: string): string {
  if (bytes.length > EDIT_TEXT_MAX) throw tooBig(name, bytes.length);
  if (bytes.includes(0)) throw new FerryError('EINVAL', `${name} is not a text file (it holds NUL bytes).`, { reason: 'binary' });
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new FerryError('EINVAL', `${name} is not UTF-8 text.`, { reason: 'binary' });
  }
}
