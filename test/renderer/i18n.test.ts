/**
 * Every string a person reads in the UI is translated: the renderer's source is read with
 * the TypeScript compiler and a string that reaches the screen without t() fails here, as
 * does a language whose strings differ from English in keys, placeholders or tags, or a
 * Chinese string left empty or in English.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { RESOURCES } from '../../renderer/src/i18n/resources.js';

const SRC = path.resolve(import.meta.dirname, '../../renderer/src');

/** JSX attributes people read or hear (the rest, such as className or id, are not text). */
const READ_ATTRIBUTES = new Set([
  'aria-label',
  'aria-description',
  'aria-valuetext',
  'aria-roledescription',
  'aria-placeholder',
  'title',
  'placeholder',
  'alt',
  'label',
]);

/** Calls whose string arguments are keys or code, not text: i18next's, and the DOM's own. */
const KEY_CALLS = new Set(['t', 'i18n.t', 'useTranslation', 'window.matchMedia', 'window.open', 'localStorage.getItem', 'localStorage.setItem', 'console.error', 'console.warn']);
/** Methods whose string arguments are data (a drag's types), whatever they are called on. */
const DATA_METHODS = new Set(['includes', 'getData', 'setData', 'setAttribute']);

/**
 * Strings that may reach the screen as they are, each with its reason. Keyed by file (relative
 * to renderer/src) and the literal's text.
 */
const ALLOWED: ReadonlyArray<{ readonly file: string; readonly text: string; readonly why: string }> = [
  { file: 'components/header-bar.tsx', text: 'Ferry', why: 'the brand name, not translated' },
  { file: 'components/status-bar.tsx', text: 'Ferry', why: 'a protocol’s name (PROTOCOL_NAME)' },
  { file: 'i18n/i18n.ts', text: 'English', why: 'a language named in its own words (LANGUAGE_NAMES)' },
  { file: 'components/console-pane.tsx', text: 'ui-monospace, "Cascadia Mono", "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace', why: 'font names' },
  { file: 'components/welcome.tsx', text: "FERRY_PASSWORD='a long passphrase' npx ferryd user add alice --root ./srv --exec &&\n  npx ferryd serve --root ./srv --host 0.0.0.0", why: 'a shell command' },
  { file: 'components/context-menu.tsx', text: 'Del', why: 'a key’s name on the keyboard, as F2 and F4 beside it' },
];

/** A word of two letters or more, a space, another: prose (a class list is caught by context instead). */
const PROSE = /\p{L}{2,}[\s…]+\p{L}{2,}/u;
/** One capitalised word ("Saved", "Upload files…"): a label. */
const LABEL = /^[A-Z][a-z]+(?:\s[a-z]+)*…?$/;
const LETTERS = /\p{L}/u;

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly why: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'en' || entry.name === 'zh-CN' ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function calleeName(call: ts.CallExpression | ts.NewExpression): string {
  const e = call.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return ts.isIdentifier(e.expression) ? `${e.expression.text}.${e.name.text}` : e.name.text;
  return '';
}

/** Literal text of a string or template (its fixed parts), or null when `node` is neither. */
function literalText(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join('');
  return null;
}

/** Where a literal sits decides whether it is text: a key, a type, a class list or a comparison is not. */
function isCode(node: ts.Node): boolean {
  for (let at: ts.Node = node, parent = node.parent; parent; at = parent, parent = parent.parent) {
    if (ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent) || ts.isTypeNode(parent)) return true;
    if (ts.isPropertyAssignment(parent) && parent.name === at) return true;
    if (ts.isElementAccessExpression(parent) && parent.argumentExpression === at) return true;
    if (ts.isCallExpression(parent) && parent.arguments.includes(at as ts.Expression)) {
      const name = calleeName(parent);
      if (KEY_CALLS.has(name) || DATA_METHODS.has(name.slice(name.lastIndexOf('.') + 1))) return true;
    }
    // An error's message, beside its stable code, is the engine's voice: English (docs/UI.md, "Languages").
    if (ts.isPropertyAssignment(parent) && parent.initializer === at && parent.name.getText() === 'message' && ts.isObjectLiteralExpression(parent.parent) && parent.parent.properties.some((p) => p.name?.getText() === 'code')) return true;
    // A thrown Error is for the developer (the UI shows FerryError values from the engine).
    if (ts.isNewExpression(parent) && calleeName(parent) === 'Error') return true;
    if (ts.isBinaryExpression(parent) && [ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken].includes(parent.operatorToken.kind)) return true;
    if (ts.isCaseClause(parent) && parent.expression === at) return true;
    if (ts.isJsxAttribute(parent)) return !READ_ATTRIBUTES.has(parent.name.getText());
    // Inside JSX children or a statement, the nearest of these decided.
    if ((ts.isJsxExpression(parent) && !ts.isJsxAttribute(parent.parent)) || ts.isStatement(parent)) return false;
  }
  return false;
}

/** Whether a literal is shown by JSX (an attribute people read, or a child), where any letter is text. */
function shownByJsx(node: ts.Node): boolean {
  for (let p = node.parent; p; p = p.parent) {
    if (ts.isJsxAttribute(p)) return true;
    if (ts.isJsxExpression(p) && !ts.isJsxAttribute(p.parent)) return true;
    if (ts.isCallExpression(p) || ts.isStatement(p)) return false;
  }
  return false;
}

/** Entries of ALLOWED that matched something (an entry that matches nothing is stale). */
const allowedUsed = new Set<(typeof ALLOWED)[number]>();

function scan(source: ts.SourceFile, rel: string): Finding[] {
  const found: Finding[] = [];
  const report = (node: ts.Node, literal: string, why: string): void => {
    const allowed = ALLOWED.find((a) => a.file === rel && a.text === literal);
    if (allowed) {
      allowedUsed.add(allowed);
      return;
    }
    found.push({ file: rel, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: literal.trim(), why });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isJsxText(node)) {
      if (LETTERS.test(node.text)) report(node, node.text, 'JSX text');
      return;
    }
    const literal = literalText(node);
    if (literal !== null && !isCode(node)) {
      const inJsx = shownByJsx(node);
      // What JSX shows or reads out: any letters. Elsewhere: prose or a label.
      if (inJsx ? LETTERS.test(literal) : PROSE.test(literal) || LABEL.test(literal)) report(node, literal, inJsx ? 'JSX string' : 'string');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function untranslated(file: string): Finding[] {
  const rel = path.relative(SRC, file).split(path.sep).join('/');
  const kind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return scan(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, kind), rel);
}

describe('UI strings', () => {
  it('go through t() in every component, store and formatter', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(40);
    const found = files.flatMap(untranslated);
    expect(found.map((f) => `${f.file}:${f.line} ${f.why}: ${JSON.stringify(f.text)}`)).toEqual([]);
    expect(ALLOWED.filter((a) => !allowedUsed.has(a)).map((a) => `${a.file}: ${a.text}`)).toEqual([]);
  });

  it('are found when they are not translated (the check itself)', () => {
    const probe = (code: string): Finding[] => scan(ts.createSourceFile('probe.tsx', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX), 'probe.tsx');
    expect(probe('const a = <p>Hello there</p>;')).toHaveLength(1);
    expect(probe('const a = <button aria-label="Close it" />;')).toHaveLength(1);
    expect(probe('const a = <button title={`Pause ${name}`} />;')).toHaveLength(1);
    expect(probe("const a = <p>{busy ? 'Saving…' : ''}</p>;")).toHaveLength(1);
    expect(probe("const f = () => setProblem('Enter a name please.');")).toHaveLength(1);
    expect(probe("const a = <p className=\"muted small\">{t('done')}</p>;")).toHaveLength(0);
    expect(probe("const a = <button aria-label={t('close')} title={t('pause', { name })} />;")).toHaveLength(0);
    expect(probe("if (kind === 'Not text here') throw new Error('for developers only');")).toHaveLength(0);
  });
});

type Strings = { readonly [key: string]: string | Strings };

function flatten(tree: Strings, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === 'string') out.set(`${prefix}${key}`, value);
    else for (const [k, v] of flatten(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

/**
 * English strings whose Chinese is rightly the same: names, symbols and units only (none
 * today: protocol names, SHA-256 and units are written beside translated words).
 */
/** Names that are not words: the same in every language (units stay as they are, see UI.md). */
const SAME_IN_CHINESE = new Set<string>(['SHA-256', 'SHA-256 {{hash}}', 'XXH3-128', 'KiB/s', 'MiB/s']);

const placeholders = (s: string): string[] => [...s.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]!).sort();
const tags = (s: string): string[] => [...s.matchAll(/<\/?(\w+)>/g)].map((m) => m[0]).sort();

describe('translations', () => {
  const en = flatten(RESOURCES.en as unknown as Strings);
  const zh = flatten(RESOURCES['zh-CN'] as unknown as Strings);

  it('have exactly the English keys', () => {
    expect([...zh.keys()].sort()).toEqual([...en.keys()].sort());
  });

  it('are complete in Chinese: nothing empty, nothing left in English', () => {
    const problems: string[] = [];
    for (const [key, english] of en) {
      const chinese = zh.get(key);
      if (chinese === undefined || chinese.trim() === '') problems.push(`${key}: empty`);
      else if (chinese === english && !SAME_IN_CHINESE.has(english)) problems.push(`${key}: same as English (${english})`);
    }
    expect(problems).toEqual([]);
  });

  it('keep every placeholder and tag of the English', () => {
    const problems: string[] = [];
    for (const [key, english] of en) {
      const chinese = zh.get(key) ?? '';
      if (placeholders(chinese).join() !== placeholders(english).join()) problems.push(`${key}: {{…}} ${placeholders(chinese)} ≠ ${placeholders(english)}`);
      if (tags(chinese).join() !== tags(english).join()) problems.push(`${key}: <…> ${tags(chinese)} ≠ ${tags(english)}`);
    }
    expect(problems).toEqual([]);
  });
});
