/**
 * `npm run web`: the Ferry UI in your browser. Starts the web host on loopback, prints an
 * address to open and opens the browser. Both addresses carry one-time codes (see
 * page-access.ts): the browser opener gets its own, good for a minute, because other
 * local users can read its command line; the printed one is good until it is used, and
 * then a fresh one is printed for another browser. Ctrl+C stops it.
 *
 * `npm start` runs the same in browser mode (scripts/start.mjs calls main() with
 * `mode: 'start'`): then the local server (the app's own ferryd, see
 * engine/app/local-server/local-server.ts) runs too, and the output says a little more. Ctrl+C
 * stops both and exits 0; the local server's files stay for the next run.
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfigDir } from '../engine/app/stores/known-hosts.js';
import { LocalServer, defaultDataDir } from '../engine/app/local-server/local-server.js';
import { toFerryError } from '../shared/common/errors.js';
import { startWebHost, type WebHost } from './host.js';
import { OPENER_CODE_TTL_MS } from './page-access.js';

const OPTIONS = `  --port N            port to listen on (default: a free one)
  --host ADDR         address to listen on (default 127.0.0.1; anything else exposes the UI to the network)
  --config-dir DIR    profiles, settings, history and known hosts (default: as the ferry CLI, FERRY_CONFIG_DIR)
  --download-dir DIR  download folder until one is chosen in the settings (default ~/Downloads/Ferry)
  --local-server      run the local server (the "Local server" profile; on by default with npm start)
  --no-local-server   do not
  --data-dir DIR      where the local server keeps its files (default: FERRY_DATA_DIR, else ~/.local/share/ferry)
  --no-open           do not open a browser (open the printed address yourself: it works once)
  --verbose           log connections and errors on stderr`;

export interface WebCliOptions {
  /**
   * 'web' (npm run web): stdout is the page's address (and a fresh one each time the last
   * is used), nothing else. 'start' (npm start): the local server runs unless
   * --no-local-server, and stdout also says where it is, how to stop, and when everything
   * has stopped.
   */
  readonly mode?: 'web' | 'start';
  /** How messages start ("ferry web: …"). */
  readonly name?: string;
  /** The first line of the usage text. */
  readonly usage?: string;
}

/** Open the browser on `url`: it is on the opener's command line, so it must be a short-lived one-time address. */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write('Could not open a browser: open the address above yourself.\n'));
    child.unref();
  } catch {
    /* the address is printed: that is enough */
  }
}

/** Is there a desktop to open a browser on? (Over SSH or in CI there is not.) */
function canOpenBrowser(): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY']);
}

export async function main(argv: string[], cli: WebCliOptions = {}): Promise<void> {
  const name = cli.name ?? 'ferry web';
  const chatty = cli.mode === 'start';
  const usage = `${cli.usage ?? 'Usage: npm run web -- [options]'}\n\n${OPTIONS}`;
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'config-dir': { type: 'string' },
        'data-dir': { type: 'string' },
        'download-dir': { type: 'string' },
        'local-server': { type: 'boolean' },
        'no-local-server': { type: 'boolean' },
        'no-open': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const port = Number(values.port ?? 0);
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`${name}: bad --port ${values.port}: give a number from 1 to 65535, or 0 for a free one\n`);
    process.exitCode = 2;
    return;
  }
  const host = values.host ?? '127.0.0.1';
  const log = values.verbose ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
  const configDir = values['config-dir'] !== undefined ? path.resolve(values['config-dir']) : defaultConfigDir();
  const withLocal = values['no-local-server'] ? false : values['local-server'] === true || chatty;
  const local = !withLocal
    ? undefined
    : new LocalServer({
        dataDir: values['data-dir'] !== undefined ? path.resolve(values['data-dir']) : defaultDataDir(),
        configDir,
        ...(log ? { log } : {}),
      });
  // Started alongside the web host; tabs that ask for it before it is up wait for it.
  const localStarted = local?.start();
  localStarted?.catch(() => undefined);
  try {
    const web = await startWebHost({
      port,
      host,
      configDir,
      ...(values['download-dir'] !== undefined ? { downloadDir: path.resolve(values['download-dir']) } : {}),
      ...(log ? { log } : {}),
      ...(local ? { localServer: local } : {}),
    });
    if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
      process.stderr.write(`${name}: warning: listening beyond loopback; the address's code and the session cookie travel unencrypted over the network\n`);
    }
    if (local) {
      try {
        const info = await localStarted!;
        // (`npm run web` keeps stdout to the address alone.)
        (chatty ? process.stdout : process.stderr).write(
          `Local server: ${info.user}@${info.host}:${info.port} (files in ${path.join(info.root, 'homes', info.user)})\n`,
        );
      } catch (err) {
        process.stderr.write(`${name}: ${toFerryError(err).message} (Ferry works without it: add a remote server in the UI)\n`);
      }
    }
    // Handlers first: whoever reads the address may ask us to stop at once.
    let stoppedAt = 0;
    const stop = (): void => {
      // One Ctrl+C can arrive twice (from the terminal and forwarded by npm): only a later
      // one means "stop now".
      if (stoppedAt !== 0) {
        if (Date.now() - stoppedAt > 1000) process.exit(130);
        return;
      }
      stoppedAt = Date.now();
      void Promise.allSettled([web.close(), local?.stop()]).finally(() => {
        if (chatty) process.stdout.write('Ferry stopped.\n');
        process.exit(0);
      });
      setTimeout(() => process.exit(0), 8000).unref();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    printAddress(web, 'Ferry web UI');
    if (!values['no-open'] && canOpenBrowser()) openBrowser(web.oneTimeUrl({ ttlMs: OPENER_CODE_TTL_MS }));
    if (chatty) process.stdout.write('Press Ctrl+C to stop.\n');
  } catch (err) {
    await local?.stop();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`${name}: port ${port} is already in use: choose another with --port, or leave it out for a free one\n`);
      process.exitCode = 1;
      return;
    }
    const e = toFerryError(err);
    process.stderr.write(`${name}: ${e.code}: ${e.message}\n`);
    process.exitCode = 1;
  }
}

/**
 * Print a one-time address for a person to open (terminal output is not on any command
 * line, so it need not expire); once a browser has used it, print the next one.
 */
function printAddress(web: WebHost, label: string): void {
  const url = web.oneTimeUrl({ onUse: () => printAddress(web, 'Ferry web UI for another browser') });
  process.stdout.write(`${label}: ${url}\n`);
}

// Run when this file is the program (`npm run web`), not when imported (scripts/start.mjs).
function isEntry(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
if (isEntry()) void main(process.argv.slice(2));
