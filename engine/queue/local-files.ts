/**
 * The local side of transfers. The server is untrusted: every name that arrives in a
 * listing is checked before it becomes a local path, and nothing is written through a
 * local symlink that leads out of the folder the user chose.
 */
import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, toFerryError } from '../../shared/common/errors.js';

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** Throw ENAME unless `name` is one plain file name, safe on every OS we run on. */
export function assertSafeName(name: string): void {
  const why =
    name.length === 0
      ? 'it is empty'
      : name === '.' || name === '..'
        ? 'it names a folder above'
        : /[/\\]/.test(name)
          ? 'it contains a path separator'
          : /[\u0000-\u001f\u007f-\u009f]/.test(name) // C0, DEL and C1 (e.g. CSI) controls
            ? 'it contains control characters'
            : /^[a-zA-Z]:/.test(name)
              ? 'it looks like a drive path'
              : WINDOWS_RESERVED.test(name)
                ? 'it is a reserved device name on Windows'
                : process.platform === 'win32' && /[<>:"|?*]|[. ]$/.test(name)
                  ? 'it is not a valid Windows file name'
                  : Buffer.byteLength(name) > 255
                    ? 'it is longer than 255 bytes'
                    : null;
  if (why !== null) {
    throw new FerryError('ENAME', `refusing the name "${name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 80)}" from the server: ${why}`);
  }
}

/**
 * Resolve `relative` (a '/'-separated path of names from the server) under `root` and make
 * sure that neither the result nor any existing folder on the way is a symlink leading
 * out of root. Returns the absolute local path.
 */
export async function safeLocalPath(root: string, relative: string): Promise<string> {
  return (await safeLocalFolder(root, relative)).path;
}

/** safeLocalPath(), also returning realpath(root) for checking the folder's children. */
export async function safeLocalFolder(root: string, relative: string): Promise<{ path: string; realRoot: string }> {
  const names = relative.split('/').filter((n) => n.length > 0);
  for (const name of names) assertSafeName(name);
  const realRoot = await realpath(root);
  let current = realRoot;
  for (const name of names) {
    current = path.join(current, name);
    let info;
    try {
      info = await lstat(current);
    } catch {
      break; // does not exist yet: nothing below it can be a link
    }
    if (info.isSymbolicLink()) await assertLinkInside(realRoot, root, current);
  }
  return { path: path.join(realRoot, ...names), realRoot };
}

async function assertLinkInside(realRoot: string, root: string, link: string): Promise<void> {
  const target = await realpath(link).catch(() => null);
  if (target === null || !isInside(realRoot, target)) {
    throw new FerryError('EACCES', `refusing to write through the symlink ${link}: it leads outside ${root}`);
  }
}

/**
 * The local paths of `names` (each already checked with assertSafeName) inside `dir`, a
 * folder that safeLocalFolder() returned: the same checks as safeLocalPath() for each,
 * with one readdir for the whole folder instead of a realpath and an lstat per component
 * and name (only names that exist as links need a look at where they lead).
 */
export async function safeChildPaths(dir: string, realRoot: string, root: string, names: readonly string[]): Promise<string[]> {
  const links = new Set<string>();
  try {
    for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isSymbolicLink()) links.add(entry.name);
  } catch (err) {
    // Not there yet: nothing in it can be a link. Anything else (EACCES…) is the caller's to hear.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw toFerryError(err);
  }
  const out: string[] = [];
  for (const name of names) {
    const child = path.join(dir, name);
    if (links.has(name)) await assertLinkInside(realRoot, root, child);
    out.push(child);
  }
  return out;
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Where an unfinished download is kept next to its destination. */
export function partialPathFor(destination: string): string {
  // The same as path.join(dirname, `.${basename}.ferry-part`) for the normalised absolute
  // paths the queue uses, without the work (it runs for every file of a folder).
  const slash = Math.max(destination.lastIndexOf('/'), path.sep === '\\' ? destination.lastIndexOf('\\') : -1);
  const name = destination.slice(slash + 1);
  const plain = !destination.includes('//') && !destination.includes('/.') && !destination.includes('\\');
  if (plain && slash > 0 && name !== '' && name !== '.' && name !== '..' && path.isAbsolute(destination)) {
    return `${destination.slice(0, slash + 1)}.${name}.ferry-part`;
  }
  return path.join(path.dirname(destination), `.${path.basename(destination)}.ferry-part`);
}

/**
 * A transfer's unfinished file, not the person's: a download's `.NAME.ferry-part` (above),
 * or an SFTP upload's `.NAME.TAG.ferry-part` (sftp-lane.ts). Folder sync leaves them out.
 */
export function isTransferPartial(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.ferry-part');
}

/** 'a/b' joined as a remote path ('/' separated, no doubled slashes). */
export function joinRemote(dir: string, name: string): string {
  if (name.startsWith('/')) return name;
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

export function remoteBasename(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}
