#!/usr/bin/env node
// `npm run dist`: build the desktop app's installers (electron-builder.yml: AppImage and
// deb on Linux, an NSIS installer on Windows, a dmg on macOS) into release/.
//
// Installers need Electron's binaries, which come from Electron's downloads (GitHub, or
// ELECTRON_MIRROR), not from the package registry. So first make sure Electron can be
// obtained here (it is installed, or its download works now); where it cannot, say so in
// one line and exit 1 instead of failing half-way with a stack trace.
//
//   npm run dist                 installers for this platform
//   npm run dist -- --linux      any electron-builder arguments after --
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureElectron } from './electron-state.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(REPO, 'package.json'));

function fail(message) {
  console.error(`npm run dist: ${message}`);
  process.exit(1);
}

// 1. Electron: installed with its binary, or its binary downloadable now.
const electron = ensureElectron(REPO, { onDownload: () => console.log('Electron’s binary is not installed: downloading it…') });
if (!electron.ok) fail(electron.message);

// 2. Build everything the installers pack (electron-builder.yml "files").
const npm = process.env.npm_execpath;
const [command, args] = npm && npm.endsWith('.js') ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
const built = spawnSync(command, args, { cwd: REPO, stdio: 'inherit', shell: process.platform === 'win32' && command === 'npm' });
if (built.status !== 0) fail('the build failed (npm run build); its output is above.');

// 3. The installers.
const builder = path.join(path.dirname(require.resolve('electron-builder/package.json')), 'cli.js');
const result = spawnSync(process.execPath, [builder, '--publish', 'never', ...process.argv.slice(2)], { cwd: REPO, stdio: 'inherit' });
if (result.status !== 0) fail('electron-builder failed; its output is above.');
console.log(`Installers are in ${path.join(REPO, 'release')}.`);
