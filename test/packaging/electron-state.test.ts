/**
 * The three ways Electron's optional package can be present in a checkout (dropped by npm,
 * installed without its binary, installed with it), each in a checkout of its own made
 * here, and what `npm run dist` makes of each: one clear line, or the binary to build with.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NOT_INSTALLED, electronState, ensureElectron } from '../../scripts/electron-state.mjs';
import { cleanupAll, tempDir } from '../helpers/harness.js';

afterAll(cleanupAll);

// Electron's own index.js: the binary's path from path.txt, or a throw when it was never installed.
const ELECTRON_INDEX = `const fs = require('fs'); const path = require('path');
const pathFile = path.join(__dirname, 'path.txt');
if (!fs.existsSync(pathFile)) throw new Error('Electron failed to install correctly, please delete node_modules/electron and try installing again');
module.exports = path.join(__dirname, 'dist', fs.readFileSync(pathFile, 'utf8'));
`;
const INSTALL_FAILS = `console.error('RequestError: connect ECONNREFUSED 127.0.0.1:9'); console.error('    at ClientRequest.<anonymous> (node:internal)'); process.exit(1);\n`;
const INSTALL_WORKS = `const fs = require('fs'); const path = require('path');
fs.mkdirSync(path.join(__dirname, 'dist'), { recursive: true });
fs.writeFileSync(path.join(__dirname, 'dist', 'electron'), 'binary');
fs.writeFileSync(path.join(__dirname, 'path.txt'), 'electron');
`;

async function checkout(electron: 'missing' | 'no-binary' | 'ready', install = INSTALL_FAILS): Promise<string> {
  const repo = await tempDir('ferry-electron-');
  writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'checkout', private: true }));
  if (electron === 'missing') return repo;
  const dir = path.join(repo, 'node_modules', 'electron');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'electron', version: '40.0.0', main: 'index.js' }));
  writeFileSync(path.join(dir, 'index.js'), ELECTRON_INDEX);
  writeFileSync(path.join(dir, 'install.js'), install);
  if (electron === 'ready') {
    mkdirSync(path.join(dir, 'dist'));
    writeFileSync(path.join(dir, 'dist', 'electron'), 'binary');
    writeFileSync(path.join(dir, 'path.txt'), 'electron');
  }
  return repo;
}

const oneLine = (message: string): void => {
  expect(message).not.toContain('\n');
  expect(message).toMatch(/installers cannot be built on this machine: run `npm/);
};

describe('Electron in a checkout', () => {
  it('not installed: the state says so, and dist says to install where Electron can be downloaded', async () => {
    const repo = await checkout('missing');
    expect(electronState(repo)).toEqual({ kind: 'missing' });
    const result = ensureElectron(repo);
    expect(result).toEqual({ ok: false, message: NOT_INSTALLED });
    if (!result.ok) oneLine(result.message);
  });

  it('installed without its binary: one download attempt, and its failure in one line with the reason', async () => {
    const repo = await checkout('no-binary');
    expect(electronState(repo).kind).toBe('no-binary');
    let downloads = 0;
    const result = ensureElectron(repo, { env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, onDownload: () => downloads++ });
    expect(downloads).toBe(1);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    oneLine(result.message);
    expect(result.message).toMatch(/^Electron could not be downloaded here \(connect ECONNREFUSED 127\.0\.0\.1:9\)/);
    expect(result.message).not.toMatch(/ at /);
  });

  it('installed without its binary, where the download works: the binary is fetched and used', async () => {
    const repo = await checkout('no-binary', INSTALL_WORKS);
    const result = ensureElectron(repo, { env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
    const binary = path.join(repo, 'node_modules', 'electron', 'dist', 'electron');
    expect(result).toEqual({ ok: true, binary });
    expect(electronState(repo)).toEqual({ kind: 'ready', dir: path.dirname(path.dirname(binary)), binary });
  });

  it('installed with its binary: nothing is downloaded', async () => {
    const repo = await checkout('ready');
    let downloads = 0;
    const result = ensureElectron(repo, { onDownload: () => downloads++ });
    expect(result).toEqual({ ok: true, binary: path.join(repo, 'node_modules', 'electron', 'dist', 'electron') });
    expect(downloads).toBe(0);
  });
});
