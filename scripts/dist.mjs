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
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(REPO, 'package.json'));

function fail(message) {
  console.error(`npm run dist: ${message}`);
  process.exit(1);
}

/** A short reason from a failed download's output (e.g. "getaddrinfo ENOTFOUND <host>"). */
function reason(output) {
  const known = /(getaddrinfo \w+ [^\s]+|connect \w+ [^\s]+|HTTPError: [^\n]+|E(?:NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT|AI_AGAIN|HOSTUNREACH|NETUNREACH)\b[^\n]*)/.exec(output);
  if (known) return known[1].trim();
  const first = output.split('\n').find((l) => l.trim() !== '');
  return (first ?? 'no output').trim().slice(0, 200);
}

function electronBinary() {
  try {
    const binary = require('electron');
    return typeof binary === 'string' && existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

// 1. Electron: installed, or downloadable now.
let electronDir;
try {
  electronDir = path.dirname(require.resolve('electron/package.json'));
} catch {
  fail(
    'Electron is not installed (its optional package could not be installed), so installers cannot be built on this machine: run `npm install` where Electron can be downloaded, then `npm run dist`.',
  );
}
if (!electronBinary()) {
  console.log('Electron’s binary is not installed: downloading it…');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const download = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { cwd: electronDir, env, encoding: 'utf8', timeout: 10 * 60_000 });
  if (download.status !== 0 || !electronBinary()) {
    const why = download.error ? download.error.message : reason(`${download.stderr ?? ''}\n${download.stdout ?? ''}`);
    fail(
      `Electron could not be downloaded here (${why}), so installers cannot be built on this machine: run \`npm run dist\` where Electron's downloads are reachable (or set ELECTRON_MIRROR).`,
    );
  }
}

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
