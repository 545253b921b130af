/**
 * `ferryd`: manage users and serve. The user database lives in ROOT/users.json; homes in
 * ROOT/homes/NAME; the server key in ROOT/tls.
 */
import { parseArgs } from 'node:util';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { formatBytes, parseSize } from '../shared/common/size.js';
import { readPassword } from '../shared/node/prompt.js';
import { createVerifier } from '../shared/node/scram.js';
import { FerryServer } from './server.js';
import { parseLimits, type Limits } from './server-context.js';
import { DEFAULT_MAX_ENTRIES, UserStore, maxEntriesOf, validateUserName } from './user-store.js';
import { flushLog } from './log.js';

const USAGE = `Usage:
  ferryd serve --root DIR [--host 127.0.0.1] [--port 7070] [--plain [--insecure-plain-on-network]]
               [--max-sessions-per-user 64] [--max-connections-per-user 256] [--umask 022]
  ferryd user add NAME --root DIR [--quota SIZE] [--entries N] [--exec]
  ferryd user passwd NAME --root DIR
  ferryd user set NAME --root DIR [--quota SIZE|none] [--entries N|none] [--exec | --no-exec]
  ferryd user del NAME --root DIR
  ferryd user list --root DIR

--max-sessions-per-user caps one user's logins at once, --max-connections-per-user
their connections (logins and data connections); more are refused with EBUSY.
--plain serves without TLS, on a loopback --host only (127.0.0.0/8, ::1, localhost)
unless --insecure-plain-on-network is given too.
--umask (octal) is taken from the permission bits of every file and folder a client
creates: an upload keeps its source's mode less these bits (default 022).
SIZE is bytes or a number with KiB, MiB, GiB or TiB. N is the most files, folders and
links the user may have (default ${DEFAULT_MAX_ENTRIES.toLocaleString('en')}). Passwords come from FERRY_PASSWORD
or are asked for (twice, without echo). --root defaults to FERRYD_ROOT.
FERRYD_LIMITS='{"preAuthTimeoutMs":5000,…}' overrides serve's limits (names and defaults:
DEFAULT_LIMITS in server/server-context.ts; meant for tests and tuning).`;

class UsageError extends Error {}

async function askNewPassword(): Promise<string> {
  const fromEnv = process.env.FERRY_PASSWORD;
  if (fromEnv !== undefined) {
    if (fromEnv.length === 0) throw new FerryError('EINVAL', 'FERRY_PASSWORD is empty');
    return fromEnv;
  }
  const first = await readPassword('New password: ');
  const second = await readPassword('Repeat it: ');
  if (first !== second) throw new FerryError('EINVAL', 'the passwords do not match');
  if (first.length === 0) throw new FerryError('EINVAL', 'the password is empty');
  return first;
}

function parseQuota(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'none' || text === 'unlimited') return null;
  return parseSize(text);
}

/** --entries: a whole number of entries, or none. */
function parseEntries(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  if (text === 'none' || text === 'unlimited') return null;
  const n = Number(text.replaceAll('_', ''));
  if (!/^[0-9_]+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`bad --entries ${text}: give a whole number, or none`);
  return n;
}

async function userCommand(args: string[], values: Record<string, unknown>, root: string): Promise<number> {
  const [action, name] = args;
  const store = await UserStore.open(root);
  const needName = (): string => {
    if (!name) throw new UsageError(`user ${action}: which user?`);
    validateUserName(name);
    return name;
  };
  switch (action) {
    case 'add': {
      const user = needName();
      if (store.get(user)) throw new FerryError('EEXIST', `user ${user} already exists`);
      const entries = parseEntries(values.entries as string | undefined);
      const scram = await createVerifier(await askNewPassword());
      await store.add({
        name: user,
        quota: parseQuota(values.quota as string | undefined) ?? null,
        ...(entries !== undefined ? { entries } : {}),
        exec: values.exec === true,
        scram,
        created: new Date().toISOString(),
      });
      process.stderr.write(`ferryd: added user ${user}\n`);
      return 0;
    }
    case 'passwd': {
      const user = needName();
      if (!store.get(user)) throw new FerryError('ENOENT', `no user ${user}`);
      await store.update(user, { scram: await createVerifier(await askNewPassword()) });
      process.stderr.write(`ferryd: changed the password of ${user}\n`);
      return 0;
    }
    case 'set': {
      const user = needName();
      const change: { quota?: number | null; entries?: number | null; exec?: boolean } = {};
      const quota = parseQuota(values.quota as string | undefined);
      if (quota !== undefined) change.quota = quota;
      const entries = parseEntries(values.entries as string | undefined);
      if (entries !== undefined) change.entries = entries;
      if (values.exec === true) change.exec = true;
      if (values['no-exec'] === true) change.exec = false;
      if (Object.keys(change).length === 0) throw new UsageError('user set: give --quota, --entries, --exec or --no-exec');
      await store.update(user, change);
      return 0;
    }
    case 'del': {
      const user = needName();
      await store.remove(user);
      process.stderr.write(`ferryd: deleted user ${user} (their files stay in the home folder)\n`);
      return 0;
    }
    case 'list': {
      for (const u of store.list()) {
        const quota = u.quota === null ? 'no quota' : `quota ${formatBytes(u.quota)}`;
        const max = maxEntriesOf(u);
        const entries = max === null ? 'no entry quota' : `${max.toLocaleString('en')} entries`;
        process.stdout.write(`${u.name}\t${quota}\t${entries}\t${u.exec ? 'exec' : 'no exec'}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown user command "${action ?? ''}"`);
  }
}

async function serve(values: Record<string, unknown>, root: string): Promise<number> {
  const port = Number(values.port ?? 7070);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad --port ${String(values.port)}`);
  // FERRYD_LIMITS='{"preAuthTimeoutMs":500}' overrides limits (tests, tuning); see server-context.ts.
  let limits: Partial<Limits> = {};
  const limitsText = process.env.FERRYD_LIMITS;
  if (limitsText !== undefined && limitsText.trim() !== '') {
    try {
      limits = parseLimits(limitsText);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const perUser = { maxSessionsPerUser: 'max-sessions-per-user', maxConnectionsPerUser: 'max-connections-per-user' } as const;
  for (const [limit, flag] of Object.entries(perUser)) {
    const text = values[flag] as string | undefined;
    if (text === undefined) continue;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} must be a whole number of at least 1, not "${text}"`);
    limits = { ...limits, [limit]: n };
  }
  const umaskText = values.umask as string | undefined;
  if (umaskText !== undefined && !/^[0-7]{1,3}$/.test(umaskText)) throw new UsageError(`--umask must be 1 to 3 octal digits (e.g. 022), not "${umaskText}"`);
  const server = await FerryServer.start({
    root,
    ...(umaskText !== undefined ? { umask: parseInt(umaskText, 8) } : {}),
    host: (values.host as string | undefined) ?? '127.0.0.1',
    port,
    plain: values.plain === true,
    limits,
    insecurePlainOnNetwork: values['insecure-plain-on-network'] === true,
  });
  process.stdout.write(`listening on ${server.host}:${server.port}\n`);
  if (server.fingerprint) {
    process.stdout.write(`key ${server.fingerprint}${server.createdKey ? ' (new key created)' : ''}\n`);
  } else {
    process.stdout.write('plain TCP: no encryption (trusted networks only)\n');
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      flushLog();
      process.stderr.write(`${new Date().toISOString()} ${signal}: stopping (partial uploads are kept for resume)\n`);
      // A failing close (say, a commit that cannot be flushed) must still end the process.
      void server
        .close()
        .catch((err: unknown) => {
          process.stderr.write(`${new Date().toISOString()} shutdown error: ${String(err)}\n`);
        })
        .then(() => resolve());
      setTimeout(resolve, 5000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

export async function main(argv: string[]): Promise<void> {
  let code: number;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        root: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        plain: { type: 'boolean' },
        'insecure-plain-on-network': { type: 'boolean' },
        quota: { type: 'string' },
        entries: { type: 'string' },
        exec: { type: 'boolean' },
        'no-exec': { type: 'boolean' },
        'max-sessions-per-user': { type: 'string' },
        'max-connections-per-user': { type: 'string' },
        umask: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...rest] = positionals;
    if (values.help || command === undefined) {
      process.stdout.write(`${USAGE}\n`);
      code = values.help ? 0 : 2;
    } else {
      const root = values.root ?? process.env.FERRYD_ROOT;
      if (!root) throw new UsageError('--root DIR is required (or set FERRYD_ROOT)');
      if (command === 'serve') code = await serve(values, root);
      else if (command === 'user') code = await userCommand(rest, values, root);
      else throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`ferryd: ${(err as Error).message}\n${USAGE}\n`);
      code = 2;
    } else {
      const e = toFerryError(err);
      process.stderr.write(`ferryd: ${e.code}: ${e.message}\n`);
      code = 1;
    }
  }
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}
