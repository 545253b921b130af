#!/usr/bin/env node
// `npm start`: build what is needed, then launch the desktop app (Electron). Where
// Electron cannot run (its binary could not be downloaded, or there is no display), say
// so in one line and start browser mode instead: the local server, the web host, and the
// address to open. Ctrl+C stops everything and exits 0.
//
//   npm start                      the desktop app, or browser mode where it cannot run
//   npm start -- --web             browser mode, always
//   npm start -- --port 8080       browser mode's port (default: a free one)
//   npm start -- --rebuild         build even if dist/ looks up to date
//
// Browser mode also takes --no-open, --verbose, --data-dir, --config-dir, --download-dir,
// --no-local-server (see web/cli.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `Usage: npm start -- [--web] [--port N] [--rebuild] [browser mode options]

  --web        run in your browser even where the desktop app could run
  --port N     browser mode's port (default: a free one)
  --rebuild    build even if dist/ looks up to date
  --no-open    do not open a browser (browser mode)
  --verbose    log connections and errors on stderr (browser mode)`;

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    options: {
      web: { type: 'boolean' },
      rebuild: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  console.error(`npm start: ${err.message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
// Everything else goes to browser mode (or the app) as it was given.
const rest = process.argv.slice(2).filter((a) => a !== '--web' && a !== '--rebuild');

// ---- Electron ---------------------------------------------------------------------------

/** The Electron binary, or why there is none. */
function findElectron() {
  const require = createRequire(path.join(REPO, 'package.json'));
  try {
    require.resolve('electron/package.json');
  } catch {
    // npm drops the optional package when its binary download fails.
    return { why: 'Electron is not available on this machine (its binary could not be downloaded)' };
  }
  let binary;
  try {
    binary = require('electron');
  } catch {
    return { why: 'Electron is not available on this machine (its binary could not be downloaded)' };
  }
  if (typeof binary !== 'string' || !existsSync(binary)) {
    return { why: 'Electron is not available on this machine (its binary could not be downloaded)' };
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { why: 'There is no display here for the desktop app (no DISPLAY or WAYLAND_DISPLAY)' };
  }
  return { binary };
}

// ---- building ---------------------------------------------------------------------------

const SOURCES = ['shared', 'server', 'electron', 'cli', 'web', 'bench', 'renderer'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'vite.config.ts', ...readdirSync(REPO).filter((n) => /^tsconfig.*\.json$/.test(n))];

function newestSource() {
  let newest = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (path.basename(p) === 'node_modules') return;
      for (const name of readdirSync(p)) visit(path.join(p, name));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const name of [...SOURCES, ...SOURCE_FILES]) visit(path.join(REPO, name));
  return newest;
}

/** Are the outputs there, and newer than every source? (tsc, vite and rolldown rewrite all they emit.) */
function upToDate(outputs) {
  if (values.rebuild) return false;
  let oldest = Infinity;
  for (const f of outputs) {
    try {
      oldest = Math.min(oldest, statSync(path.join(REPO, f)).mtimeMs);
    } catch {
      return false;
    }
  }
  return newestSource() < oldest;
}

/** `npm run build` (the node code, the renderer, and the Electron glue where Electron is installed). */
function build(outputs) {
  if (upToDate(outputs)) return;
  console.log('Building Ferry…');
  const npm = process.env.npm_execpath;
  const [command, args] = npm && npm.endsWith('.js') ? [process.execPath, [npm, 'run', 'build']] : ['npm', ['run', 'build']];
  const result = spawnSync(command, args, { cwd: REPO, encoding: 'utf8', shell: process.platform === 'win32' && command === 'npm' });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
    console.error('npm start: the build failed (npm run build); its output is above.');
    process.exit(1);
  }
}

const WEB_OUTPUTS = ['dist/web/cli.js', 'dist/server/cli.js', 'dist/cli/ferry.bundle.js', 'dist/renderer/index.html', 'dist/engine/app/local-server/local-server-watchdog.js'];
const APP_OUTPUTS = [...WEB_OUTPUTS, 'dist/electron/main/main.js', 'dist/electron/preload.cjs'];

// ---- running ----------------------------------------------------------------------------

async function browserMode(why) {
  build(WEB_OUTPUTS);
  if (why) console.log(`${why}; starting Ferry in your browser instead.`);
  const { main } = await import(pathToFileURL(path.join(REPO, 'dist', 'web', 'cli.js')).href);
  await main(rest, { mode: 'start', name: 'npm start', usage: 'Usage: npm start -- [--web] [options]' });
}

function desktopApp(binary) {
  build(APP_OUTPUTS);
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  // (Browser mode's options mean nothing to the app.)
  const child = spawn(binary, [REPO], { cwd: REPO, env, stdio: 'inherit' });
  const forward = (signal) => () => {
    if (child.exitCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  child.on('error', (err) => {
    console.error(`npm start: could not launch Electron (${err.message}); starting Ferry in your browser instead.`);
    void browserMode();
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1)));
}

if (values.web) {
  await browserMode();
} else {
  const electron = findElectron();
  if (electron.binary) desktopApp(electron.binary);
  else await browserMode(electron.why);
}
