/**
 * Saved connections (profiles.json in the config folder). A remembered login is kept as
 * the SCRAM client keys of the last login (never the password), encrypted by the
 * platform's secret store (Electron's safeStorage: Keychain, DPAPI, libsecret); where no
 * secret store is available nothing is remembered.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { Profile, ProfileInput } from '../../../shared/common/contract.js';
import { FerryError } from '../../../shared/common/errors.js';
import { ScramClientKeysSchema, type ScramClientKeys } from '../../../shared/node/scram.js';
import { JsonFile } from './json-file.js';

/** Encrypts small secrets for this user on this machine. */
export interface SecretStore {
  /** False when the platform offers no real protection: then nothing is remembered. */
  readonly available: boolean;
  encrypt(text: string): Buffer;
  decrypt(data: Buffer): string;
}

const StoredProfile = z.object({
  id: z.string().min(1).max(64),
  name: z.string().max(200),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(64),
  plain: z.boolean().optional(),
  insecurePlainOnNetwork: z.boolean().optional(),
  /** base64 of SecretStore.encrypt(JSON of ScramClientKeys). */
  secret: z.string().max(16_384).optional(),
});
type StoredProfile = z.infer<typeof StoredProfile>;

const ProfilesFile = z.object({ version: z.literal(1), profiles: z.array(StoredProfile).max(10_000) });
type ProfilesFile = z.infer<typeof ProfilesFile>;

export interface RememberedProfile {
  readonly profile: Profile;
  readonly secret: string | undefined;
}

export class ProfileStore {
  private readonly file: JsonFile<ProfilesFile>;

  constructor(configDir: string, log?: (line: string) => void) {
    this.file = new JsonFile(path.join(configDir, 'profiles.json'), ProfilesFile, () => ({ version: 1, profiles: [] }), log);
  }

  async list(): Promise<Profile[]> {
    return (await this.file.read()).profiles.map(toProfile);
  }

  async get(id: string): Promise<RememberedProfile | undefined> {
    const stored = (await this.file.read()).profiles.find((p) => p.id === id);
    return stored ? { profile: toProfile(stored), secret: stored.secret } : undefined;
  }

  /** Create (no id) or update (id of an existing profile). */
  save(input: ProfileInput): Promise<Profile> {
    return this.file.update((data) => {
      const profiles = [...data.profiles];
      if (input.id === undefined) {
        const created: StoredProfile = { ...fields(input), id: `p${randomBytes(6).toString('hex')}` };
        profiles.push(created);
        return { value: { ...data, profiles }, result: toProfile(created) };
      }
      const index = profiles.findIndex((p) => p.id === input.id);
      if (index < 0) throw new FerryError('ENOENT', `There is no saved connection with the id "${input.id}" (it may have been deleted).`);
      const old = profiles[index]!;
      const updated: StoredProfile = { ...fields(input), id: old.id };
      // Keys are bound to the account on that server: a different target forgets them.
      const sameTarget = old.host.toLowerCase() === input.host.toLowerCase() && old.port === input.port && old.user === input.user;
      if (sameTarget && old.secret !== undefined) updated.secret = old.secret;
      profiles[index] = updated;
      return { value: { ...data, profiles }, result: toProfile(updated) };
    });
  }

  delete(id: string): Promise<boolean> {
    return this.file.update((data) => {
      const profiles = data.profiles.filter((p) => p.id !== id);
      return { value: { ...data, profiles }, result: profiles.length !== data.profiles.length };
    });
  }

  /** Store (or with undefined, forget) the encrypted login of a profile. */
  setSecret(id: string, secret: string | undefined): Promise<void> {
    return this.file.update((data) => {
      const profiles = data.profiles.map((p) => {
        if (p.id !== id) return p;
        const { secret: _old, ...rest } = p;
        return secret === undefined ? rest : { ...rest, secret };
      });
      return { value: { ...data, profiles }, result: undefined };
    });
  }
}

export function sealKeys(store: SecretStore, keys: ScramClientKeys): string {
  return store.encrypt(JSON.stringify(keys)).toString('base64');
}

export function openKeys(store: SecretStore, secret: string): ScramClientKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(store.decrypt(Buffer.from(secret, 'base64')));
  } catch {
    parsed = undefined;
  }
  const keys = ScramClientKeysSchema.safeParse(parsed);
  if (!keys.success) {
    throw new FerryError('EAUTH', 'The remembered login cannot be read on this system any more: enter the password.');
  }
  return keys.data;
}

function fields(input: ProfileInput): Omit<StoredProfile, 'id'> {
  return {
    name: input.name,
    host: input.host,
    port: input.port,
    user: input.user,
    ...(input.plain !== undefined ? { plain: input.plain } : {}),
    ...(input.insecurePlainOnNetwork !== undefined ? { insecurePlainOnNetwork: input.insecurePlainOnNetwork } : {}),
  };
}

function toProfile(stored: StoredProfile): Profile {
  const { secret, ...rest } = stored;
  return { ...rest, remembered: secret !== undefined };
}
