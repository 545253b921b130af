/**
 * What a browser page may not ask of the engine that the desktop app's window may. The
 * page is driven by whoever holds its session, so it gets no say over the host's own
 * files outside the folder the host was started with (its download folder): it may list
 * (the local pane), upload by path, download into, sync and move the download folder only
 * inside it, checked on the real path (a link out of it is out); anything else it uploads
 * is what its person dropped or picked (streamed into the spool, see upload-spool.ts).
 * An SFTP key file it names must be in the host's ~/.ssh (where OpenSSH keeps keys), not
 * any file the host can read.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../shared/common/errors.js';

export interface PageLimits {
  /** The folder downloads must stay inside. */
  readonly downloadRoot: string;
  /** The home whose .ssh folder key files must be in (what `~/` means in one). */
  readonly sshHome: string;
}

/** Why the page may not make this call, or undefined when it may (the engine then checks the arguments). */
export function pageRefusal(name: string, args: unknown, limits: PageLimits): FerryError | undefined {
  const { downloadRoot, sshHome } = limits;
  const list = Array.isArray(args) ? (args as unknown[]) : [];
  if (name === 'transfers:uploadPaths') {
    const paths = Array.isArray(list[0]) ? (list[0] as unknown[]) : [];
    if (!paths.every((p) => typeof p === 'string' && realInside(p, downloadRoot))) {
      return new FerryError(
        'EACCES',
        `In browser mode a page may upload by path only files inside ${downloadRoot} (the local pane's folder): drop other files on the window or use Upload files… (their bytes then travel through the page).`,
      );
    }
  }
  if (name === 'local:list' && typeof list[0] === 'string' && !realInside(list[0], downloadRoot)) {
    return new FerryError('EACCES', `In browser mode the local pane shows only ${downloadRoot} and the folders inside it (the folder Ferry's web host was started with).`);
  }
  if (name === 'transfers:download' && typeof list[1] === 'string' && !realInside(list[1], downloadRoot)) {
    return new FerryError('EACCES', `In browser mode downloads stay inside ${downloadRoot}: drop them on a folder in it.`);
  }
  if (name === 'sync:plan') {
    const localRoot = Array.isArray(args) ? (args[0] as { localRoot?: unknown } | undefined)?.localRoot : undefined;
    if (typeof localRoot === 'string' && !(path.isAbsolute(localRoot) && isInside(path.resolve(localRoot), downloadRoot))) {
      return new FerryError('EACCES', `In browser mode a synced folder stays inside ${downloadRoot} (as downloads do): choose a folder in it.`);
    }
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
  if (name === 'session:connect' || name === 'profiles:save') {
    const identityFile = Array.isArray(args) ? (args[0] as { identityFile?: unknown } | undefined)?.identityFile : undefined;
    if (typeof identityFile === 'string') {
      const sshDir = path.join(sshHome, '.ssh');
      const file = identityFile.startsWith('~/') ? path.join(sshHome, identityFile.slice(2)) : identityFile;
      // A relative path is the engine's to refuse (EINVAL), with its own message.
      if (path.isAbsolute(file) && !isInside(path.resolve(file), sshDir)) {
        return new FerryError('EACCES', `In browser mode a key file must be in ${sshDir} (it was ${identityFile}): copy the key there, or use ssh-agent.`);
      }
    }
  }
  return undefined;
}

/**
 * Is `candidate` (absolute) inside `root` once links are resolved? The longest part of it
 * that exists is resolved (a folder to be made is judged by where it would be made).
 */
function realInside(candidate: string, root: string): boolean {
  if (!path.isAbsolute(candidate)) return false;
  const realRoot = realOrSelf(root);
  let existing = path.resolve(candidate);
  let rest = '';
  for (;;) {
    try {
      return isInside(path.join(realpathSync(existing), rest), realRoot);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return false;
      rest = path.join(path.basename(existing), rest);
      existing = parent;
    }
  }
}

function realOrSelf(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** Is `candidate` the folder `root` or inside it (both absolute; no symlinks are followed)? */
function isInside(candidate: string, root: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}
