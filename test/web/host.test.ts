/**
 * Browser mode's host (web/host.ts) against a real ferryd: signing in with one-time
 * addresses, the session cookie, Origin and Host checks on the WebSocket, the static files
 * and their CSP, the contract over JSON messages and what a page may not call, and uploads
 * streamed as binary messages into the queue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { chmod, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { Events, EventName, Result } from '../../shared/common/contract.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { startWebHost, type WebHost } from '../../web/index.js';
import { UploadSpool, validateUploadFiles } from '../../web/upload-spool.js';
import type { WsClientMessage, WsHostMessage } from '../../shared/common/ws-messages.js';
import { REPO, cleanupAll, onCleanup, start, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { exists, sha256, treeDigest, waitFor } from '../helpers/files.js';
import { signIn, visit } from '../helpers/web-session.js';

const alice: TestUser = { name: 'alice', password: 'alice pass phrase' };
const carol: TestUser = { name: 'carol', password: 'carol pass phrase', quota: '1MiB' };

let server: Ferryd;
let web: WebHost;
let staticDir: string;
let spoolDir: string;
let outside: string;
let configDir: string;
let downloadDir: string;
/** The host's home for SSH (its .ssh folder holds the key files a page may name). */
let sshHome: string;
/** The session cookie of this file's tabs (`name=value`). */
let cookie: string;

beforeAll(async () => {
  server = await startFerryd({ users: [alice, carol] });
  const base = await tempDir('ferry-web-');
  staticDir = path.join(base, 'www');
  outside = path.join(base, 'secret.txt');
  await mkdir(path.join(staticDir, 'assets'), { recursive: true });
  await writeFile(path.join(staticDir, 'index.html'), '<!doctype html><title>Ferry</title><script type="module" src="./assets/app.js"></script>');
  await writeFile(path.join(staticDir, 'assets', 'app.js'), 'console.log("ferry");');
  await writeFile(path.join(staticDir, 'assets', 'app.css'), 'body{}');
  await writeFile(path.join(staticDir, '.env'), 'SECRET=dotfile');
  await writeFile(outside, 'TOP SECRET outside the web root');
  await symlink(outside, path.join(staticDir, 'assets', 'link.txt'));
  spoolDir = await tempDir('ferry-spool-');
  web = await startWebHost({
    staticDir,
    spoolDir,
    configDir: (configDir = await tempDir('ferry-config-')),
    downloadDir: (downloadDir = await tempDir('ferry-downloads-')),
    backend: { fsChangedDelayMs: 50, ssh: { home: (sshHome = await tempDir('ferry-ssh-home-')) } },
  });
  onCleanup(() => web.close());
  cookie = await signIn(web);
});
afterAll(cleanupAll);

/** A tab: a ws client speaking the host's protocol, with its events recorded. */
class Tab {
  readonly events: Array<{ name: EventName; payload: unknown }> = [];
  readonly uploadFailures = new Map<number, unknown>();
  private nextId = 1;
  private readonly pending = new Map<number, (r: Result<unknown>) => void>();
  closeCode: number | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(String(data)) as WsHostMessage;
      if (msg.t === 'result') this.pending.get(msg.id)?.(msg.result);
      else if (msg.t === 'event') this.events.push({ name: msg.name, payload: msg.payload });
      else if (msg.t === 'upload-failed') this.uploadFailures.set(msg.id, msg.error);
    });
    ws.on('close', (code) => (this.closeCode = code));
  }

  /** A tab signed in with this file's session cookie, unless `cookie` says otherwise (null: none). */
  static open(options: { cookie?: string | null; origin?: string | null; path?: string; headers?: Record<string, string> } = {}): Promise<Tab> {
    const url = `ws://127.0.0.1:${web.port}${options.path ?? '/api'}`;
    const sent = options.cookie === undefined ? cookie : options.cookie;
    const ws = new WebSocket(url, {
      ...(options.origin === null ? {} : { origin: options.origin ?? web.origin }),
      headers: { ...(sent !== null ? { cookie: sent } : {}), ...options.headers },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        const tab = new Tab(ws);
        onCleanup(async () => ws.close());
        resolve(tab);
      });
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(message: WsClientMessage | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Send a message answered by a result with its id (a new id, or the upload's for upload-end/abort). */
  request(make: (id: number) => WsClientMessage): Promise<Result<unknown>> {
    const message = make(this.nextId++);
    return new Promise((resolve) => {
      this.pending.set(message.id, (result) => {
        this.pending.delete(message.id);
        resolve(result);
      });
      this.send(message);
    });
  }

  call(name: string, ...args: unknown[]): Promise<Result<unknown>> {
    return this.request((id) => ({ t: 'call', id, name, args }) as WsClientMessage);
  }

  async ok(name: string, ...args: unknown[]): Promise<unknown> {
    const r = await this.call(name, ...args);
    if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`);
    return r.value;
  }

  of<E extends EventName>(name: E): Array<Events[E]> {
    return this.events.flatMap((e) => (e.name === name ? [e.payload as Events[E]] : []));
  }

  async connect(user: TestUser): Promise<void> {
    const input = { host: '127.0.0.1', port: server.port, user: user.name, password: user.password };
    let r = (await this.ok('session:connect', input)) as { kind: string; hostPort?: string; fingerprint?: string };
    if (r.kind === 'hostkey-new') {
      await this.ok('hosts:trust', r.hostPort, r.fingerprint);
      r = (await this.ok('session:connect', input)) as { kind: string };
    }
    expect(r.kind).toBe('connected');
  }

  /** Upload like the browser client: begin, the bytes in chunks, end. */
  async upload(remoteDir: string, files: Array<{ relativePath: string; data: Buffer }>, chunkSize = 1024 * 1024): Promise<Result<unknown>> {
    let uploadId = 0;
    const begin = await this.request((id) => {
      uploadId = id;
      return { t: 'upload-begin', id, remoteDir, files: files.map((f) => ({ relativePath: f.relativePath, size: f.data.length })) };
    });
    if (!begin.ok) return begin;
    // Chunks may span files: the host only counts bytes.
    const all = Buffer.concat(files.map((f) => f.data));
    for (let offset = 0; offset < all.length; offset += chunkSize) this.ws.send(all.subarray(offset, offset + chunkSize));
    return this.request(() => ({ t: 'upload-end', id: uploadId }));
  }
}

function get(urlPath: string, options: { method?: string; host?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: web.port, path: urlPath, method: options.method ?? 'GET', headers: options.host ? { host: options.host } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('startWebHost', () => {
  it('gives loopback one-time addresses with 18-byte base64url codes, a new one each time', () => {
    const a = web.oneTimeUrl();
    const b = web.oneTimeUrl();
    expect(a).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${web.port}/\\?code=[A-Za-z0-9_-]{24}$`));
    expect(b).not.toBe(a);
    expect(web.origin).toBe(`http://127.0.0.1:${web.port}`);
    expect(web.cookieName).toBe(`ferry-session-${web.port}`);
  });

  it('refuses the WebSocket without the session cookie, the right Origin, Host and path', async () => {
    await expect(Tab.open({ cookie: null })).rejects.toMatchObject({ status: 401 });
    await expect(Tab.open({ cookie: `${web.cookieName}=${'x'.repeat(43)}` })).rejects.toMatchObject({ status: 401 });
    await expect(Tab.open({ cookie: cookie.slice(0, -1) })).rejects.toMatchObject({ status: 401 });
    // The code itself is no session.
    const code = new URL(web.oneTimeUrl()).searchParams.get('code')!;
    await expect(Tab.open({ cookie: `${web.cookieName}=${code}` })).rejects.toMatchObject({ status: 401 });
    await expect(Tab.open({ origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(Tab.open({ origin: `http://localhost:${web.port}` })).rejects.toMatchObject({ status: 403 });
    await expect(Tab.open({ origin: null })).rejects.toMatchObject({ status: 403 });
    await expect(Tab.open({ headers: { host: `rebind.example:${web.port}` } })).rejects.toMatchObject({ status: 421 });
    await expect(Tab.open({ path: '/other' })).rejects.toMatchObject({ status: 404 });
    const tab = await Tab.open();
    expect(tab.ws.readyState).toBe(WebSocket.OPEN);
    // Among other cookies of 127.0.0.1 (cookies are not kept apart by port).
    const among = await Tab.open({ cookie: `other=1; ${web.cookieName}=stale; ${cookie}; last=2` });
    expect(among.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('signing in with a one-time address', () => {
  it('swaps the code for an HttpOnly, SameSite=Strict session cookie and leaves the address bar at /', async () => {
    const url = web.oneTimeUrl();
    const first = await visit(url);
    expect(first.status).toBe(303);
    expect(first.location).toBe('/');
    expect(first.setCookie).toMatch(new RegExp(`^${web.cookieName}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
    const session = first.setCookie!.split(';', 1)[0]!;
    expect((await Tab.open({ cookie: session })).ws.readyState).toBe(WebSocket.OPEN);

    // Once used, the address opens nothing for anyone else (say, another local user who read it in ps).
    const again = await visit(url);
    expect(again.status).toBe(403);
    expect(again.setCookie).toBeUndefined();
    expect(again.body).toContain('This address has been used');
    // The browser that used it just goes on to the page (a reload of an old address).
    expect(await visit(url, { cookie: session })).toMatchObject({ status: 303, location: '/', setCookie: undefined });
    // Nor does it ever work as a session of its own.
    await expect(Tab.open({ cookie: `${web.cookieName}=${new URL(url).searchParams.get('code')}` })).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a code after it expires, one it never gave, and uses one up only on GET', async () => {
    const shortLived = web.oneTimeUrl({ ttlMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    expect((await visit(shortLived)).status).toBe(403);
    expect((await visit(`${web.origin}/?code=${'A'.repeat(24)}`)).status).toBe(403);
    expect((await visit(`${web.origin}/?code=`)).status).toBe(403);

    let used = 0;
    const url = web.oneTimeUrl({ ttlMs: 60_000, onUse: () => used++ });
    // A link preview's HEAD does not use it up.
    expect((await visit(url, { method: 'HEAD' })).status).toBe(405);
    expect(used).toBe(0);
    expect((await visit(url)).status).toBe(303);
    expect((await visit(url)).status).toBe(403);
    expect(used).toBe(1);
  });

  it('keeps the sessions of two hosts apart', async () => {
    const other = await startWebHost({ staticDir, configDir: await tempDir('ferry-config-') });
    onCleanup(() => other.close());
    expect(other.cookieName).not.toBe(web.cookieName);
    const theirs = await signIn(other);
    // Its code and cookie mean nothing here, and ours nothing there.
    expect((await visit(`${web.origin}/?code=${new URL(other.oneTimeUrl()).searchParams.get('code')}`)).status).toBe(403);
    await expect(Tab.open({ cookie: `${web.cookieName}=${theirs.split('=')[1]}` })).rejects.toMatchObject({ status: 401 });
  });
});

describe('static files', () => {
  it('serves the renderer with a strict CSP and the right content types', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.body).toContain('<title>Ferry</title>');
    const csp = index.headers['content-security-policy'];
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${web.port}`);
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    expect(index.headers['referrer-policy']).toBe('no-referrer');
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    // The page itself is no secret: it loads without a session (and then says it was not let in).
    expect((await get('/?token=anything')).status).toBe(200);
    const used = await get('/?code=wrong');
    expect(used.status).toBe(403);
    expect(used.headers['content-security-policy']).toBe(csp);

    const js = await get('/assets/app.js');
    expect(js).toMatchObject({ status: 200, body: 'console.log("ferry");' });
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['content-security-policy']).toBe(csp);
    expect((await get('/assets/app.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/assets/app.js', { method: 'HEAD' })).headers['content-length']).toBe('21');
    expect((await get('/missing.js')).status).toBe(404);
    expect((await get('/assets')).status).toBe(404);
    expect((await get('/', { method: 'POST' })).status).toBe(405);
    expect((await get('/', { host: `rebind.example:${web.port}` })).status).toBe(421);
  });

  it('never serves anything outside its folder', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/..\\secret.txt',
      `/${encodeURIComponent(outside)}`,
      '//' + outside.slice(1),
      '/assets/link.txt',
      '/.env',
      '/%00',
      '/%E0%A4%A',
    ];
    for (const attempt of attempts) {
      const res = await get(attempt);
      expect([400, 404], `${attempt} → ${res.status}`).toContain(res.status);
      expect(res.body).not.toContain('TOP SECRET');
      expect(res.body).not.toContain('SECRET=');
    }
  });

  it('says how to build the UI when it is not built', async () => {
    const bare = await startWebHost({ staticDir: path.join(spoolDir, 'nothing-here'), configDir: await tempDir('ferry-config-') });
    onCleanup(() => bare.close());
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: bare.port, path: '/' }, (r) => {
          let body = '';
          r.setEncoding('utf8').on('data', (d: string) => (body += d));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('npm run build:renderer');
  });
});

describe('the contract over the WebSocket', () => {
  it('connects through the host key question and lists', async () => {
    const tab = await Tab.open();
    const input = { host: '127.0.0.1', port: server.port, user: alice.name, password: alice.password };
    const first = (await tab.ok('session:connect', input)) as { kind: string; hostPort: string; fingerprint: string };
    expect(first).toEqual({ kind: 'hostkey-new', hostPort: `127.0.0.1:${server.port}`, fingerprint: server.fingerprint });
    await tab.ok('hosts:trust', first.hostPort, first.fingerprint);
    expect(await tab.ok('session:connect', input)).toMatchObject({ kind: 'connected', session: { user: { name: 'alice' } } });
    expect(tab.of('session:state').map((s) => s.state)).toEqual(['connecting', 'disconnected', 'connecting', 'connected']);
    expect(await tab.ok('fs:list', '/')).toMatchObject({ path: '/', entries: expect.any(Array) });
    expect(await tab.call('fs:list', 42)).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(await tab.call('no:such')).toMatchObject({ ok: false, error: { code: 'EPROTO' } });
  });

  it('gives every tab its own session', async () => {
    const a = await Tab.open();
    const b = await Tab.open();
    await a.connect(alice);
    expect(await b.ok('session:state')).toEqual({ state: 'disconnected' });
    await b.connect(carol);
    expect(await a.ok('session:state')).toMatchObject({ session: { user: { name: 'alice' } } });
    expect(await b.ok('session:state')).toMatchObject({ session: { user: { name: 'carol' } } });
  });

  it('closes a socket that breaks the protocol', async () => {
    const tab = await Tab.open();
    tab.ws.send(Buffer.from('bytes nobody asked for'));
    await waitFor(() => tab.closeCode !== undefined, 5000, 'close');
    expect(tab.closeCode).toBe(1008);
    const other = await Tab.open();
    other.ws.send('{"t":"what"}');
    await waitFor(() => other.closeCode !== undefined, 5000, 'close');
    expect(other.closeCode).toBe(1008);
  });
});

describe('what a page may not call', () => {
  it('refuses uploads of paths on this computer (a page uploads only what it drops or picks)', async () => {
    const tab = await Tab.open();
    await tab.connect(alice);
    for (const paths of [['/etc/passwd'], [outside], [path.join(staticDir, 'assets')]]) {
      const r = await tab.call('transfers:uploadPaths', paths, '/');
      expect(r).toMatchObject({ ok: false, error: { code: 'EACCES', message: expect.stringContaining('browser mode') } });
    }
    expect(await exists(path.join(server.root, 'homes', 'alice', 'passwd'))).toBe(false);
    expect(await exists(path.join(server.root, 'homes', 'alice', 'secret.txt'))).toBe(false);
    expect(((await tab.ok('transfers:list')) as { transfers: unknown[] }).transfers).toEqual([]);
    // A dropped file still goes up, through the spool.
    expect(await tab.upload('/', [{ relativePath: 'dropped.txt', data: Buffer.from('dropped\n') }])).toMatchObject({ ok: true });
    await waitFor(async () => exists(path.join(server.root, 'homes', 'alice', 'dropped.txt')), 10_000, 'the dropped file');
  });

  it('shows the local pane inside the host’s folder only, and uploads by path from there only', async () => {
    const tab = await Tab.open();
    await tab.connect(alice);
    expect(await tab.ok('local:home')).toEqual({ home: downloadDir, top: downloadDir });
    await mkdir(path.join(downloadDir, 'pane', 'sub'), { recursive: true });
    await writeFile(path.join(downloadDir, 'pane', 'mine.txt'), 'from the pane\n');
    await symlink(path.dirname(outside), path.join(downloadDir, 'pane', 'out'));
    await symlink(outside, path.join(downloadDir, 'pane', 'out.txt'));
    const listed = (await tab.ok('local:list', path.join(downloadDir, 'pane'))) as { entries: Array<{ name: string; type: string }> };
    expect(listed.entries.map((e) => `${e.name}:${e.type}`).sort()).toEqual(['mine.txt:file', 'out.txt:symlink', 'out:symlink', 'sub:dir']);
    for (const elsewhere of ['/', '/etc', path.dirname(downloadDir), path.join(downloadDir, '..'), path.join(downloadDir, 'pane', 'out'), path.join(downloadDir, 'pane', 'out', 'www')]) {
      expect(await tab.call('local:list', elsewhere), elsewhere).toMatchObject({ ok: false, error: { code: 'EACCES', message: expect.stringContaining(downloadDir) } });
    }
    // By path: inside the folder only (a link out of it is out of it).
    for (const paths of [[path.join(downloadDir, 'pane', 'out.txt')], [path.join(downloadDir, 'pane', 'mine.txt'), outside]]) {
      expect(await tab.call('transfers:uploadPaths', paths, '/'), paths.join()).toMatchObject({ ok: false, error: { code: 'EACCES' } });
    }
    const views = (await tab.ok('transfers:uploadPaths', [path.join(downloadDir, 'pane', 'mine.txt')], '/')) as TransferView[];
    expect(views).toHaveLength(1);
    await waitFor(async () => exists(path.join(server.root, 'homes', 'alice', 'mine.txt')), 10_000, 'the uploaded file');
    expect(await readFile(path.join(server.root, 'homes', 'alice', 'mine.txt'), 'utf8')).toBe('from the pane\n');
    // Downloads into a folder the page names: inside it only.
    expect(await tab.call('transfers:download', ['/mine.txt'], path.dirname(downloadDir))).toMatchObject({ ok: false, error: { code: 'EACCES' } });
    expect(await tab.call('transfers:download', ['/mine.txt'], path.join(downloadDir, 'pane', 'out'))).toMatchObject({ ok: false, error: { code: 'EACCES' } });
    await tab.ok('transfers:download', ['/mine.txt'], path.join(downloadDir, 'pane', 'sub'));
    await waitFor(async () => exists(path.join(downloadDir, 'pane', 'sub', 'mine.txt')), 10_000, 'the downloaded file');
  });

  it('keeps the download folder inside the one the host was started with', async () => {
    const tab = await Tab.open();
    const settingsFile = path.join(configDir, 'settings.json');
    for (const elsewhere of ['/etc', path.dirname(downloadDir), path.join(downloadDir, '..', 'beside'), outside]) {
      expect(await tab.call('settings:set', { downloadDir: elsewhere }), elsewhere).toMatchObject({
        ok: false,
        error: { code: 'EACCES', message: expect.stringContaining(downloadDir) },
      });
    }
    expect(await exists(settingsFile)).toBe(false);
    expect(await tab.call('settings:set', { downloadDir: 'relative' })).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    const inside = path.join(downloadDir, 'photos', '2026');
    expect(await tab.ok('settings:set', { downloadDir: inside, concurrency: 3 })).toEqual({ downloadDir: inside, concurrency: 3, language: 'system', uploadLimit: 0, downloadLimit: 0, checkSha256: false });
    expect(await tab.ok('settings:set', { downloadDir })).toEqual({ downloadDir, concurrency: 3, language: 'system', uploadLimit: 0, downloadLimit: 0, checkSha256: false });

    // A folder the person chose in the desktop app (the same settings file) is kept, and the
    // page can still change other settings.
    await writeFile(settingsFile, JSON.stringify({ version: 1, downloadDir: '/srv/chosen-on-the-desktop' }));
    expect(await tab.ok('settings:set', { concurrency: 2 })).toEqual({ downloadDir: '/srv/chosen-on-the-desktop', concurrency: 2, language: 'system', uploadLimit: 0, downloadLimit: 0, checkSha256: false });
    expect(JSON.parse(await readFile(settingsFile, 'utf8'))).toMatchObject({ downloadDir: '/srv/chosen-on-the-desktop' });
  });

  it('takes an SFTP key file only from the host’s ~/.ssh', async () => {
    const tab = await Tab.open();
    const sshDir = path.join(sshHome, '.ssh');
    // A port nothing listens on: a connect the page may make fails there, not here.
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const sftp = { protocol: 'sftp', host: '127.0.0.1', port: closed, user: 'alice', agent: false };
    for (const identityFile of [outside, '/etc/ssh/ssh_host_ed25519_key', path.join(sshDir, '..', 'id_rsa'), '~/../id_rsa', '~/id_rsa']) {
      for (const [call, input] of [['session:connect', sftp], ['profiles:save', { ...sftp, name: 'box' }]] as const) {
        expect(await tab.call(call, { ...input, identityFile }), `${call} ${identityFile}`).toMatchObject({
          ok: false,
          error: { code: 'EACCES', message: expect.stringContaining(sshDir) },
        });
      }
    }
    for (const identityFile of [path.join(sshDir, 'id_ed25519'), '~/.ssh/id_work']) {
      const r = await tab.call('session:connect', { ...sftp, identityFile });
      expect(r, identityFile).toMatchObject({ ok: false });
      expect((r as { error: { code: string } }).error.code, identityFile).not.toBe('EACCES');
    }
    expect(await tab.ok('profiles:save', { ...sftp, name: 'box', identityFile: '~/.ssh/id_work' })).toMatchObject({ identityFile: '~/.ssh/id_work' });
  });
});

describe('uploads from the browser', () => {
  let tab: Tab;
  beforeAll(async () => {
    tab = await Tab.open();
    await tab.connect(alice);
  });

  it('streams a nested folder into the queue, which uploads it, then removes the spool', async () => {
    const files = [
      { relativePath: 'drop/readme.txt', data: Buffer.from('hello from the browser\n') },
      { relativePath: 'drop/empty.bin', data: Buffer.alloc(0) },
      { relativePath: 'drop/sub/naïve café.txt', data: Buffer.from('unicode\n') },
      { relativePath: 'drop/sub/deeper/big.bin', data: randomBytes(3 * 1024 * 1024 + 5) },
      { relativePath: 'drop/sub/deeper/small.bin', data: randomBytes(10) },
      { relativePath: 'loose.txt', data: Buffer.from('a loose file') },
    ];
    await tab.ok('fs:mkdir', '/incoming');
    const result = await tab.upload('/incoming', files, 700 * 1024);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    const views = (result as { value: TransferView[] }).value;
    expect(views.map((v) => v.remotePath).sort()).toEqual(files.map((f) => `/incoming/${f.relativePath}`).sort());

    await waitFor(
      () => {
        const latest = new Map<string, TransferView>();
        for (const e of tab.of('transfers:event')) if (e.kind !== 'removed') for (const t of e.transfers) latest.set(t.id, t);
        return views.every((v) => latest.get(v.id)?.state === 'done');
      },
      30_000,
      'uploads to be done',
    );
    const home = path.join(server.root, 'homes', 'alice', 'incoming');
    const digest = await treeDigest(home);
    for (const f of files) expect(digest[f.relativePath]).toBe(sha256(f.data));
    await waitFor(() => tab.of('fs:changed').some((e) => e.paths.includes('/incoming/drop/sub/deeper')), 5000, 'fs:changed');
    // The spool is gone once its transfers are done.
    await waitFor(async () => (await readdir(spoolDir)).filter((n) => n.startsWith('ferry-upload-')).length === 0, 5000, 'spool removal');
  });

  it('refuses unsafe relative paths before any byte is sent', async () => {
    for (const relativePath of ['../escape.txt', '/abs.txt', 'a\\b.txt', 'a/../b.txt', 'a//b.txt', 'a/./b.txt', 'nul\u0000.txt']) {
      const r = await tab.request((id) => ({ t: 'upload-begin', id, remoteDir: '/', files: [{ relativePath, size: 1 }] }));
      expect(r, relativePath).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    }
    const dup = await tab.request((id) => ({
      t: 'upload-begin',
      id,
      remoteDir: '/',
      files: [
        { relativePath: 'x/a', size: 1 },
        { relativePath: 'x', size: 1 },
      ],
    }));
    expect(dup).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(() => validateUploadFiles([{ relativePath: 'a/b', size: 1 }, { relativePath: 'a/c', size: 2 }])).not.toThrow();
    expect((await readdir(spoolDir)).filter((n) => n.startsWith('ferry-upload-'))).toEqual([]);
  });

  it('refuses an upload that cannot fit the quota up front, saying what is needed and left', async () => {
    const c = await Tab.open();
    await c.connect(carol);
    const r = await c.request((id) => ({ t: 'upload-begin', id, remoteDir: '/', files: [{ relativePath: 'big.bin', size: 2 * 1024 * 1024 }] }));
    expect(r).toMatchObject({ ok: false, error: { code: 'EQUOTA', message: expect.stringMatching(/needs 2(\.0)? MiB .*left/), details: { need: 2 * 1024 * 1024 } } });
  });

  it('stops an upload that sends more than it announced', async () => {
    let uploadId = 0;
    const begin = await tab.request((id) => {
      uploadId = id;
      return { t: 'upload-begin', id, remoteDir: '/', files: [{ relativePath: 'short.txt', size: 4 }] };
    });
    expect(begin.ok).toBe(true);
    tab.ws.send(Buffer.from('far too many bytes'));
    await waitFor(() => tab.uploadFailures.has(uploadId), 5000, 'upload-failed');
    const end = await tab.request(() => ({ t: 'upload-end', id: uploadId }));
    expect(end).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    await waitFor(async () => (await readdir(spoolDir)).filter((n) => n.startsWith('ferry-upload-')).length === 0, 5000, 'spool removal');
  });

  it('removes the spool when the upload is aborted or the tab goes away', async () => {
    const t = await Tab.open();
    await t.connect(alice);
    let id1 = 0;
    await t.request((id) => ((id1 = id), { t: 'upload-begin', id, remoteDir: '/', files: [{ relativePath: 'a.bin', size: 100 }] }));
    t.ws.send(Buffer.alloc(50));
    expect((await readdir(spoolDir)).filter((n) => n.startsWith('ferry-upload-'))).toHaveLength(1);
    expect(await t.request(() => ({ t: 'upload-abort', id: id1 }))).toEqual({ ok: true, value: null });
    expect((await readdir(spoolDir)).filter((n) => n.startsWith('ferry-upload-'))).toEqual([]);

    await t.request((id) => ({ t: 'upload-begin', id, remoteDir: '/', files: [{ relativePath: 'b.bin', size: 100 }] }));
    t.ws.send(Buffer.alloc(50));
    t.ws.close();
    await waitFor(async () => (await readdir(spoolDir)).filter((n) => n.startsWith('ferry-upload-')).length === 0, 5000, 'spool removal');
  });
});

describe('UploadSpool', () => {
  it('bounds what waits for the disk and writes files across chunk boundaries', async () => {
    const root = await tempDir('ferry-spool-unit-');
    const queued: number[] = [];
    const files = [
      { relativePath: 'd/one', size: 3 },
      { relativePath: 'd/none', size: 0 },
      { relativePath: 'd/e/two', size: 5 * 1024 * 1024 },
      { relativePath: 'last-empty', size: 0 },
    ];
    const spool = await UploadSpool.create(files, [], { tmpRoot: root, onQueued: (n) => queued.push(n) });
    const data = randomBytes(3 + 5 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 512 * 1024) spool.push(data.subarray(i, i + 512 * 1024));
    expect(() => spool.push(Buffer.alloc(1))).toThrow(/more bytes/);
    await spool.finish();
    expect(Math.max(...queued)).toBeGreaterThan(0);
    expect(queued.at(-1)).toBe(0);
    expect(spool.topLevel().map((p) => path.basename(p)).sort()).toEqual(['d', 'last-empty']);
    const digest = await treeDigest(spool.dir);
    expect(digest).toEqual({
      d: 'dir',
      'd/one': sha256(data.subarray(0, 3)),
      'd/none': sha256(Buffer.alloc(0)),
      'd/e': 'dir',
      'd/e/two': sha256(data.subarray(3)),
      'last-empty': sha256(Buffer.alloc(0)),
    });
    await spool.discard();
    expect(await readdir(root)).toEqual([]);
  });
});

describe('npm run web (web/cli.ts)', () => {
  it('prints exactly the page address and stops on SIGTERM', async () => {
    const child = start(path.join(REPO, 'dist/web/cli.js'), ['--no-open', '--config-dir', await tempDir('ferry-config-')], { timeoutMs: 20_000 });
    const line = await waitFor(() => child.stdout().includes('\n') && child.stdout().split('\n')[0], 15_000, 'the address');
    expect(line).toMatch(/^Ferry web UI: http:\/\/127\.0\.0\.1:\d+\/\?code=[A-Za-z0-9_-]{24}$/);
    child.child.kill('SIGTERM');
    const result = await child.result;
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${line}\n`);
  });

  it('gives the browser opener its own one-time address, and prints a fresh one once the printed one is used', async () => {
    // A stand-in xdg-open that records its command line: what any local user could read in /proc.
    const bin = await tempDir('ferry-opener-');
    const seen = path.join(bin, 'command-line');
    await writeFile(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${seen}'\n`);
    await chmod(path.join(bin, 'xdg-open'), 0o755);
    const child = start(path.join(REPO, 'dist/web/cli.js'), ['--config-dir', await tempDir('ferry-config-')], {
      timeoutMs: 20_000,
      env: { PATH: `${bin}${path.delimiter}${process.env['PATH']}`, DISPLAY: ':99', WAYLAND_DISPLAY: '' },
    });
    const printed = (await waitFor(() => /^Ferry web UI: (\S+)$/m.exec(child.stdout())?.[1], 15_000, 'the address'))!;
    const opened = (await waitFor(async () => (await readFile(seen, 'utf8').catch(() => '')).trim() || undefined, 10_000, 'the opener'))!;
    expect(opened).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?code=[A-Za-z0-9_-]{24}$/);
    expect(opened).not.toBe(printed);

    // The browser uses the opener's address: from then on it opens nothing for anyone else.
    const browser = await visit(opened);
    expect(browser).toMatchObject({ status: 303, location: '/' });
    expect(browser.setCookie).toMatch(/; HttpOnly; SameSite=Strict$/);
    expect(opened).not.toContain(browser.setCookie!.split(';', 1)[0]!.split('=')[1]);
    expect((await visit(opened)).status).toBe(403);

    // The printed one works once too, and then the next one is printed.
    expect((await visit(printed)).status).toBe(303);
    expect((await visit(printed)).status).toBe(403);
    const next = (await waitFor(() => /^Ferry web UI for another browser: (\S+)$/m.exec(child.stdout())?.[1], 5000, 'the next address'))!;
    expect(next).not.toBe(printed);
    expect((await visit(next)).status).toBe(303);
    child.child.kill('SIGTERM');
    expect((await child.result).code).toBe(0);
  });
});
