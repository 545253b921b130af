/**
 * The local server (engine/app/local-server/local-server.ts): the app's own ferryd, run as a
 * child process from bin/ferryd.js, with a generated account whose login is kept as SCRAM
 * keys, its key trusted from its own report, its data kept across runs, and no server
 * left behind when the app dies. And the backend's built-in "Local server" profile.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { callBackend, createBackend } from '../../engine/app/backend.js';
import { KnownHosts } from '../../engine/app/stores/known-hosts.js';
import { LOCAL_PROFILE_ID, LocalServer, defaultDataDir, localUserName } from '../../engine/app/local-server/local-server.js';
import { RemoteSession } from '../../engine/wire/session.js';
import { FerryError } from '../../shared/common/errors.js';
import { REPO, cleanupAll, onCleanup, tempDir } from '../helpers/harness.js';

afterAll(cleanupAll);

async function dirs(): Promise<{ dataDir: string; configDir: string }> {
  return { dataDir: await tempDir('ferry-data-'), configDir: await tempDir('ferry-config-') };
}

function started(server: LocalServer): LocalServer {
  onCleanup(() => server.stop());
  return server;
}

/** Does anything accept connections on 127.0.0.1:port? */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('local server', () => {
  it('names the account after the OS user, or "me"', () => {
    expect(localUserName('alice')).toBe('alice');
    expect(localUserName('Jane Doe')).toBe('jane_doe');
    expect(localUserName('José')).toBe('jose');
    expect(localUserName('42')).toBe('me');
    expect(localUserName('')).toBe('me');
    expect(localUserName(undefined)).toBe('me');
    expect(localUserName('DOMAIN\\Admin')).toBe('domain_admin');
    expect(localUserName('x'.repeat(50))).toBe('x'.repeat(32));
  });

  it('keeps its data in FERRY_DATA_DIR or the platform data folder', () => {
    expect(defaultDataDir({ FERRY_DATA_DIR: '/d' }, 'linux', '/home/a')).toBe('/d');
    expect(defaultDataDir({}, 'linux', '/home/a')).toBe('/home/a/.local/share/ferry');
    expect(defaultDataDir({ XDG_DATA_HOME: '/x' }, 'linux', '/home/a')).toBe('/x/ferry');
    expect(defaultDataDir({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/a')).toBe('/home/a/.local/share/ferry');
    expect(defaultDataDir({}, 'darwin', '/Users/a')).toBe('/Users/a/Library/Application Support/Ferry');
    expect(defaultDataDir({ LOCALAPPDATA: 'C:\\Users\\a\\AppData\\Local' }, 'win32', 'C:\\Users\\a')).toBe('C:\\Users\\a\\AppData\\Local\\Ferry');
  });

  it('creates an account, trusts its own key, logs in with stored keys, and keeps its data across runs', async () => {
    const { dataDir, configDir } = await dirs();
    const server = started(new LocalServer({ dataDir, configDir, user: 'alice' }));
    const info = await server.start();
    expect(info).toMatchObject({ host: '127.0.0.1', user: 'alice', root: path.join(dataDir, 'local-server') });
    expect(info.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(server.describe()).toEqual({ user: 'alice', port: info.port });
    // Concurrent and repeated starts share the one server.
    expect(await Promise.all([server.start(), server.start()])).toEqual([info, info]);

    // The login is kept as keys (never a password), readable by this user only.
    const stateFile = path.join(dataDir, 'local-server.json');
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600);
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(state).sort()).toEqual(['keys', 'port', 'user', 'version']);
    expect(Object.keys(state['keys'] as object).sort()).toEqual(['clientKey', 'iterations', 'salt', 'serverKey']);
    const users = JSON.parse(await readFile(path.join(info.root, 'users.json'), 'utf8')) as { users: Array<{ name: string; exec: boolean; quota: number | null }> };
    expect(users.users).toEqual([expect.objectContaining({ name: 'alice', exec: true, quota: null })]);

    // Its key is in known_hosts, as the CLI and the backend read it.
    expect(await new KnownHosts(path.join(configDir, 'known_hosts')).check(`127.0.0.1:${info.port}`, info.fingerprint)).toEqual({ kind: 'known' });

    const session = await RemoteSession.connect({
      host: info.host,
      port: info.port,
      user: info.user,
      credential: { keys: info.keys },
      verifyHostKey: (fp) => {
        if (fp !== info.fingerprint) throw new FerryError('EHOSTKEY', fp);
      },
    });
    expect(session.user).toMatchObject({ name: 'alice', exec: true, quota: null });
    await session.mkdir('kept');
    session.close();

    // Next run: the same port (it is free again), key, login and files.
    await server.stop();
    expect(await listening(info.port)).toBe(false);
    const again = started(new LocalServer({ dataDir, configDir }));
    const second = await again.start();
    expect(second).toEqual(info);
    expect((await stat(path.join(info.root, 'homes', 'alice', 'kept'))).isDirectory()).toBe(true);
  });

  it('sets a new login when the stored keys do not match the server any more', async () => {
    const { dataDir, configDir } = await dirs();
    const first = started(new LocalServer({ dataDir, configDir, user: 'bob' }));
    const info = await first.start();
    await first.stop();
    const stateFile = path.join(dataDir, 'local-server.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as { keys: { clientKey: string } };
    state.keys.clientKey = Buffer.alloc(32, 7).toString('base64');
    await writeFile(stateFile, JSON.stringify(state));

    const second = started(new LocalServer({ dataDir, configDir }));
    const fixed = await second.start();
    expect(fixed.user).toBe('bob');
    expect(fixed.keys.clientKey).not.toBe(state.keys.clientKey);
    expect(fixed.keys.salt).not.toBe(info.keys.salt);
    const session = await RemoteSession.connect({ host: fixed.host, port: fixed.port, user: 'bob', credential: { keys: fixed.keys }, verifyHostKey: () => undefined });
    session.close();
  });

  it('moves to a free port when the last one is taken, and trusts the key there instead', async () => {
    const { dataDir, configDir } = await dirs();
    const first = started(new LocalServer({ dataDir, configDir, user: 'carol' }));
    const info = await first.start();
    await first.stop();
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(info.port, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

    const second = started(new LocalServer({ dataDir, configDir }));
    const moved = await second.start();
    expect(moved.port).not.toBe(info.port);
    expect(moved.fingerprint).toBe(info.fingerprint);
    const hosts = await new KnownHosts(path.join(configDir, 'known_hosts')).list();
    expect(hosts).toEqual([{ host: `127.0.0.1:${moved.port}`, fingerprint: info.fingerprint }]);
  });

  it('stops when the app that started it dies without stopping it', async () => {
    const { dataDir, configDir } = await dirs();
    const script = `
      const { LocalServer } = await import(${JSON.stringify(path.join(REPO, 'dist/engine/app/local-server/local-server.js'))});
      const info = await new LocalServer({ dataDir: ${JSON.stringify(dataDir)}, configDir: ${JSON.stringify(configDir)}, user: 'dave' }).start();
      console.log('port ' + info.port);
      setInterval(() => {}, 1000);
    `;
    const app = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    onCleanup(async () => {
      if (app.exitCode === null) app.kill('SIGKILL');
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      app.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /port (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      app.once('exit', (code) => reject(new Error(`the app exited early (${code})`)));
    });
    expect(await listening(port)).toBe(true);
    app.kill('SIGKILL');
    expect(await until(async () => !(await listening(port)), 10_000)).toBe(true);
  });
});

describe('the "Local server" profile', () => {
  it('is listed first, connects without a password or a prompt, and cannot be changed', async () => {
    const { dataDir, configDir } = await dirs();
    const local = started(new LocalServer({ dataDir, configDir, user: 'erin' }));
    const backend = createBackend({ configDir, downloadDir: await tempDir('ferry-dl-'), localServer: local });
    onCleanup(() => backend.dispose());

    await callBackend(backend, 'profiles:save', { name: 'elsewhere', host: 'files.example', port: 7070, user: 'erin' });
    const list = await callBackend(backend, 'profiles:list');
    expect(list.ok).toBe(true);
    const profiles = list.ok ? list.value : [];
    const info = await local.start();
    expect(profiles[0]).toEqual({
      id: LOCAL_PROFILE_ID,
      name: 'Local server',
      protocol: 'ferry',
      host: '127.0.0.1',
      port: info.port,
      user: 'erin',
      remembered: true,
      local: true,
    });
    expect(profiles.map((p) => p.name)).toEqual(['Local server', 'elsewhere']);

    // What the form sends for the profile does not matter: the server's own address, account and key do.
    const connected = await callBackend(backend, 'session:connect', { host: 'nowhere.example', port: 1, user: 'x', profileId: LOCAL_PROFILE_ID });
    expect(connected).toMatchObject({
      ok: true,
      value: {
        kind: 'connected',
        session: { protocol: 'ferry', host: '127.0.0.1', port: info.port, user: { name: 'erin', exec: true, quota: null }, profileId: LOCAL_PROFILE_ID },
      },
    });
    expect(await callBackend(backend, 'fs:mkdir', 'made-here')).toEqual({ ok: true, value: '/made-here' });
    expect((await stat(path.join(info.root, 'homes', 'erin', 'made-here'))).isDirectory()).toBe(true);

    expect(await callBackend(backend, 'profiles:delete', LOCAL_PROFILE_ID)).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(await callBackend(backend, 'profiles:save', { id: LOCAL_PROFILE_ID, name: 'x', host: 'h', port: 1, user: 'u' })).toMatchObject({
      ok: false,
      error: { code: 'EINVAL' },
    });
  });

  it('is not there without a local server', async () => {
    const backend = createBackend({ configDir: await tempDir('ferry-config-') });
    onCleanup(() => backend.dispose());
    expect(await callBackend(backend, 'profiles:list')).toEqual({ ok: true, value: [] });
    expect(await callBackend(backend, 'session:connect', { host: 'h', port: 1, user: 'u', profileId: LOCAL_PROFILE_ID })).toMatchObject({
      ok: false,
      error: { code: 'ENOENT' },
    });
  });
});
