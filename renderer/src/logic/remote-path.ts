/**
 * Remote paths as the engine gives them: '/'-separated and absolute. Over Ferry's protocol
 * '/' is the user's home; over SFTP paths are the server's own and the home is a folder
 * in them (the session's `home`). Pure string work (the server does the real normalising).
 */
import { i18n } from '../i18n/i18n.js';

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

export function parentPath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  return i <= 0 ? '/' : trimmed.slice(0, i);
}

export function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/** True when `path` is `folder` itself or somewhere below it. */
export function isInside(folder: string, path: string): boolean {
  if (folder === '/') return path.startsWith('/');
  return path === folder || path.startsWith(`${folder}/`);
}

/** How a folder is named to people: the session's home is "Home". */
export function displayPath(path: string, home = '/'): string {
  return path === home ? i18n.t('tree:home') : path;
}

export interface Crumb {
  readonly name: string;
  readonly path: string;
}

/**
 * '/a/b' → Home, a, b (each with the path it leads to). Inside the home the crumbs start
 * at Home; outside it (an SFTP session can leave its home) at the root, '/'.
 */
export function crumbs(path: string, home = '/'): Crumb[] {
  const inHome = isInside(home, path);
  const out: Crumb[] = [inHome ? { name: i18n.t('tree:home'), path: home } : { name: '/', path: '/' }];
  let at = inHome && home !== '/' ? home : '';
  for (const part of (inHome ? path.slice(at.length) : path).split('/')) {
    if (part === '') continue;
    at = `${at}/${part}`;
    out.push({ name: part, path: at });
  }
  return out;
}

/** Why a name typed by a person cannot be a file name, or null when it can. */
export function invalidName(name: string): string | null {
  if (name.trim() === '') return i18n.t('tree:name.empty');
  if (name === '.' || name === '..') return i18n.t('tree:name.reserved');
  if (name.includes('/') || name.includes('\\')) return i18n.t('tree:name.slash');
  if (/[\u0000-\u001f\u007f]/.test(name)) return i18n.t('tree:name.control');
  if (name.length > 255) return i18n.t('tree:name.tooLong');

  return null;
}
