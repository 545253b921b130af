/**
 * What a browser page may not ask of the engine that the desktop app's window may. The
 * page is driven by whoever holds its session, so it gets no say over the host's own
 * files: it uploads only what its person dropped or picked (streamed into the spool, see
 * upload-spool.ts), never an OS path, and it may move the download folder only inside the
 * folder the host was started with.
 */
import path from 'node:path';
import { FerryError } from '../shared/common/errors.js';

/** Why the page may not make this call, or undefined when it may (the engine then checks the arguments). */
export function pageRefusal(name: string, args: unknown, downloadRoot: string): FerryError | undefined {
  if (name === 'transfers:uploadPaths') {
    return new FerryError(
      'EACCES',
      'In browser mode a page cannot upload files by their path on this computer: drop them on the window or use Upload files… (their bytes then travel through the page).',
    );
  }
  if (name === 'settings:set') {
    const downloadDir = Array.isArray(args) ? (args[0] as { downloadDir?: unknown } | undefined)?.downloadDir : undefined;
    // A relative folder is the engine's to refuse (EINVAL), with its own message.
    if (typeof downloadDir === 'string' && path.isAbsolute(downloadDir) && !isInside(path.resolve(downloadDir), downloadRoot)) {
      return new FerryError(
        'EACCES',
        `In browser mode downloads stay inside ${downloadRoot}: choose a folder in it, or start Ferry with --download-dir DIR.`,
      );
    }
  }
  return undefined;
}

/** Is `candidate` the folder `root` or inside it (both absolute; no symlinks are followed)? */
function isInside(candidate: string, root: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}
