/**
 * `ferry`: the command-line front end of the engine (what the desktop app drives, minus
 * the window). Errors end the process with a non-zero code and one line on stderr that
 * names the stable code and what to do.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { ENGINE_DEFAULT_CHECK, isCheck, type CheckAlgorithm } from '../shared/common/checks.js';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import type { Entry } from '../shared/common/messages.js';
import { assertPlainAllowed } from '../shared/common/plain-tcp.js';
import { SEARCH_RESULTS_MAX } from '../shared/common/search-model.js';
import { formatBytes } from '../shared/common/size.js';
import { parseOctalMode } from '../shared/common/permissions.js';
import { KnownHosts, defaultConfigDir } from '../engine/app/stores/known-hosts.js';
import { TransferQueue } from '../engine/queue/transfer-queue.js';
import { scanUpload } from '../engine/queue/plan.js';
import { RateLimits } from '../engine/queue/rate-limit.js';
import { parseRate } from '../shared/common/speed-limit.js';
import { DEFAULT_PORTS, connect, hostPortOf, saveLogin, savedLogins, type Context, type Protocol } from './connect.js';
import { ProgressPrinter, transferJson } from './progress.js';
import { findCommand } from './find.js';
import { syncCommand } from './sync.js';
import { historyCommand } from './history.js';
import { TransferHistory } from '../engine/history/transfer-history.js';
import { logEntryOf } from '../engine/history/history-export.js';
import { printable } from './terminal-text.js';

const USAGE = `Usage: ferry [--protocol ferry|sftp] [--host H] [--port P] [--user U] [--identity FILE]
             [--plain [--insecure-plain-on-network]] <command> [args]

Commands:
  ls [PATH] [--json]             list a folder (JSON: name, type, size, mtime)
  put LOCAL... [REMOTE_DIR]      upload files and folders (recursive; resumes partials)
      [--skip-existing] [--json] keep files that already exist on the server; JSON: one
      [-p|--preserve-mode]       line per file with its state and check (xxh128, sha256 or size).
                                 New files get the local mode (less the server's umask);
                                 a file replaced keeps its own unless -p (like scp -p)
  get REMOTE... [LOCAL_DIR]      download files and folders (recursive; same options)
  sync LOCAL REMOTE              make two folders alike: prints the plan (each action and
      [--direction up|down|both] why), then carries it out. up (default): the remote
      [--delete] [--dry-run]     becomes like LOCAL; down: the reverse; both: the newer
      [--json]                   copy wins and a file changed on both sides since the last
                                 sync is a conflict (left alone). --delete removes extras;
                                 --dry-run only prints the plan; --json: one line per action
  find PATH PATTERN [--json]     names matching PATTERN anywhere below PATH, printed as
      [--case-sensitive]         they are found: a glob (*, ?, [abc], [!a-z]) matches the
      [--max N]                  whole name, plain text any part of it; case-insensitive
                                 unless asked; at most N results (default 5,000, up to
                                 10,000); links are listed, never followed; JSON: one line
                                 per match (path, type, size, mtime)
  mkdir [-p] PATH                create a folder (-p: with parents, no error if it exists)
  rm [-r] PATH                   delete a file, or a folder with -r
  mv FROM TO                     rename or move
  chmod [-R] MODE PATH...        set permission bits (octal, e.g. 755; at most 777);
                                 -R: a folder and everything below it (links skipped)
  exec "COMMAND"                 run a command on the server; exits with its exit code
  df [--json]                    quota, used and free bytes; entries and their limit
  known-hosts list|forget HOST:PORT
  history [SEARCH]               finished transfers of this computer (the app's and put/get's),
      [--json | --csv] [--limit N]  newest first; SEARCH matches paths and the server;
                                 --json/--csv: the whole record (with the SHA-256); no
                                 connection needed
  login                          log in with the password and save the login (its keys,
                                 not the password) so later commands need no password
  logout                         forget the saved login of --user at --host:--port

Options:
  --protocol P  ferry (a ferryd server, the default) or sftp (any SSH server)
  --host H      server (default 127.0.0.1, or FERRY_HOST); over SFTP also a Host of ~/.ssh/config
  --port P      port (default 7070 or FERRY_PORT; SFTP: ~/.ssh/config, else 22)
  --user U      user name (default FERRY_USER or your login name; SFTP: ~/.ssh/config first)
  --identity F  SFTP: the private key to log in with (default: ssh-agent, then ~/.ssh/config's
                IdentityFile, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa); a passphrase is
                asked for (or FERRY_PASSPHRASE)
  --plain       no TLS (trusted loopback and benchmarks only; the server must use --plain too);
                refused to a host other than 127.0.0.0/8, ::1 or localhost unless
  --insecure-plain-on-network   is given too
  --concurrency N   files transferred at once (default 4; small files are
                    pipelined, many at a time on each of these lanes)
  --limit-rate RATE put, get, sync: at most RATE bytes a second each way, for all
                    files together; like curl, K, M or G (powers of 1024) may follow,
                    e.g. 500K or 2M
  --check C         put, get, sync: how each file is checked end to end: xxh128 (the
                    default: XXH3-128, fast, catches corruption) or sha256 (slower; a
                    digest to compare with one made elsewhere). A server that offers
                    only SHA-256 gets SHA-256; SFTP: SHA-256 by sha256sum, or the size
A saved login (ferry login) is used first; otherwise the password comes from
FERRY_PASSWORD or is asked for (over SFTP only after the agent and keys failed).
Known host keys and saved logins are kept in FERRY_CONFIG_DIR (default: your OS's
config folder); over SFTP a key your ~/.ssh/known_hosts trusts is accepted too.`;

/** What to do next, per error code (one line after the error). */
const ADVICE: Partial<Record<string, string>> = {
  EAUTH: 'check --user and the password (FERRY_PASSWORD)',
  ECONN: 'is the server running there? check --protocol, --host and --port (and --plain on both sides or neither)',
  EQUOTA: 'free some space (ferry rm) or ask the administrator for a larger quota',
  ENOENT: 'check the path with ferry ls',
  EACCES: 'paths must stay inside your home',
  EPERM: 'ask the administrator to allow it (ferryd user set NAME --exec)',
  ENOTEMPTY: 'use rm -r to delete a folder and everything in it',
  EEXIST: 'choose another name, or use mkdir -p',
  ERATELIMIT: 'wait a little before trying again',
};

/** Over SFTP some codes mean something else: the server's own permissions, SSH logins. */
const SFTP_ADVICE: Partial<Record<string, string>> = {
  EAUTH: 'check --user, the key (--identity or ssh-agent) and the password (FERRY_PASSWORD)',
  ECONN: 'is an SSH server running there? check --host and --port',
  EACCES: "the server's file permissions do not allow it",
};

/** What to do next for `e`, or undefined. */
function adviceFor(e: FerryError, protocol: string | undefined): string | undefined {
  if (e.details?.passphraseFor !== undefined) return 'run it in a terminal to be asked, or set FERRY_PASSPHRASE';
  return (protocol === 'sftp' ? SFTP_ADVICE[e.code] : undefined) ?? ADVICE[e.code];
}

class UsageError extends Error {}

/** Exit codes for a command ended by a signal, as a shell reports them (128 + the number). */
const SIGNAL_NUMBERS: Partial<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };

function formatEntry(e: Entry): string {
  const kind = e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : e.type === 'file' ? '-' : '?';
  const bits = [0o400, 0o200, 0o100, 0o40, 0o20, 0o10, 0o4, 0o2, 0o1].map((b, i) => (e.mode & b ? 'rwx'[i % 3] : '-')).join('');
  const date = new Date(e.mtime).toISOString().slice(0, 16).replace('T', ' ');
  return `${kind}${bits} ${String(e.size).padStart(12)} ${date} ${printable(e.name)}${e.type === 'dir' ? '/' : ''}`;
}

async function transfer(
  ctx: Context,
  direction: 'upload' | 'download',
  sources: string[],
  target: string,
  options: { skipExisting: boolean; concurrency: number; json: boolean; rateLimits: RateLimits | undefined; check: CheckAlgorithm; preserveMode?: boolean },
): Promise<number> {
  // The local files are scanned while the connection is made (they need nothing from it).
  const scanned = direction === 'upload' ? scanUpload(sources, target, false) : undefined;
  scanned?.catch(() => undefined);
  const session = await connect(ctx, options.concurrency);
  // Every file that ends done goes into the history the app shows too.
  const history = new TransferHistory(ctx.configDir);
  const queue = new TransferQueue(session, {
    onDone: (done) => history.record(logEntryOf(session, done)),
    concurrency: options.concurrency,
    rateLimits: options.rateLimits,
    conflict: options.skipExisting ? 'skip' : 'overwrite',
    check: options.check,
    // Nothing else runs on this thread: small files are read and written directly.
    blockingSmallIo: true,
  });
  const printer = new ProgressPrinter(process.stderr);
  queue.on((event) => printer.onEvent(event));
  const onAbort = (): void => queue.cancelAll();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (direction === 'upload') await queue.upload(sources, target, { preserveMode: options.preserveMode ?? false, scanned });
    else await queue.download(sources, target);
    // Interrupted while folders were being scanned: nothing was running to cancel then.
    if (ctx.signal.aborted) queue.cancelAll();
    await queue.idle();
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    printer.finish();
    session.close();
    await history.flush();
  }
  if (ctx.signal.aborted) throw new FerryError('ECANCELED', 'interrupted');
  const views = queue.list();
  if (options.json) for (const t of views) process.stdout.write(`${JSON.stringify(transferJson(t))}\n`);
  const failed = views.filter((t) => t.state === 'failed');
  for (const t of failed) {
    process.stderr.write(`ferry: ${t.error?.code ?? 'EIO'}: ${printable(`${t.name}: ${t.error?.message ?? 'failed'}`)}\n`);
  }
  return failed.length > 0 ? 1 : 0;
}

/** --limit-rate RATE: one limit for uploads and one for downloads, both RATE (as curl's applies both ways). */
function limitRate(text: string | undefined): RateLimits | undefined {
  if (text === undefined) return undefined;
  let rate: number;
  try {
    rate = parseRate(text);
  } catch (err) {
    throw new UsageError(`--limit-rate: ${(err as Error).message}`);
  }
  const limits = new RateLimits();
  limits.set({ uploadLimit: rate, downloadLimit: rate });
  return limits;
}

async function run(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      protocol: { type: 'string' },
      identity: { type: 'string', short: 'i' },
      host: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string', short: 'u' },
      plain: { type: 'boolean' },
      'insecure-plain-on-network': { type: 'boolean' },
      json: { type: 'boolean' },
      parents: { type: 'boolean', short: 'p' },
      recursive: { type: 'boolean', short: 'r' },
      // chmod -R (as chmod(1) spells it; -r works too).
      Recursive: { type: 'boolean', short: 'R' },
      'preserve-mode': { type: 'boolean' },
      'skip-existing': { type: 'boolean' },
      direction: { type: 'string' },
      delete: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'case-sensitive': { type: 'boolean' },
      max: { type: 'string' },
      concurrency: { type: 'string' },
      csv: { type: 'boolean' },
      limit: { type: 'string' },
      'limit-rate': { type: 'string' },
      check: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && !values.help ? 2 : 0;
  }
  const configDir = defaultConfigDir();
  if (command === 'history') {
    if (values.json && values.csv) throw new UsageError('history: --json or --csv, not both');
    if (args.length > 1) throw new UsageError('history [SEARCH] [--json | --csv] [--limit N]');
    return historyCommand(configDir, { search: args[0], format: values.json ? 'json' : values.csv ? 'csv' : 'table', limit: values.limit });
  }
  if (command === 'known-hosts') {
    const known = new KnownHosts(path.join(configDir, 'known_hosts'));
    if (args[0] === 'list') {
      for (const h of await known.list()) process.stdout.write(`${h.host} ${h.fingerprint}\n`);
      return 0;
    }
    if (args[0] === 'forget' && args[1]) {
      const removed = await known.forget(args[1]);
      process.stderr.write(removed ? `ferry: forgot the key of ${args[1]}\n` : `ferry: no key recorded for ${args[1]}\n`);
      return removed ? 0 : 1;
    }
    throw new UsageError('known-hosts list | known-hosts forget HOST:PORT');
  }
  const protocol = (values.protocol ?? 'ferry') as Protocol;
  if (protocol !== 'ferry' && protocol !== 'sftp') throw new UsageError(`--protocol must be ferry or sftp, not "${values.protocol}"`);
  const sftp = protocol === 'sftp';
  // Over SFTP an unset port or user is left to ~/.ssh/config (then 22 and the login name).
  const portText = values.port ?? (sftp ? undefined : (process.env.FERRY_PORT ?? String(DEFAULT_PORTS.ferry)));
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port <= 0 || port > 65535)) throw new UsageError(`bad --port ${values.port}`);
  const concurrency = Number(values.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new UsageError('--concurrency must be 1 to 32');
  const rateLimits = limitRate(values['limit-rate']);
  const check = values.check ?? ENGINE_DEFAULT_CHECK;
  if (!isCheck(check)) throw new UsageError(`--check must be xxh128 or sha256, not "${values.check}"`);
  if (values.identity !== undefined && !sftp) throw new UsageError('--identity is for --protocol sftp');
  if (values.plain && sftp) throw new UsageError('--plain is for Ferry servers: SFTP is always encrypted');
  const ctx: Context = {
    protocol,
    host: values.host ?? process.env.FERRY_HOST ?? '127.0.0.1',
    port,
    user: values.user ?? (sftp ? undefined : (process.env.FERRY_USER ?? process.env.USER ?? 'ferry')),
    identityFile: values.identity,
    plain: values.plain ?? false,
    insecurePlainOnNetwork: values['insecure-plain-on-network'] ?? false,
    configDir,
    signal,
  };
  // Before a password is asked for: plain TCP to a network host is refused unless allowed.
  if (!sftp) assertPlainAllowed({ host: ctx.host, plain: ctx.plain, insecurePlainOnNetwork: ctx.insecurePlainOnNetwork }, 'client');
  const need = (n: number, what: string): void => {
    if (args.length < n) throw new UsageError(`${command}: ${what}`);
  };

  switch (command) {
    case 'login':
      return saveLogin(ctx);
    case 'logout': {
      const hostPort = hostPortOf(ctx);
      const removed = await savedLogins(configDir).forget(hostPort, ctx.user ?? '');
      process.stderr.write(
        removed ? `ferry: forgot the saved login of ${printable(`${ctx.user}@${hostPort}`)}\n` : `ferry: no saved login for ${printable(`${ctx.user}@${hostPort}`)}\n`,
      );
      return removed ? 0 : 1;
    }
    case 'put': {
      need(1, 'which files? (put LOCAL... [REMOTE_DIR])');
      const sources = args.length > 1 ? args.slice(0, -1) : args;
      const target = args.length > 1 ? args.at(-1)! : '.';
      // -p is put's --preserve-mode, as in scp (and mkdir's --parents elsewhere).
      const preserveMode = values['preserve-mode'] ?? values.parents ?? false;
      return transfer(ctx, 'upload', sources, target, { skipExisting: values['skip-existing'] ?? false, concurrency, json: values.json ?? false, rateLimits, check, preserveMode });
    }
    case 'get': {
      need(1, 'which files? (get REMOTE... [LOCAL_DIR])');
      const sources = args.length > 1 ? args.slice(0, -1) : args;
      const target = args.length > 1 ? args.at(-1)! : '.';
      return transfer(ctx, 'download', sources, target, { skipExisting: values['skip-existing'] ?? false, concurrency, json: values.json ?? false, rateLimits, check });
    }
    case 'sync': {
      need(2, 'sync LOCAL REMOTE');
      const direction = values.direction ?? 'up';
      if (direction !== 'up' && direction !== 'down' && direction !== 'both') throw new UsageError('--direction must be up, down or both');
      return syncCommand(ctx, args[0]!, args[1]!, {
        direction,
        deleteExtras: values.delete ?? false,
        dryRun: values['dry-run'] ?? false,
        json: values.json ?? false,
        concurrency,
        rateLimits,
        check,
      });
    }
    case 'find': {
      need(2, 'find PATH PATTERN');
      const max = values.max === undefined ? undefined : Number(values.max);
      if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > SEARCH_RESULTS_MAX)) {
        throw new UsageError(`--max must be 1 to ${SEARCH_RESULTS_MAX}`);
      }
      return findCommand(ctx, args[0]!, args[1]!, { json: values.json ?? false, caseSensitive: values['case-sensitive'] ?? false, maxResults: max });
    }
  }

  const session = await connect(ctx);
  try {
    switch (command) {
      case 'ls': {
        const { entries } = await session.list(args[0] ?? '.');
        entries.sort((a, b) => a.name.localeCompare(b.name));
        if (values.json) {
          const rows = entries.map(({ name, type, size, mtime }) => ({ name, type, size, mtime }));
          process.stdout.write(`${JSON.stringify(rows)}\n`);
        } else {
          for (const e of entries) process.stdout.write(`${formatEntry(e)}\n`);
        }
        return 0;
      }
      case 'mkdir':
        need(1, 'which folder?');
        for (const p of args) await session.mkdir(p, values.parents ?? false);
        return 0;
      case 'rm':
        need(1, 'which path?');
        for (const p of args) await session.remove(p, values.recursive ?? false);
        return 0;
      case 'mv':
        need(2, 'mv FROM TO');
        await session.rename(args[0]!, args[1]!);
        return 0;
      case 'chmod': {
        need(2, 'chmod [-R] MODE PATH...');
        const mode = parseOctalMode(args[0]!);
        if (mode === null) throw new FerryError('EINVAL', `Invalid mode "${printable(args[0]!)}": give octal rwx bits for owner, group and others, at most 777 (e.g. 755).`);
        const recursive = (values.Recursive ?? false) || (values.recursive ?? false);
        for (const p of args.slice(1)) await session.chmod(p, mode, { recursive, signal });
        return 0;
      }
      case 'df': {
        const df = await session.df();
        if (values.json) process.stdout.write(`${JSON.stringify(df)}\n`);
        else {
          const quota = df.quota === null ? 'none' : formatBytes(df.quota);
          const of = df.maxEntries === null || df.maxEntries === undefined ? '' : ` of ${df.maxEntries.toLocaleString('en')}`;
          const entries = df.entries === undefined ? '' : `  entries ${df.entries.toLocaleString('en')}${of}`;
          process.stdout.write(`quota ${quota}  used ${formatBytes(df.used)}  free ${formatBytes(df.free)}${entries}\n`);
        }
        return 0;
      }
      case 'pwd':
        process.stdout.write(`${printable(session.cwd)}\n`);
        return 0;
      case 'exec': {
        need(1, 'exec "COMMAND"');
        const exit = await session.exec(
          args.join(' '),
          (stream, chunk) => {
            const out = stream === 'stderr' ? process.stderr : process.stdout;
            if (!out.write(chunk)) return new Promise<void>((r) => out.once('drain', () => r()));
          },
          { signal },
        );
        if (exit.code !== null) return exit.code;
        return 128 + (SIGNAL_NUMBERS[exit.signal ?? ''] ?? 1);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } finally {
    session.close();
  }
}

/** The --protocol of a command line, for advice after an error (whatever else failed to parse). */
function protocolOf(argv: readonly string[]): string | undefined {
  const at = argv.findIndex((a) => a === '--protocol' || a.startsWith('--protocol='));
  if (at < 0) return undefined;
  return argv[at]!.includes('=') ? argv[at]!.split('=')[1] : argv[at + 1];
}

export async function main(argv: string[]): Promise<void> {
  const controller = new AbortController();
  // Whoever read our output has gone (`ferry exec … | head`): leave quietly, as a SIGPIPE
  // would; closing the connection stops the remote command.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(128 + 13);
  });
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort();
    // Give the cancel a moment to reach the server, then leave.
    setTimeout(() => process.exit(130), 1500).unref();
  });
  let code: number;
  try {
    code = await run(argv, controller.signal);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ferry: ${(err as Error).message}\n${USAGE}\n`);
      code = 2;
    } else {
      const e = toFerryError(err);
      const advice = adviceFor(e, protocolOf(argv));
      process.stderr.write(`ferry: ${e.code}: ${printable(e.message)}${advice ? ` (${advice})` : ''}\n`);
      code = 1;
    }
  }
  if (interrupted) code = 130;
  process.exitCode = code;
  // Stdout may still be flushing to a pipe (writes to pipes are asynchronous): an empty
  // write's callback runs once everything written before it is out; then leave.
  process.stdout.write('', () => process.exit(code));
}
