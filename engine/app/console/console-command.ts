/**
 * A console line that starts with `cd`. Each command runs in its own remote shell, so a
 * `cd` there would be forgotten at once; the backend runs a leading `cd PATH` as the
 * session's cd instead (which moves the file tree too), then the rest of the line, if any,
 * as a command in the new folder: `cd docs && ls -l`, `cd ..; make`.
 */

export type ConsoleCommand =
  /** Not a leading cd: run the whole line remotely. */
  | { readonly kind: 'remote'; readonly command: string }
  | {
      readonly kind: 'cd';
      /** The folder ('/' is the home; '-' the previous folder). */
      readonly target: string;
      /** What follows the cd, and whether it runs only when the cd worked (&&) or anyway (;). */
      readonly rest: { readonly command: string; readonly when: 'ok' | 'always' } | undefined;
    }
  /** A cd the console cannot do as the session's cd (variables, patterns, several arguments). */
  | { readonly kind: 'unsupported'; readonly message: string };

const SPECIAL = /[$`*?[\]{}()<>|&!;\\]/;

export function parseConsoleCommand(line: string): ConsoleCommand {
  const trimmed = line.trim();
  if (!/^cd(\s|$)/.test(trimmed)) return { kind: 'remote', command: line };
  // Find where the cd ends: the first && or ; outside quotes.
  let quote: string | null = null;
  let end = trimmed.length;
  let separator: '&&' | ';' | null = null;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === ';') {
      end = i;
      separator = ';';
      break;
    } else if (c === '&' && trimmed[i + 1] === '&') {
      end = i;
      separator = '&&';
      break;
    } else if (c === '|' || c === '>' || c === '<' || c === '&' || c === '(' || c === ')') {
      // `cd x | y`, `cd x || y`, `cd x > f`: shell plumbing; let the remote shell have it.
      return { kind: 'remote', command: line };
    }
  }
  if (quote) return { kind: 'unsupported', message: 'cd: unbalanced quotes' };
  const words = splitWords(trimmed.slice(2, end));
  if (words === null) {
    return { kind: 'unsupported', message: 'cd: variables, patterns and escapes are not supported in the console: use a plain path' };
  }
  if (words.length > 1) return { kind: 'unsupported', message: 'cd: too many arguments' };
  const target = homeRelative(words[0] ?? '~');
  const restText = separator === null ? '' : trimmed.slice(end + separator.length).trim();
  if (separator !== null && restText === '') {
    if (separator === ';') return { kind: 'cd', target, rest: undefined };
    return { kind: 'unsupported', message: 'cd: nothing follows &&' };
  }
  return {
    kind: 'cd',
    target,
    rest: restText === '' ? undefined : { command: restText, when: separator === '&&' ? 'ok' : 'always' },
  };
}

/** Split on blanks, honouring quotes; null when a word uses shell syntax we do not run here. */
function splitWords(text: string): string[] | null {
  const words: string[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/gy;
  let current: string | null = null;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const glued = m[0].length > 0 && !/^\s/.test(m[0]) && current !== null;
    const piece = m[1] ?? m[2] ?? m[3] ?? '';
    if (m[3] !== undefined && SPECIAL.test(piece)) return null;
    if (m[2] !== undefined && /[$`\\]/.test(piece)) return null;
    if (glued) current += piece;
    else {
      if (current !== null) words.push(current);
      current = piece;
    }
    last = re.lastIndex;
  }
  if (text.slice(last).trim() !== '') return null;
  if (current !== null) words.push(current);
  return words;
}

/** The home is '/' on a ferryd: `~` and `~/x` mean `/` and `/x`. */
function homeRelative(word: string): string {
  if (word === '~' || word === '') return '/';
  if (word.startsWith('~/')) return `/${word.slice(2)}`;
  return word;
}
