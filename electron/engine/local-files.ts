/**
 * The local side of transfers. The server is untrusted: every name that arrives in a
 * listing is checked before it becomes a local path, and nothing is written through a
 * local symlink that leads out of the folder the user chose.
 */
import { realpath, lstat } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../shared/common/errors.js';

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
    if (info.isSymbolicLink()) {
      const target = await realpath(current).catch(() => null);
      if (target === null || !isInside(realRoot, target)) {
        throw new FerryError('EACCES', `refusing to write through the symlink ${current}: it leads outside ${root}`);
      }
    }
  }
  return path.join(realRoot, ...names);
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Where an unfinished download is kept next to its destination. */
export function partialPathFor(destination: string): string {
  return path.join(path.dirname(destination), `.${path.basename(destination)}.ferry-part`);
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
