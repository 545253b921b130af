/**
 * The layer rules of STYLE.md, checked on every import in the tree (the tsconfigs check
 * the globals each layer may use; this checks what each folder may import).
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './helpers/harness.js';

function sources(dir: string): string[] {
  const abs = path.join(REPO, dir);
  if (/\.tsx?$/.test(dir)) return [dir];
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(REPO, rel)).isDirectory()) return sources(rel);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(path.join(REPO, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]!);
}

/** The repo-relative folder an import resolves into, or the bare package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return path.relative(REPO, path.resolve(REPO, path.dirname(file), spec));
}

interface Rule {
  readonly layer: string;
  readonly forbid: (resolved: string, spec: string) => string | null;
}

const isNodeBuiltin = (spec: string): boolean => spec.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'net', 'tls', 'child_process', 'stream'].includes(spec);

const RULES: Rule[] = [
  {
    layer: 'shared/common',
    forbid: (resolved, spec) =>
      spec === 'electron' || isNodeBuiltin(spec)
        ? 'shared/common may use neither Node nor Electron'
        : spec.startsWith('.') && !resolved.startsWith('shared/common')
          ? 'shared/common may only import shared/common'
          : null,
  },
  {
    layer: 'shared/node',
    forbid: (resolved, spec) =>
      spec === 'electron'
        ? 'shared/node must not import electron'
        : spec.startsWith('.') && !resolved.startsWith('shared/')
          ? 'shared/node may only import shared/'
          : null,
  },
  {
    layer: 'server',
    forbid: (resolved, spec) =>
      spec === 'electron'
        ? 'the server must not import electron'
        : spec.startsWith('.') && !(resolved.startsWith('server') || resolved.startsWith('shared/'))
          ? 'the server may only import server/ and shared/'
          : null,
  },
  {
    layer: 'engine',
    forbid: (resolved, spec) =>
      spec === 'electron'
        ? 'the engine must not import electron (it runs under plain Node)'
        : spec.startsWith('.') && !(resolved.startsWith('engine') || resolved.startsWith('shared/'))
          ? 'the engine may only import engine/ and shared/'
          : null,
  },
  {
    // The queue and the Remote interface are transport-neutral: they know a server only
    // through engine/remote (Ferry's protocol in engine/wire/ is one implementation of it).
    layer: 'engine/queue',
    forbid: (resolved, spec) =>
      spec.startsWith('.') && (resolved.startsWith('engine/wire') || resolved.startsWith('engine/app'))
        ? 'the transfer queue may know a server only through engine/remote'
        : null,
  },
  {
    layer: 'engine/remote',
    forbid: (resolved, spec) =>
      spec.startsWith('.') && !(resolved.startsWith('engine/remote') || resolved.startsWith('shared/'))
        ? 'the Remote interface depends on nothing but shared/'
        : null,
  },
  {
    // SFTP is the second implementation of the Remote: it knows the interface, not Ferry's wire or the app.
    layer: 'engine/sftp',
    forbid: (resolved, spec) =>
      spec.startsWith('.') && !(resolved.startsWith('engine/sftp') || resolved.startsWith('engine/remote') || resolved.startsWith('shared/'))
        ? 'the SFTP remote may import only engine/sftp, engine/remote and shared/'
        : null,
  },
  {
    layer: 'cli',
    forbid: (resolved, spec) =>
      spec === 'electron'
        ? 'the CLI must not import electron'
        : spec.startsWith('.') && resolved.startsWith('server')
          ? 'the CLI talks to the server over the wire, not by importing it'
          : null,
  },
  {
    layer: 'web',
    forbid: (resolved, spec) =>
      spec === 'electron'
        ? 'browser mode runs under plain Node: no electron'
        : spec.startsWith('.') && !(resolved.startsWith('web') || resolved.startsWith('engine') || resolved.startsWith('shared/'))
          ? 'web/ may only import web/, engine/ and shared/'
          : null,
  },
  {
    layer: 'electron/preload',
    forbid: (resolved, spec) =>
      isNodeBuiltin(spec)
        ? 'the sandboxed preload has no Node'
        : spec.startsWith('.') && !(resolved.startsWith('electron/preload') || resolved.startsWith('shared/common'))
          ? 'the preload may only import electron and shared/common'
          : null,
  },
  {
    layer: 'electron/main',
    forbid: (resolved, spec) =>
      spec.startsWith('.') && !(resolved.startsWith('electron/main') || resolved.startsWith('engine') || resolved.startsWith('shared/'))
        ? 'the main process may import the engine and shared/, never the renderer, web/ or the server'
        : null,
  },
  {
    layer: 'renderer',
    forbid: (resolved, spec) =>
      spec === 'electron' || isNodeBuiltin(spec)
        ? 'the renderer may use neither Node nor Electron'
        : spec.startsWith('.') && !(resolved.startsWith('renderer') || resolved.startsWith('shared/common'))
          ? 'the renderer may only import renderer/ and shared/common'
          : null,
  },
];

describe('layers', () => {
  for (const rule of RULES) {
    it(`${rule.layer} imports only what its layer allows`, () => {
      const violations: string[] = [];
      const files = sources(rule.layer);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        for (const spec of importsOf(file)) {
          const why = rule.forbid(target(file, spec), spec);
          if (why) violations.push(`${file}: ${spec} (${why})`);
        }
      }
      expect(violations).toEqual([]);
    });
  }

  it('the renderer takes the schema modules only as types (zod stays out of the page, whose CSP its eval probe trips)', () => {
    const valueImport = /(?:^|\n)\s*(import|export)\s+(?!type\b)[^'"`;]*?from\s*['"]([^'"]*\/(?:contract|ws-messages)\.js)['"]/g;
    const violations = sources('renderer').flatMap((file) =>
      [...readFileSync(path.join(REPO, file), 'utf8').matchAll(valueImport)].map((m) => `${file}: ${m[2]} (use \`import type\`, or a zod-free module such as protocols.ts or ws-limits.ts)`),
    );
    expect(violations).toEqual([]);
    expect([...`import { PROTOCOLS } from '../shared/common/contract.js';`.matchAll(valueImport)]).toHaveLength(1);
    expect([...`import type { Profile } from '../shared/common/contract.js';`.matchAll(valueImport)]).toHaveLength(0);
  });

  it('finds the imports it checks (the scanner itself works)', () => {
    // This file's own imports: a file whose imports are known without depending on the code's layout.
    const found = importsOf('test/layers.test.ts');
    expect(found).toContain('node:fs');
    expect(found).toContain('./helpers/harness.js');
    expect(target('test/layers.test.ts', './helpers/harness.js')).toBe('test/helpers/harness.js');
    const bad = RULES.find((r) => r.layer === 'shared/common')!;
    expect(bad.forbid('server/x.js', '../../server/x.js')).not.toBeNull();
    expect(bad.forbid('', 'node:fs')).not.toBeNull();
  });
});
