/**
 * The one definition of a search pattern, used by ferryd (the `find` request) and by the
 * engine (SFTP searches): a glob matched against a name, or a plain text found anywhere
 * in it. Pure TypeScript: it runs on both sides of the protocol.
 */
import { FerryError } from './errors.js';

/** The longest pattern accepted (characters). */
export const NAME_PATTERN_MAX = 256;

/**
 * One glob element. A set is a list of single characters and ranges, matched against one
 * character; `negate` for `[!…]` (or `[^…]`).
 */
type Token =
  | { readonly kind: 'char'; readonly ch: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'star' }
  | { readonly kind: 'set'; readonly negate: boolean; readonly ranges: ReadonlyArray<readonly [string, string]> };

export interface NamePatternOptions {
  /** Off by default: `photo` finds `Photo.JPG`, as FileZilla's and WinSCP's find do. */
  readonly caseSensitive?: boolean;
}

/** Whether a pattern has wildcards: without them it is matched as a substring. */
export function isGlob(pattern: string): boolean {
  return tokenize(Array.from(pattern)).some((t) => t.kind !== 'char');
}

/**
 * Compile `pattern` to a test of a name (never a path: '/' is an ordinary character here).
 * With wildcards (`*` any run, `?` one character, `[abc]`, `[a-z]`, `[!abc]`) the whole
 * name must match; without any, the pattern may appear anywhere in the name. A `[`
 * without its `]` is an ordinary character. EINVAL: an empty or too long pattern, or a
 * range written backwards (`[z-a]`).
 */
export function compileNamePattern(pattern: string, options: NamePatternOptions = {}): (name: string) => boolean {
  if (pattern.length === 0) throw new FerryError('EINVAL', 'Type a name, or part of one, to search for.');
  if (pattern.length > NAME_PATTERN_MAX) throw new FerryError('EINVAL', `A search pattern has at most ${NAME_PATTERN_MAX} characters.`);
  const fold = options.caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  const tokens = tokenize(Array.from(fold(pattern)));
  for (const t of tokens) {
    if (t.kind === 'set') {
      for (const [lo, hi] of t.ranges) {
        if (lo.codePointAt(0)! > hi.codePointAt(0)!) throw new FerryError('EINVAL', `The range [${lo}-${hi}] in the pattern is backwards: write [${hi}-${lo}].`);
      }
    }
  }
  if (tokens.every((t) => t.kind === 'char')) {
    const text = tokens.map((t) => (t as { ch: string }).ch).join('');
    return (name) => fold(name).includes(text);
  }
  return (name) => matchTokens(tokens, Array.from(fold(name)));
}

function tokenize(chars: readonly string[]): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') {
      // Runs of stars are one star: the matcher's cost grows with stars, not with their repeats.
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'any' });
    else if (c === '[') {
      const set = readSet(chars, i);
      if (set === null) tokens.push({ kind: 'char', ch: c });
      else {
        tokens.push(set.token);
        i = set.end;
      }
    } else tokens.push({ kind: 'char', ch: c });
  }
  return tokens;
}

/** The set that opens at `start` (a `[`), and the index of its `]`; null when it is never closed. */
function readSet(chars: readonly string[], start: number): { token: Token; end: number } | null {
  let i = start + 1;
  const negate = chars[i] === '!' || chars[i] === '^';
  if (negate) i++;
  const ranges: Array<readonly [string, string]> = [];
  // A `]` first in the set is a member, as in POSIX globs (`[]a]`).
  let first = true;
  for (; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === ']' && !first) return { token: { kind: 'set', negate, ranges }, end: i };
    first = false;
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      ranges.push([c, chars[i + 2]!]);
      i += 2;
    } else ranges.push([c, c]);
  }
  return null;
}

function matchOne(token: Token, ch: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.ch === ch;
    case 'any':
      return true;
    case 'set': {
      const code = ch.codePointAt(0)!;
      const inside = token.ranges.some(([lo, hi]) => code >= lo.codePointAt(0)! && code <= hi.codePointAt(0)!);
      return inside !== token.negate;
    }
    case 'star':
      return false;
  }
}

/**
 * Glob matching with one backtrack point (the last star): time in the order of the name's
 * length times the pattern's, never exponential, whatever the pattern (`*a*a*a*b`).
 */
function matchTokens(tokens: readonly Token[], name: readonly string[]): boolean {
  let t = 0;
  let n = 0;
  let star = -1;
  let starAt = 0;
  while (n < name.length) {
    const token = tokens[t];
    if (token !== undefined && token.kind !== 'star' && matchOne(token, name[n]!)) {
      t++;
      n++;
    } else if (token?.kind === 'star') {
      star = t++;
      starAt = n;
    } else if (star >= 0) {
      t = star + 1;
      n = ++starAt;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}
