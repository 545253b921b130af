/**
 * Saved profiles (engine/app/stores/profile-store.ts): files written before SFTP still
 * load (as Ferry's), the new fields are kept, a remembered login never outlives a change
 * of server, user or protocol, and each protocol's secret opens only as its own kind.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ProfileStore,
  openKeys,
  openSftpLogin,
  sealKeys,
  sealSftpLogin,
  type SecretStore,
} from '../../engine/app/stores/profile-store.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';

afterAll(cleanupAll);

/** Not encryption, but enough to see that only what the store made is kept. */
const xorStore: SecretStore = {
  available: true,
  encrypt: (text) => Buffer.from(Buffer.from(text, 'utf8').map((b) => b ^ 0x5a)),
  decrypt: (data) => Buffer.from(data.map((b) => b ^ 0x5a)).toString('utf8'),
};
const keys = { salt: 'c2FsdA==', iterations: 600_000, clientKey: 'Y2xpZW50', serverKey: 'c2VydmVy' };

describe('profile store', () => {
  it('loads a file written before SFTP: every profile is Ferry’s, remembered logins stay', async () => {
    const dir = await tempDir('ferry-profiles-');
    const old = {
      version: 1,
      profiles: [
        { id: 'p1', name: 'Lab', host: 'lab.example', port: 7070, user: 'alice', secret: sealKeys(xorStore, keys) },
        { id: 'p2', name: 'Plain', host: '127.0.0.1', port: 7071, user: 'bob', plain: true },
      ],
    };
    await writeFile(path.join(dir, 'profiles.json'), JSON.stringify(old));
    const store = new ProfileStore(dir);
    expect(await store.list()).toEqual([
      { id: 'p1', name: 'Lab', protocol: 'ferry', host: 'lab.example', port: 7070, user: 'alice', remembered: true },
      { id: 'p2', name: 'Plain', protocol: 'ferry', host: '127.0.0.1', port: 7071, user: 'bob', plain: true, remembered: false },
    ]);
    const remembered = await store.get('p1');
    expect(openKeys(xorStore, remembered!.secret!)).toEqual(keys);
    // Nothing was rewritten by reading.
    expect(JSON.parse(await readFile(path.join(dir, 'profiles.json'), 'utf8'))).toEqual(old);
  });

  it('keeps an SFTP profile’s protocol, key file and agent choice', async () => {
    const dir = await tempDir('ferry-profiles-');
    const saved = await new ProfileStore(dir).save({
      name: 'Box',
      protocol: 'sftp',
      host: 'box.example',
      port: 22,
      user: 'carol',
      identityFile: '~/.ssh/id_box',
      agent: false,
    });
    expect(saved).toEqual({
      id: expect.any(String),
      name: 'Box',
      protocol: 'sftp',
      host: 'box.example',
      port: 22,
      user: 'carol',
      identityFile: '~/.ssh/id_box',
      agent: false,
      remembered: false,
    });
    expect(await new ProfileStore(dir).list()).toEqual([saved]);
  });

  it('forgets a remembered login when the protocol (or server, or user) changes, and keeps it otherwise', async () => {
    const dir = await tempDir('ferry-profiles-');
    const store = new ProfileStore(dir);
    const base = { name: 'Box', protocol: 'sftp' as const, host: 'box.example', port: 22, user: 'carol' };
    const saved = await store.save(base);
    await store.setSecret(saved.id, sealSftpLogin(xorStore, { kind: 'sftp', password: 'pw' }));
    expect(await store.save({ ...base, id: saved.id, name: 'Renamed', identityFile: '/keys/other' })).toMatchObject({ remembered: true });
    expect(await store.save({ ...base, id: saved.id, host: 'BOX.example' })).toMatchObject({ remembered: true });
    expect(await store.save({ ...base, id: saved.id, protocol: 'ferry', port: 22 })).toMatchObject({ remembered: false });
  });

  it('opens each protocol’s secret only as its own kind', () => {
    const sftp = sealSftpLogin(xorStore, { kind: 'sftp', password: 'pw', passphrase: 'words' });
    expect(openSftpLogin(xorStore, sftp)).toEqual({ kind: 'sftp', password: 'pw', passphrase: 'words' });
    expect(() => openKeys(xorStore, sftp)).toThrow(expect.objectContaining({ code: 'EAUTH' }));
    expect(() => openSftpLogin(xorStore, sealKeys(xorStore, keys))).toThrow(expect.objectContaining({ code: 'EAUTH' }));
    // Stored as the secret store made it: the password is not in the file's text.
    expect(Buffer.from(sftp, 'base64').toString('utf8')).not.toContain('pw');
  });
});
