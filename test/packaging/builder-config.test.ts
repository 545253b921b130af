/**
 * Packaging, as far as it can be checked without Electron's binaries: electron-builder.yml
 * is valid for electron-builder's own schema and says what the issue asks; the icons exist
 * at the sizes the installers need; everything the config packs (and unpacks for the
 * local server) exists after `npm run build` (run by `pretest`); and `npm run dist`, where
 * Electron cannot be downloaded, fails with one clear line rather than a stack trace.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { NOT_INSTALLED, electronState } from '../../scripts/electron-state.mjs';
import { REPO } from '../helpers/harness.js';

const require = createRequire(path.join(REPO, 'package.json'));

interface BuilderConfig {
  appId?: string;
  productName?: string;
  directories?: { output?: string; buildResources?: string };
  files?: Array<string | { filter?: string[] }>;
  asarUnpack?: string[];
  extraMetadata?: { main?: string };
  linux?: { target?: string[]; category?: string; icon?: string; maintainer?: string };
  win?: { target?: string | string[]; icon?: string };
  mac?: { target?: string | string[]; icon?: string };
  [key: string]: unknown;
}

/** electron-builder's own loading and schema check (app-builder-lib, its config module). */
async function loadConfig(): Promise<BuilderConfig> {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
    getConfig(projectDir: string, configPath: string | null, fromOptions: null): Promise<BuilderConfig>;
    validateConfiguration(config: BuilderConfig, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  const config = await getConfig(REPO, path.join(REPO, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
  return config;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): { width: number; height: number } {
  const data = readFileSync(file);
  expect(data.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(data.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

const electronInstalled = existsSync(path.join(REPO, 'node_modules/electron/electron.d.ts'));
const electron = electronState(REPO);

/** Every file under `dir`, repo-relative. */
function filesUnder(dir: string): string[] {
  const abs = path.join(REPO, dir);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) return [dir];
  return readdirSync(abs).flatMap((name) => filesUnder(path.join(dir, name)));
}

/** A file glob as electron-builder reads one ("**" spans folders, "*" does not). */
function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A folder's name stands for everything in it.
  return new RegExp(`^${re}(?:/.*)?$`);
}

/** The part of a glob before its first wildcard ("dist/**\/*" → "dist"). */
function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const index = parts.findIndex((p) => /[*?{[]/.test(p));
  return (index < 0 ? parts : parts.slice(0, index)).join('/');
}

describe('electron-builder.yml', () => {
  it('is valid for electron-builder and names the app, its targets and icons', async () => {
    const config = await loadConfig();
    expect(config.appId).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/);
    expect(config.productName).toBe('Ferry');
    expect(config.directories?.output).toBe('release');
    expect(config.linux?.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.linux?.category).toBe('Network');
    expect(config.linux?.maintainer).toMatch(/<.+@.+>/);
    expect([config.win?.target].flat()).toContain('nsis');
    expect([config.mac?.target].flat()).toContain('dmg');
    expect(config.extraMetadata?.main).toBe((JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { main: string }).main);
  });

  it('rejects what is not electron-builder configuration (the check is real)', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(config: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    await expect(validateConfiguration({ appId: 'x.y.z', installerColour: 'blue' }, new DebugLogger(false))).rejects.toThrow(/installerColour/);
  });

  it('has icons at the sizes each platform needs, rendered from icons/icon.svg', async () => {
    const config = await loadConfig();
    expect(readFileSync(path.join(REPO, 'icons/icon.svg'), 'utf8')).toMatch(/^<svg [^>]*viewBox="0 0 512 512"/);
    for (const size of [16, 24, 32, 48, 64, 128, 256, 512, 1024]) {
      expect(pngSize(path.join(REPO, `icons/png/${size}x${size}.png`))).toEqual({ width: size, height: size });
    }
    // Linux takes a folder of NxN.png; Windows at least 256 px; macOS at least 512 px.
    const linuxDir = path.join(REPO, config.linux!.icon!);
    const linuxIcons = readdirSync(linuxDir).filter((n) => n.endsWith('.png'));
    expect(linuxIcons.length).toBeGreaterThanOrEqual(5);
    for (const name of linuxIcons) {
      const [w, h] = name.replace('.png', '').split('x').map(Number);
      expect(pngSize(path.join(linuxDir, name))).toEqual({ width: w, height: h });
    }
    const win = pngSize(path.join(REPO, config.win!.icon!));
    expect(win.width).toBeGreaterThanOrEqual(256);
    expect(win.width).toBe(win.height);
    const mac = pngSize(path.join(REPO, config.mac!.icon!));
    expect(mac.width).toBeGreaterThanOrEqual(512);
    expect(mac.width).toBe(mac.height);
  });

  it('packs files that exist after npm run build, the server and CLI included', async () => {
    const config = await loadConfig();
    const patterns = config.files!.flatMap((f) => (typeof f === 'string' ? [f] : (f.filter ?? [])));
    for (const pattern of patterns.filter((p) => !p.startsWith('!'))) {
      expect(filesUnder(globBase(pattern)).length, `nothing matches "${pattern}"`).toBeGreaterThan(0);
    }
    const packed = (file: string): boolean =>
      existsSync(path.join(REPO, file)) &&
      patterns.some((p) => !p.startsWith('!') && globRegExp(p).test(file)) &&
      !patterns.some((p) => p.startsWith('!') && globRegExp(p.slice(1)).test(file));
    const needed = [
      'package.json',
      'dist/renderer/index.html',
      // The local server and the CLI, as the packaged app runs them.
      'bin/ferryd.js',
      'bin/ferry.js',
      'dist/server/cli.js',
      'dist/cli/ferry.bundle.js',
      'dist/engine/app/local-server/local-server.js',
      'dist/engine/app/local-server/local-server-watchdog.js',
      'icons/png/512x512.png',
      ...(electronInstalled ? ['dist/electron/main/main.js', 'dist/electron/preload.cjs'] : []),
    ];
    for (const file of needed) expect(packed(file), `${file} is packed`).toBe(true);
    expect(packed('dist/bench/run.js')).toBe(false);
    expect(packed('dist/server/cli.js.map')).toBe(false);
    // What the local server's child process runs is unpacked from app.asar.
    for (const pattern of config.asarUnpack!) {
      const base = globBase(pattern);
      expect(existsSync(path.join(REPO, base)) || filesUnder(base).length > 0, `asarUnpack "${pattern}" matches nothing`).toBe(true);
    }
    for (const file of ['bin/ferryd.js', 'dist/server/cli.js', 'dist/shared/node/scram.js', 'dist/engine/app/local-server/local-server-watchdog.js']) {
      expect(config.asarUnpack!.some((p) => globRegExp(p).test(file)), `${file} is unpacked`).toBe(true);
    }
    // bin/ferryd.js finds its code where the build put it.
    for (const bin of ['bin/ferryd.js', 'bin/ferry.js']) {
      const target = /from '([^']+)'/.exec(readFileSync(path.join(REPO, bin), 'utf8'))![1]!;
      expect(existsSync(path.resolve(REPO, 'bin', target)), `${bin} → ${target}`).toBe(true);
    }
  });
});

describe('npm run dist', () => {
  // With Electron's binary present, dist would build real installers (minutes): that state
  // is covered by electron-state.test.ts, the two others here, as this checkout has them.
  it.skipIf(electron.kind === 'ready')(`fails with one clear line where Electron cannot be obtained (here: ${electron.kind})`, () => {
    // Any download goes to a port where nothing listens, whatever this machine's network.
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_MIRROR: 'http://127.0.0.1:9/', electron_config_cache: path.join(REPO, 'node_modules/.cache/ferry-no-electron') };
    delete env['ELECTRON_SKIP_BINARY_DOWNLOAD'];
    const npm = process.env['npm_execpath'];
    const [command, args] = npm?.endsWith('.js') ? [process.execPath, [npm, 'run', 'dist']] : ['npm', ['run', 'dist']];
    const result = spawnSync(command, args, { cwd: REPO, env, encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(1);
    const ours = result.stderr.split('\n').filter((l) => l.startsWith('npm run dist: '));
    expect(ours).toEqual([
      electron.kind === 'missing'
        ? `npm run dist: ${NOT_INSTALLED}`
        : expect.stringMatching(/^npm run dist: Electron could not be downloaded here \(.*ECONNREFUSED.*\), so installers cannot be built on this machine/),
    ]);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/^\s+at /m);
    expect(existsSync(path.join(REPO, 'release'))).toBe(false);
  });
});
