/**
 * The user database: ROOT/users.json, holding each account's quotas, exec permission and
 * SCRAM verifier (never a password). The file is small and rewritten whole, atomically
 * and durably, so a crash leaves the old database or the new one, never a torn one.
 */
import type { Account } from './storage.js';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { writeFileAtomic } from '../shared/node/atomic-file.js';

export interface ScramVerifier {
  /** Base64. */
  salt: string;
  iterations: number;
  /** Base64 H(ClientKey). */
  storedKey: string;
  /** Base64 HMAC(SaltedPassword, "Server Key"). */
  serverKey: string;
}

export interface UserRecord {
  readonly name: string;
  /** Bytes, or null for no quota. */
  readonly quota: number | null;
  /**
   * The most files, folders and links (partial uploads included) the account may have;
   * null for no limit; absent for DEFAULT_MAX_ENTRIES (see maxEntriesOf).
   */
  readonly entries?: number | null;
  /** May this account run shell commands? */
  readonly exec: boolean;
  readonly scram: ScramVerifier;
  /** ISO 8601 time the account was made. */
  readonly created: string;
}

/**
 * The entry quota of an account that was given none: without one, empty files and folders
 * (which cost no bytes) could be made by the million, and every usage walk and listing of
 * the home would pay for them. `ferryd user set NAME --entries none` lifts it.
 */
export const DEFAULT_MAX_ENTRIES = 1_000_000;

/** The entry quota that applies to an account: its own, or the default. */
export function maxEntriesOf(record: Pick<UserRecord, 'entries'>): number | null {
  return record.entries === undefined ? DEFAULT_MAX_ENTRIES : record.entries;
}

/** What storage knows of a user: its home's name and its two quotas. */
export function accountOf(record: UserRecord): Account {
  return { name: record.name, quota: record.quota, maxEntries: maxEntriesOf(record) };
}

const FILE_NAME = 'users.json';
const FORMAT_VERSION = 1;
const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/i;

/** Names become home folder names, so they are kept short and free of path tricks. */
export function validateUserName(name: string): void {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new FerryError(
      'EINVAL',
      `"${String(name)}" is not a valid user name: use 1 to 32 letters, digits, '_', '.' or '-', starting with a letter or '_'.`,
    );
  }
}

const base64 = z.string().min(1).max(1024).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

const UserRecordSchema = z.object({
  name: z.string().regex(USER_NAME, 'is not a valid user name'),
  quota: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
  entries: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable().optional(),
  exec: z.boolean(),
  scram: z.object({
    salt: base64,
    iterations: z.number().int().min(1).max(100_000_000),
    storedKey: base64,
    serverKey: base64,
  }),
  created: z.string().refine((text) => !Number.isNaN(Date.parse(text)), 'is not a date'),
});

const UsersFileSchema = z.object({
  version: z.literal(FORMAT_VERSION),
  users: z.array(UserRecordSchema),
});

export class UserStore {
  private users: readonly UserRecord[] = [];
  /** Reads and writes run one at a time, so concurrent changes never overwrite each other. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The file's identity (inode, size, times) when it was last read: what refresh() compares. */
  private identity = '';
  /** The refresh under way, shared by everyone who asks meanwhile (one stat for many requests). */
  private refreshing: Promise<void> | undefined;
  private gen = 0;

  private constructor(
    private readonly root: string,
    private readonly file: string,
  ) {}

  static async open(root: string): Promise<UserStore> {
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new FerryError(toFerryError(err).code, `Cannot create the server folder ${root} (${(err as Error).message}).`);
    }
    const store = new UserStore(root, path.join(root, FILE_NAME));
    store.adopt(await store.readFile());
    return store;
  }

  /** Grows each time the database is (re)read or written: a caller can tell that it changed. */
  get generation(): number {
    return this.gen;
  }

  get(name: string): UserRecord | undefined {
    return this.users.find((user) => user.name === name);
  }

  list(): readonly UserRecord[] {
    return this.users;
  }

  async add(record: UserRecord): Promise<void> {
    const user = checkRecord(record);
    await this.change((users) => {
      // Names differing only in case would share a home folder on a case-insensitive disk.
      const clash = users.find((other) => other.name.toLowerCase() === user.name.toLowerCase());
      if (clash) {
        throw new FerryError(
          'EEXIST',
          clash.name === user.name
            ? `The user "${user.name}" already exists.`
            : `The user "${clash.name}" already exists, and names may not differ only in case.`,
        );
      }
      return [...users, user];
    });
  }

  async update(name: string, change: Partial<Pick<UserRecord, 'quota' | 'entries' | 'exec' | 'scram'>>): Promise<UserRecord> {
    let updated: UserRecord | undefined;
    await this.change((users) => {
      const index = users.findIndex((user) => user.name === name);
      if (index < 0) throw noSuchUser(name);
      const current = users[index]!;
      updated = checkRecord({
        ...current,
        ...(change.quota !== undefined ? { quota: change.quota } : {}),
        ...(change.entries !== undefined ? { entries: change.entries } : {}),
        ...(change.exec !== undefined ? { exec: change.exec } : {}),
        ...(change.scram !== undefined ? { scram: change.scram } : {}),
      });
      return users.map((user, i) => (i === index ? updated! : user));
    });
    return updated!;
  }

  async remove(name: string): Promise<void> {
    await this.change((users) => {
      if (!users.some((user) => user.name === name)) throw noSuchUser(name);
      return users.filter((user) => user.name !== name);
    });
  }

  async reload(): Promise<void> {
    await this.serialize(async () => {
      this.adopt(await this.readFile());
    });
  }

  /**
   * Read the file again if another process (the admin CLI) replaced or changed it since we
   * last read it. Costs one stat when nothing changed, shared by concurrent callers.
   */
  refresh(): Promise<void> {
    this.refreshing ??= this.serialize(async () => {
      if ((await this.fileIdentity()) !== this.identity) this.adopt(await this.readFile());
    }).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /**
   * Apply `edit` to the database as it is on disk now (another process, such as the admin
   * CLI, may have changed it since we last read it), save it, and only then adopt it.
   */
  private change(edit: (users: readonly UserRecord[]) => readonly UserRecord[]): Promise<void> {
    return this.serialize(async () => {
      const next = edit(await this.readFile());
      await this.writeFile(next);
      this.adopt(next);
    });
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private adopt(users: readonly UserRecord[]): void {
    this.users = users;
    this.gen++;
  }

  private async fileIdentity(): Promise<string> {
    try {
      const s = await stat(this.file, { bigint: true });
      return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
      throw new FerryError('EIO', `Cannot read the user database ${this.file} (${(err as Error).message}).`);
    }
  }

  /** The users in the file; its identity is taken first, so a change while reading is seen next time. */
  private async readFile(): Promise<readonly UserRecord[]> {
    this.identity = await this.fileIdentity();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FerryError('EIO', `Cannot read the user database ${this.file} (${(err as Error).message}).`);
    }
    const corrupt = (why: string): FerryError =>
      new FerryError('EIO', `The user database ${this.file} is corrupt (${why}). Fix it by hand or restore it from a backup.`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw corrupt(`not valid JSON: ${(err as Error).message}`);
    }
    const parsed = UsersFileSchema.safeParse(json);
    if (!parsed.success) {
      throw corrupt(
        parsed.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.join('.') || 'top level'}: ${issue.message}`)
          .join('; '),
      );
    }
    const seen = new Set<string>();
    for (const user of parsed.data.users) {
      const key = user.name.toLowerCase();
      if (seen.has(key)) throw corrupt(`the user "${user.name}" appears twice`);
      seen.add(key);
    }
    return parsed.data.users.map(freeze);
  }

  private async writeFile(users: readonly UserRecord[]): Promise<void> {
    const text = JSON.stringify({ version: FORMAT_VERSION, users }, null, 2) + '\n';
    try {
      // 0600 exactly, whatever the umask: the file holds SCRAM verifiers.
      await writeFileAtomic(this.file, text, { mode: 0o600 });
    } catch (err) {
      if (err instanceof FerryError) throw err;
      throw new FerryError(toFerryError(err).code, `Cannot save the user database ${this.file} (${(err as Error).message}).`);
    }
  }
}


function checkRecord(record: UserRecord): UserRecord {
  validateUserName(record.name);
  const parsed = UserRecordSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FerryError('EINVAL', `Invalid user record for "${record.name}": ${issue.path.join('.')} ${issue.message}.`);
  }
  return freeze(parsed.data);
}

/** A private, frozen copy: callers cannot change the store behind its back. */
function freeze(record: UserRecord): UserRecord {
  return Object.freeze({
    name: record.name,
    quota: record.quota,
    ...(record.entries !== undefined ? { entries: record.entries } : {}),
    exec: record.exec,
    scram: Object.freeze({ ...record.scram }),
    created: record.created,
  });
}

function noSuchUser(name: string): FerryError {
  return new FerryError('ENOENT', `There is no user "${name}".`);
}
