/**
 * Every error code the server can send is in docs/PROTOCOL.md's error table: the codes
 * come from shared/common/errors.ts, where the ones only clients use are listed apart.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { CLIENT_ONLY_ERROR_CODES, ERROR_CODES, isErrorCode } from '../../shared/common/errors.js';
import { REPO } from '../helpers/harness.js';

/** The text of the "### Errors" subsection, up to the next heading. */
function errorsSection(doc: string): string {
  const match = /^### Errors\n([\s\S]*?)^#{2,3} /m.exec(doc);
  if (!match) throw new Error('docs/PROTOCOL.md has no "### Errors" subsection');
  return match[1]!;
}

/** The codes named in the first column of the error table. */
function tableCodes(section: string): string[] {
  const rows = section.split('\n').filter((line) => /^\|\s*`/.test(line));
  return rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Z0-9]+)`/g)].map((m) => m[1]!));
}

describe("docs/PROTOCOL.md's error table", () => {
  let section: string;
  let documented: string[];

  beforeAll(async () => {
    section = errorsSection(await readFile(path.join(REPO, 'docs/PROTOCOL.md'), 'utf8'));
    documented = tableCodes(section);
  });

  it('lists every code the server can send', () => {
    const sent = Object.keys(ERROR_CODES).filter((code) => !CLIENT_ONLY_ERROR_CODES.has(code as keyof typeof ERROR_CODES));
    expect(sent.length).toBeGreaterThan(10);
    expect(sent.filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('lists only real codes, and none of the client-only ones', () => {
    expect(documented.filter((code) => !isErrorCode(code))).toEqual([]);
    expect(documented.filter((code) => CLIENT_ONLY_ERROR_CODES.has(code as keyof typeof ERROR_CODES))).toEqual([]);
  });

  it('names the client-only codes next to the table', () => {
    expect(CLIENT_ONLY_ERROR_CODES.size).toBeGreaterThan(0);
    for (const code of CLIENT_ONLY_ERROR_CODES) expect(section).toContain(`\`${code}\``);
  });

  it('client-only codes really are: the server never raises one', async () => {
    const dir = path.join(REPO, 'server');
    const files = (await readdir(dir)).filter((name) => name.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const source = await readFile(path.join(dir, name), 'utf8');
      // Raised as a FerryError, or as the fallback code of toFerryError (a bare 'ENOTSUP' may be an errno name).
      for (const code of CLIENT_ONLY_ERROR_CODES) {
        expect(source, `${name} raises ${code}`).not.toMatch(new RegExp(`FerryError\\(\\s*'${code}'|toFerryError\\([^)]*'${code}'\\)`));
      }
    }
  });
});
