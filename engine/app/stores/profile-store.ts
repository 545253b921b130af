/**
 * Saved connections (profiles.json in the config folder). A remembered login is encrypted
 * by the platform's secret store (Electron's safeStorage: Keychain, DPAPI, libsecret) and
 * is, for Ferry, the SCRAM client keys of the last login (never the password); for SFTP,
 * which has no such keys, the password and key passphrase typed. Where no secret store is
 * available nothing is remembered. Files written before SFTP name no protocol: Ferry's.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { Profile, ProfileInput } from '../../../shared/common/contract.js';
import { FerryError } from '../../../shared/common/errors.js';
import { AbsoluteRemotePath, BOOKMARKS_MAX, type PlacesInput } from '../../../shared/common/places.js';
import { PROTOCOLS } from '../../../shared/common/protocols.js';
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
  /** Absent in files written before SFTP: Ferry's protocol. */
  protocol: z.enum(PROTOCOLS).optional(),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(64),
  plain: z.boolean().optional(),
  insecurePlainOnNetwork: z.boolean().optional(),
  identityFile: z.string().min(1).max(4096).optional(),
  agent: z.boolean().optional(),
  /** Bookmarked remote folders and the start folder (places.ts). */
  bookmarks: z.array(AbsoluteRemotePath).max(BOOKMARKS_MAX).optional(),
  startFolder: AbsoluteRemotePath.optional(),
  /** base64 of SecretStore.encrypt(JSON of ScramClientKeys, or of an SftpLogin). */
  secret: z.string().max(16_384).optional(),
});
type StoredProfile = z.infer<typeof StoredProfile>;

const Places = z.object({ bookmarks: StoredProfile.shape.bookmarks, startFolder: StoredProfile.shape.startFolder });
type Places = z.infer<typeof Places>;

const ProfilesFile = z.object({
  version: z.literal(1),
  profiles: z.array(StoredProfile).max(10_000),
  /** The places of the built-in local server profile, which is not stored itself. */
  local: Places.optional(),
});
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
        const created: StoredProfile = { ...fields(input), ...changedPlaces({}, input), id: `p${randomBytes(6).toString('hex')}` };
        profiles.push(created);
        return { value: { ...data, profiles }, result: toProfile(created) };
      }
      const index = profiles.findIndex((p) => p.id === input.id);
      if (index < 0) throw new FerryError('ENOENT', `There is no saved connection with the id "${input.id}" (it may have been deleted).`);
      const old = profiles[index]!;
      // Places are kept unless the input names them (a connection form may not show them all).
      const updated: StoredProfile = { ...fields(input), ...changedPlaces(placesOf(old), input), id: old.id };
      // A login is bound to the account on that server: a different target forgets it.
      const sameTarget = sameAccount(toProfile(old), input);
      if (sameTarget && old.secret !== undefined) updated.secret = old.secret;
      profiles[index] = updated;
      return { value: { ...data, profiles }, result: toProfile(updated) };
    });
  }

  /** Change a profile's bookmarks or start folder, nothing else. */
  setPlaces(id: string, input: PlacesInput): Promise<Profile> {
    return this.file.update((data) => {
      const index = data.profiles.findIndex((p) => p.id === id);
      if (index < 0) throw new FerryError('ENOENT', `There is no saved connection with the id "${id}" (it may have been deleted).`);
      const profiles = [...data.profiles];
      const old = profiles[index]!;
      const { bookmarks: _b, startFolder: _s, ...rest } = old;
      const updated: StoredProfile = { ...rest, ...changedPlaces(placesOf(old), input) };
      profiles[index] = updated;
      return { value: { ...data, profiles }, result: toProfile(updated) };
    });
  }

  /** The built-in local server profile's places. */
  async localPlaces(): Promise<Places> {
    return (await this.file.read()).local ?? {};
  }

  setLocalPlaces(input: PlacesInput): Promise<Places> {
    return this.file.update((data) => {
      const local = changedPlaces(data.local ?? {}, input);
      return { value: { ...data, local }, result: local };
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

/** The same account on the same server, over the same protocol (where a remembered login may go). */
export function sameAccount(a: Pick<Profile, 'protocol' | 'host' | 'port' | 'user'>, b: Pick<Profile, 'protocol' | 'host' | 'port' | 'user'>): boolean {
  return a.protocol === b.protocol && a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port && a.user === b.user;
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

/** An SFTP login as remembered: what was typed, no more. */
export const SftpLogin = z.object({
  kind: z.literal('sftp'),
  password: z.string().max(1024).optional(),
  passphrase: z.string().max(1024).optional(),
});
export type SftpLogin = z.infer<typeof SftpLogin>;

export function sealSftpLogin(store: SecretStore, login: SftpLogin): string {
  return store.encrypt(JSON.stringify(login)).toString('base64');
}

export function openSftpLogin(store: SecretStore, secret: string): SftpLogin {
  let parsed: unknown;
  try {
    parsed = JSON.parse(store.decrypt(Buffer.from(secret, 'base64')));
  } catch {
    parsed = undefined;
  }
  const login = SftpLogin.safeParse(parsed);
  if (!login.success) {
    throw new FerryError('EAUTH', 'The remembered login cannot be read on this system any more: enter the password or passphrase.');
  }
  return login.data;
}

function fields(input: ProfileInput): Omit<StoredProfile, 'id'> {
  return {
    name: input.name,
    protocol: input.protocol,
    host: input.host,
    port: input.port,
    user: input.user,
    ...(input.plain !== undefined ? { plain: input.plain } : {}),
    ...(input.insecurePlainOnNetwork !== undefined ? { insecurePlainOnNetwork: input.insecurePlainOnNetwork } : {}),
    ...(input.identityFile !== undefined ? { identityFile: input.identityFile } : {}),
    ...(input.agent !== undefined ? { agent: input.agent } : {}),
  };
}

function placesOf(p: Places): Places {
  return { ...(p.bookmarks !== undefined ? { bookmarks: p.bookmarks } : {}), ...(p.startFolder !== undefined ? { startFolder: p.startFolder } : {}) };
}

/** `old` with what `input` names changed: bookmarks without duplicates, a null start folder removed. */
function changedPlaces(old: Places, input: PlacesInput): Places {
  const bookmarks = input.bookmarks !== undefined ? [...new Set(input.bookmarks)] : old.bookmarks;
  const startFolder = input.startFolder === undefined ? old.startFolder : (input.startFolder ?? undefined);
  return { ...(bookmarks !== undefined && bookmarks.length > 0 ? { bookmarks } : {}), ...(startFolder !== undefined ? { startFolder } : {}) };
}

function toProfile(stored: StoredProfile): Profile {
  const { secret, protocol, ...rest } = stored;
  return { ...rest, protocol: protocol ?? 'ferry', remembered: secret !== undefined };
}
