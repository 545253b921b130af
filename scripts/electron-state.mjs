// How Electron's package is present in a checkout, and what `npm run dist` needs of it.
// Electron is an optional dependency whose install script downloads its binary from
// outside the package registry, so a checkout can be in three states:
//   missing    the download failed during `npm install`, and npm dropped the package
//   no-binary  the package is there without its binary (ELECTRON_SKIP_BINARY_DOWNLOAD)
//   ready      the package and its binary
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** `{ kind: 'missing' } | { kind: 'no-binary', dir } | { kind: 'ready', dir, binary }` for the checkout at `repo`. */
export function electronState(repo) {
  const require = createRequire(path.join(repo, 'package.json'));
  let dir;
  try {
    dir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { kind: 'missing' };
  }
  // Electron's main export is its binary's path, and throws when the binary was never installed.
  let binary;
  try {
    binary = require(dir);
  } catch {
    binary = undefined;
  }
  return typeof binary === 'string' && existsSync(binary) ? { kind: 'ready', dir, binary } : { kind: 'no-binary', dir };
}

/** A short reason from a failed download's output (e.g. "connect ECONNREFUSED 127.0.0.1:9"). */
export function downloadFailure(output) {
  const known = /(getaddrinfo \w+ [^\s]+|connect \w+ [^\s]+|HTTPError: [^\n]+|E(?:NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT|AI_AGAIN|HOSTUNREACH|NETUNREACH)\b[^\n]*)/.exec(output);
  if (known) return known[1].trim();
  const first = output.split('\n').find((l) => l.trim() !== '');
  return (first ?? 'no output').trim().slice(0, 200);
}

export const NOT_INSTALLED =
  'Electron is not installed (npm drops its optional package when its binary cannot be downloaded), so installers cannot be built on this machine: run `npm install` where Electron can be downloaded (or set ELECTRON_MIRROR), then `npm run dist`.';

export function notDownloaded(why) {
  return `Electron could not be downloaded here (${why}), so installers cannot be built on this machine: run \`npm run dist\` where Electron's downloads are reachable (or set ELECTRON_MIRROR).`;
}

/**
 * Make sure Electron's binary is there for electron-builder: `{ ok: true, binary }`, or
 * `{ ok: false, message }` with one line saying why not and what to do. A package without
 * its binary gets one download attempt (its own install script, as npm would run it).
 */
export function ensureElectron(repo, { env = process.env, onDownload = () => {} } = {}) {
  const state = electronState(repo);
  if (state.kind === 'ready') return { ok: true, binary: state.binary };
  if (state.kind === 'missing') return { ok: false, message: NOT_INSTALLED };
  onDownload();
  const downloadEnv = { ...env };
  delete downloadEnv.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const download = spawnSync(process.execPath, [path.join(state.dir, 'install.js')], { cwd: state.dir, env: downloadEnv, encoding: 'utf8', timeout: 10 * 60_000 });
  const after = electronState(repo);
  if (download.status === 0 && after.kind === 'ready') return { ok: true, binary: after.binary };
  const why = download.error ? download.error.message : downloadFailure(`${download.stderr ?? ''}\n${download.stdout ?? ''}`);
  return { ok: false, message: notDownloaded(why) };
}
