/**
 * Saved logins for the CLI (`ferry login` / `ferry logout`), the way ssh keeps a key: a
 * command-line tool runs one login per command, and each login with the password costs
 * the 600,000-iteration PBKDF2 (about 0.1–0.2 s of CPU). A saved login keeps the SCRAM
 * keys that derivation produced (ClientKey and ServerKey, with the salt and iteration
 * count they belong to), never the password: they log in to that one account on that
 * one server, and stop working when its password changes. The file is private (0600),
 * replaced atomically, one entry per user@HOST:PORT.
 */
import path from 'node:path';
import { z } from 'zod';
import { ScramClientKeysSchema, type ScramClientKeys } from '../shared/node/scram.js';
import { JsonFile } from '../engine/app/stores/json-file.js';

const fileSchema = z.object({
  version: z.literal(1),
  logins: z.array(z.object({ host: z.string().min(1).max(300), user: z.string().min(1).max(300), keys: ScramClientKeysSchema })).max(10_000),
});

type Logins = z.infer<typeof fileSchema>;

/** Host names are case-insensitive: one entry per host, however it was typed. */
const hostKey = (hostPort: string): string => hostPort.toLowerCase();

export class SavedLogins {
  private readonly store: JsonFile<Logins>;
  readonly file: string;

  constructor(configDir: string, log?: (line: string) => void) {
    this.file = path.join(configDir, 'logins.json');
    this.store = new JsonFile(this.file, fileSchema, () => ({ version: 1 as const, logins: [] }), log);
  }

  async get(hostPort: string, user: string): Promise<ScramClientKeys | undefined> {
    const host = hostKey(hostPort);
    return (await this.store.read()).logins.find((l) => l.host === host && l.user === user)?.keys;
  }

  async save(hostPort: string, user: string, keys: ScramClientKeys): Promise<void> {
    const host = hostKey(hostPort);
    await this.store.update((value) => ({
      value: { version: 1 as const, logins: [...value.logins.filter((l) => !(l.host === host && l.user === user)), { host, user, keys }] },
      result: undefined,
    }));
  }

  /** True when there was a saved login to forget. */
  async forget(hostPort: string, user: string): Promise<boolean> {
    const host = hostKey(hostPort);
    return this.store.update((value) => {
      const logins = value.logins.filter((l) => !(l.host === host && l.user === user));
      return { value: { version: 1 as const, logins }, result: logins.length !== value.logins.length };
    });
  }
}
