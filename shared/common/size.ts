/** Human sizes: parse "10GiB"/"512 MiB"/"1000" and print bytes the way people read them. */
import { FerryError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  K: 1024,
  KB: 1000,
  KIB: 1024,
  M: 1024 ** 2,
  MB: 1000 ** 2,
  MIB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1000 ** 3,
  GIB: 1024 ** 3,
  T: 1024 ** 4,
  TB: 1000 ** 4,
  TIB: 1024 ** 4,
};

export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2]!.toUpperCase()] : undefined;
  if (!match || unit === undefined) {
    throw new FerryError('EINVAL', `"${text}" is not a size (use bytes or KiB, MiB, GiB, TiB)`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new FerryError('EINVAL', `"${text}" is too large`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes / 1024;
  let i = 0;
  // Move up a unit when the printed number would round to 1024 ("1.0 MiB", not "1024 KiB").
  while (value >= 1023.5 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value >= 99.95 ? value.toFixed(0) : value.toFixed(1)} ${units[i]}`;
}
