/**
 * The search pattern (shared/common/name-pattern.ts): globs match whole names, plain text
 * matches anywhere, case folds unless asked, sets and ranges, and bad patterns are EINVAL.
 */
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../shared/common/errors.js';
import { compileNamePattern, isGlob } from '../../shared/common/name-pattern.js';

const matches = (pattern: string, name: string, caseSensitive = false): boolean => compileNamePattern(pattern, { caseSensitive })(name);

describe('name patterns', () => {
  it('matches text without wildcards anywhere in the name, ignoring case by default', () => {
    expect(matches('report', 'Q3 Report.pdf')).toBe(true);
    expect(matches('report', 'Q3 Report.pdf', true)).toBe(false);
    expect(matches('Report', 'Q3 Report.pdf', true)).toBe(true);
    expect(matches('x.t', 'a/x.txt')).toBe(true);
    expect(matches('zip', 'archive.tar.gz')).toBe(false);
    expect(isGlob('report')).toBe(false);
  });

  it('matches a glob against the whole name', () => {
    expect(matches('*.txt', 'notes.txt')).toBe(true);
    expect(matches('*.txt', 'notes.txt.bak')).toBe(false);
    expect(matches('*.TXT', 'notes.txt')).toBe(true);
    expect(matches('*.TXT', 'notes.txt', true)).toBe(false);
    expect(matches('a*', 'a')).toBe(true);
    expect(matches('*', '')).toBe(true);
    expect(matches('?', 'ab')).toBe(false);
    expect(matches('??', 'ab')).toBe(true);
    // One character is one code point, not one UTF-16 unit.
    expect(matches('?.txt', '😀.txt')).toBe(true);
    expect(matches('*名前*', 'の名前.txt')).toBe(true);
    expect(isGlob('*.txt')).toBe(true);
  });

  it('reads sets, ranges and negated sets; an unclosed [ is an ordinary character', () => {
    expect(matches('report-[0-9].md', 'report-7.md')).toBe(true);
    expect(matches('report-[0-9].md', 'report-x.md')).toBe(false);
    expect(matches('report-[!0-9].md', 'report-x.md')).toBe(true);
    expect(matches('report-[^0-9].md', 'report-1.md')).toBe(false);
    expect(matches('[abc]*', 'banana')).toBe(true);
    expect(matches('[]x]', ']')).toBe(true);
    expect(matches('[*]', '*')).toBe(true);
    expect(matches('[*]', 'a')).toBe(false);
    expect(matches('a[b', 'xa[by')).toBe(true);
    expect(isGlob('a[b')).toBe(false);
    expect(matches('[a-]', '-')).toBe(true);
  });

  it('is quick on patterns that make a backtracking matcher explode', () => {
    const name = 'a'.repeat(5000);
    const started = performance.now();
    expect(matches('*a*a*a*a*a*a*a*a*a*a*b', name)).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses an empty or too long pattern and a backwards range with EINVAL', () => {
    for (const bad of ['', 'x'.repeat(257), '[z-a]']) {
      expect(() => compileNamePattern(bad)).toThrow(FerryError);
      try {
        compileNamePattern(bad);
      } catch (err) {
        expect((err as FerryError).code).toBe('EINVAL');
      }
    }
  });
});
