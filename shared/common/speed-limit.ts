/**
 * Speed limits as every front end spells them: bytes per second, 0 for none, and the
 * curl-style text the CLI takes (`--limit-rate 500K`).
 */
import { FerryError } from './errors.js';

/** The highest limit accepted (1 TiB/s: anything above is no limit in practice). */
export const SPEED_LIMIT_MAX = 1024 ** 4;

/** curl's suffixes for --limit-rate: powers of 1024, either case. */
const RATE_SUFFIXES: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * "500K", "2M", "1.5G", "100000" → bytes per second (curl's --limit-rate: a number with
 * an optional K, M or G suffix, powers of 1024). "0" means no limit.
 */
export function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!match) throw new FerryError('EINVAL', `"${text}" is not a rate: give bytes per second, optionally with K, M or G (e.g. 500K, 2M)`);
  const bytes = Math.floor(Number(match[1]) * RATE_SUFFIXES[match[2]!.toUpperCase()]!);
  if (bytes > SPEED_LIMIT_MAX) throw new FerryError('EINVAL', `"${text}" is above the highest limit (1024G)`);
  if (bytes === 0 && Number(match[1]) !== 0) throw new FerryError('EINVAL', `"${text}" is less than one byte per second`);
  return bytes;
}
