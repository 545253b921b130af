import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserStore, validateUserName, type UserRecord } from '../../server/user-store.js';
import { FerryError } from '../../shared/common/errors.js';

function user(name: string, extra: Partial<UserRecord> = {}): UserRecord {
  return {
    name,
    quota: null,
    exec: false,
    scram: { salt: 'c2FsdHNhbHQ=', iterations: 4096, storedKey: 'c3RvcmVk', serverKey: 'c2VydmVy' },
    created: '2026-01-02T03:04:05.000Z',
    ...extra,
  };
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-users-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('validateUserName', () => {
  it('accepts ordinary names', () => {
    for (const name of ['alice', 'Bob', '_svc', 'a.b-c_d', 'x'.repeat(32)]) expect(() => validateUserName(name)).not.toThrow();
  });

  it('rejects names that could not be a home folder', () => {
    for (const name of ['', '.', '..', '-x', '1abc', 'a/b', 'a b', 'x'.repeat(33), 'é']) {
      expect(() => validateUserName(name)).toThrow(FerryError);
    }
    expect(() => validateUserName('a/b')).toThrow(/not a valid user name/);
  });
});

describe('UserStore', () => {
  it('starts empty and creates the root folder', async () => {
    const dir = join(root, 'srv', 'ferry');
    const store = await UserStore.open(dir);
    expect(store.list()).toEqual([]);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it('adds, lists, updates and removes users, persisting each change', async () => {
    const store = await UserStore.open(root);
    await store.add(user('alice'));
    await store.add(user('bob', { quota: 1024, exec: true }));
    expect(store.list().map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(store.get('bob')).toEqual(user('bob', { quota: 1024, exec: true }));
    expect(store.get('carol')).toBeUndefined();

    const updated = await store.update('alice', { quota: 5000, exec: true });
    expect(updated).toEqual(user('alice', { quota: 5000, exec: true }));
    expect(store.get('alice')).toEqual(updated);
    const scram = { salt: 'bmV3', iterations: 8192, storedKey: 'bmV3c3Q=', serverKey: 'bmV3c2s=' };
    expect((await store.update('alice', { scram })).scram).toEqual(scram);
    expect((await store.update('alice', { quota: null })).quota).toBeNull();

    await store.remove('bob');
    expect(store.list().map((u) => u.name)).toEqual(['alice']);

    const again = await UserStore.open(root);
    expect(again.list()).toEqual(store.list());
  });

  it('refuses duplicates (also differing only in case) with EEXIST', async () => {
    const store = await UserStore.open(root);
    await store.add(user('alice'));
    await expect(store.add(user('alice'))).rejects.toMatchObject({ code: 'EEXIST', message: /already exists/ });
    await expect(store.add(user('Alice'))).rejects.toMatchObject({ code: 'EEXIST', message: /differ only in case/ });
    expect(store.list()).toHaveLength(1);
  });

  it('reports missing users with ENOENT', async () => {
    const store = await UserStore.open(root);
    await expect(store.update('ghost', { exec: true })).rejects.toMatchObject({ code: 'ENOENT', message: /no user "ghost"/ });
    await expect(store.remove('ghost')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses invalid records with EINVAL and changes nothing', async () => {
    const store = await UserStore.open(root);
    await expect(store.add(user('bad name'))).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(store.add(user('neg', { quota: -1 }))).rejects.toMatchObject({ code: 'EINVAL' });
    await store.add(user('alice'));
    await expect(store.update('alice', { quota: 1.5 })).rejects.toMatchObject({ code: 'EINVAL' });
    expect(store.get('alice')?.quota).toBeNull();
  });

  it('does not let callers change stored records', async () => {
    const store = await UserStore.open(root);
    const record = user('alice');
    await store.add(record);
    (record.scram as { iterations: number }).iterations = 1;
    expect(store.get('alice')?.scram.iterations).toBe(4096);
    expect(Object.isFrozen(store.get('alice'))).toBe(true);
  });

  it('writes a private file atomically, leaving no temporary files', async () => {
    const store = await UserStore.open(root);
    await Promise.all([store.add(user('a')), store.add(user('b')), store.add(user('c')), store.add(user('d'))]);
    expect(await readdir(root)).toEqual(['users.json']);
    expect((await stat(join(root, 'users.json'))).mode & 0o777).toBe(0o600);
    const json = JSON.parse(await readFile(join(root, 'users.json'), 'utf8')) as { version: number; users: UserRecord[] };
    expect(json.version).toBe(1);
    expect(json.users.map((u) => u.name).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('serializes concurrent changes so none is lost', async () => {
    const store = await UserStore.open(root);
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.add(user(`user${i}`))));
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.update(`user${i}`, { quota: i })));
    const again = await UserStore.open(root);
    expect(again.list()).toHaveLength(25);
    expect(again.get('user7')?.quota).toBe(7);
  });

  it('names a corrupt file in a clear EIO error', async () => {
    await writeFile(join(root, 'users.json'), '{ "version": 1, "users": [ ');
    const err = await UserStore.open(root).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('EIO');
    expect((err as FerryError).message).toContain(join(root, 'users.json'));
    expect((err as FerryError).message).toMatch(/corrupt.*not valid JSON/);
  });

  it('rejects a file with the wrong shape', async () => {
    await writeFile(join(root, 'users.json'), JSON.stringify({ version: 1, users: [{ name: 'alice', quota: 'lots' }] }));
    await expect(UserStore.open(root)).rejects.toMatchObject({ code: 'EIO', message: /corrupt.*users\.0\.quota/ });
    await writeFile(join(root, 'users.json'), JSON.stringify({ version: 1, users: [user('alice'), user('alice')] }));
    await expect(UserStore.open(root)).rejects.toMatchObject({ code: 'EIO', message: /appears twice/ });
    await writeFile(join(root, 'users.json'), JSON.stringify([user('alice')]));
    await expect(UserStore.open(root)).rejects.toMatchObject({ code: 'EIO' });
  });

  it('reload sees changes made by another instance', async () => {
    const server = await UserStore.open(root);
    const admin = await UserStore.open(root);
    await admin.add(user('alice'));
    expect(server.get('alice')).toBeUndefined();
    await server.reload();
    expect(server.get('alice')).toEqual(user('alice'));
    await admin.remove('alice');
    await server.reload();
    expect(server.list()).toEqual([]);
  });

  it('bases each change on the file as it is now, so another instance’s change is kept', async () => {
    const server = await UserStore.open(root);
    const admin = await UserStore.open(root);
    await server.add(user('alice'));
    await admin.add(user('bob')); // admin had not seen alice
    await server.update('alice', { exec: true }); // server had not seen bob
    const fresh = await UserStore.open(root);
    expect(fresh.list().map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(server.list().map((u) => u.name)).toEqual(['alice', 'bob']);
  });

  it('keeps the old state when a reload finds a corrupt file', async () => {
    const store = await UserStore.open(root);
    await store.add(user('alice'));
    await writeFile(join(root, 'users.json'), 'garbage');
    await expect(store.reload()).rejects.toMatchObject({ code: 'EIO' });
    expect(store.get('alice')).toBeDefined();
  });
});
