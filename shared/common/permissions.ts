/**
 * Permission bits as Ferry shows and takes them: `rwxr-xr-x` and octal text, and the one
 * rule for what a chmod may set (rwx for owner, group and others; never setuid, setgid
 * or sticky). Used by ferryd, the engine, the CLI and the renderer alike.
 */
import { FerryError } from './errors.js';

/** The most a chmod may set: rwx for owner, group and others (a larger mode is EINVAL). */
export const CHMOD_MODE_MAX = 0o777;

/** `mode` if a chmod may set it, else EINVAL. */
export function checkChmodMode(mode: number): number {
  if (!Number.isSafeInteger(mode) || mode < 0 || mode > CHMOD_MODE_MAX) {
    const shown = Number.isSafeInteger(mode) && mode >= 0 ? mode.toString(8) : String(mode);
    throw new FerryError('EINVAL', `Invalid mode ${shown}: give rwx bits for owner, group and others (octal, at most 777).`);
  }
  return mode;
}

/** Octal text of 1 to 4 digits ('755', '0644') as a chmod mode, or null when it is not one. */
export function parseOctalMode(text: string): number | null {
  const t = text.trim();
  if (!/^[0-7]{1,4}$/.test(t)) return null;
  const mode = parseInt(t, 8);
  return mode <= CHMOD_MODE_MAX ? mode : null;
}

/** The rwx bits as four octal digits: 0o755 → '0755'. */
export function octalText(mode: number): string {
  return (mode & CHMOD_MODE_MAX).toString(8).padStart(4, '0');
}

/** The rwx bits as `ls -l` shows them (without the type): 0o755 → 'rwxr-xr-x'. */
export function permissionText(mode: number): string {
  let out = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    out += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return out;
}
