/**
 * What a browser page may not ask of the engine that the desktop app's window may. The
 * page is driven by whoever holds its session, so it gets no say over the host's own
 * files: it uploads only what its person dropped or picked (streamed into the spool, see
 * upload-spool.ts), never an OS path, it may move the download folder (and sync a local
 * folder) only inside the folder the host was started with, and an SFTP key file it names must be in the host's
 * ~/.ssh (where OpenSSH keeps keys), not any file the host can read.
 */
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
  if (name === 'transfers:uploadPaths') {
    return new FerryError(
      'EACCES',
      'In browser mode a page cannot upload files by their path on this computer: drop them on the window or use Upload files… (their bytes then travel through the page).',
    );
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

/** Is `candidate` the folder `root` or inside it (both absolute; no symlinks are followed)? */
function isInside(candidate: string, root: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}
