/**
 * `npm run web`: the Ferry UI in your browser. Starts the web host on loopback, prints the
 * page's address (with its one-time token) and opens it. Ctrl+C stops it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { toFerryError } from '../shared/common/errors.js';
import { startWebHost } from './host.js';

const USAGE = `Usage: npm run web -- [options]

  --port N            port to listen on (default: a free one)
  --host ADDR         address to listen on (default 127.0.0.1; anything else exposes the UI to the network)
  --config-dir DIR    profiles, settings, history and known hosts (default: as the ferry CLI, FERRY_CONFIG_DIR)
  --download-dir DIR  download folder until one is chosen in the settings (default ~/Downloads/Ferry)
  --no-open           do not open a browser
  --verbose           log connections and errors on stderr`;

function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => process.stderr.write(`ferry web: could not open a browser; open the address above yourself\n`));
    child.unref();
  } catch {
    /* the address is printed: that is enough */
  }
}

export async function main(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'config-dir': { type: 'string' },
        'download-dir': { type: 'string' },
        'no-open': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`ferry web: ${(err as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`ferry web: bad --port ${values.port}\n`);
    process.exitCode = 2;
    return;
  }
  const host = values.host ?? '127.0.0.1';
  try {
    const web = await startWebHost({
      port,
      host,
      ...(values['config-dir'] !== undefined ? { configDir: path.resolve(values['config-dir']) } : {}),
      ...(values['download-dir'] !== undefined ? { downloadDir: path.resolve(values['download-dir']) } : {}),
      ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
    });
    if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
      process.stderr.write('ferry web: warning: listening beyond loopback; the token travels unencrypted over the network\n');
    }
    process.stdout.write(`Ferry web UI: ${web.url}\n`);
    if (!values['no-open']) openBrowser(web.url);
    let stopping = false;
    const stop = (): void => {
      if (stopping) process.exit(130);
      stopping = true;
      void web.close().finally(() => process.exit(0));
      setTimeout(() => process.exit(0), 5000).unref();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`ferry web: port ${port} is already in use: choose another with --port, or leave it out for a free one\n`);
      process.exitCode = 1;
      return;
    }
    const e = toFerryError(err);
    process.stderr.write(`ferry web: ${e.code}: ${e.message}\n`);
    process.exitCode = 1;
  }
}

void main(process.argv.slice(2));
