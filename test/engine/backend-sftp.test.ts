/**
 * The app backend (engine/app/) over SFTP, against a real OpenSSH sshd: the same calls as
 * over Ferry's protocol, a host key decided before any credential is sent (Ferry's
 * known_hosts, or the person's ~/.ssh/known_hosts), a key's passphrase asked for and
 * remembered only encrypted, reconnects, and an SFTP-only account checked by size.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createBackend, type Backend, type BackendOptions, type SecretStore } from '../../engine/app/backend.js';
import type { CallName, ConnectResult, EventName, Events, Result, SessionInfo } from '../../shared/common/contract.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import { waitFor } from '../helpers/files.js';
import { cleanupAll, onCleanup, tempDir } from '../helpers/harness.js';
import { Proxy } from '../helpers/proxy.js';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startTestSshd();
  onCleanup(() => sshd.stop());
}, 60_000);
afterAll(cleanupAll);

/** Not encryption, but enough to see that only what the store made is kept. */
const xorStore: SecretStore = {
  available: true,
  encrypt: (text) => Buffer.from(Buffer.from(text, 'utf8').map((b) => b ^ 0x5a)),
  decrypt: (data) => Buffer.from(data.map((b) => b ^ 0x5a)).toString('utf8'),
};

/** A backend as one UI client sees it, whose ~/.ssh is a throwaway folder (never the real one). */
class Client {
  readonly events: Array<{ name: EventName; payload: unknown }> = [];

  private constructor(
    readonly backend: Backend,
    readonly options: BackendOptions,
  ) {
    backend.on((name, payload) => this.events.push({ name, payload }));
  }

  static async create(extra: Partial<BackendOptions> = {}): Promise<Client> {
    const options: BackendOptions = {
      configDir: await tempDir('ferry-config-'),
      downloadDir: await tempDir('ferry-downloads-'),
      reconnectDelaysMs: [100],
      progressIntervalMs: 20,
      ssh: { home: sshd.clientHome },
      ...extra,
    };
    return Client.of(options);
  }

  /** Another window on the same config folder. */
  static of(options: BackendOptions): Client {
    const backend = createBackend(options);
    onCleanup(() => backend.dispose());
    return new Client(backend, options);
  }

  call(name: CallName, ...args: unknown[]): Promise<Result<unknown>> {
    return this.backend.call(name, args);
  }

  async ok(name: CallName, ...args: unknown[]): Promise<unknown> {
    const result = await this.call(name, ...args);
    if (!result.ok) throw new Error(`${name} failed: ${result.error.code} ${result.error.message}`);
    return result.value;
  }

  async error(name: CallName, ...args: unknown[]): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
    const result = await this.call(name, ...args);
    if (result.ok) throw new Error(`${name} should have failed`);
    return result.error as { code: string; message: string; details?: Record<string, unknown> };
  }

  /** Connect, trusting a new key the way the UI does; the session it got. */
  async connect(input: Record<string, unknown>): Promise<SessionInfo> {
    let result = (await this.ok('session:connect', input)) as ConnectResult;
    if (result.kind === 'hostkey-new') {
      await this.ok('hosts:trust', result.hostPort, result.fingerprint);
      result = (await this.ok('session:connect', input)) as ConnectResult;
    }
    if (result.kind !== 'connected') throw new Error(`not connected: ${JSON.stringify(result)}`);
    return result.session;
  }

  of<E extends EventName>(name: E, since = 0): Array<Events[E]> {
    return this.events.slice(since).flatMap((e) => (e.name === name ? [e.payload as Events[E]] : []));
  }

  /** The latest view of a transfer, folded from transfers:event, once it is final. */
  waitTransfer(id: string): Promise<TransferView> {
    return waitFor(() => {
      let view: TransferView | undefined;
      for (const ev of this.of('transfers:event')) if (ev.kind !== 'removed') view = ev.transfers.find((t) => t.id === id) ?? view;
      return view && ['done', 'skipped', 'failed', 'cancelled'].includes(view.state) ? view : undefined;
    }, 30_000, `transfer ${id}`);
  }
}

const sftp = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  protocol: 'sftp',
  host: sshd.host,
  port: sshd.port,
  user: sshd.user,
  agent: false,
  ...extra,
});

/** sshd logs a request a moment after it answers: wait before saying none came. */
async function authRequestsAfterAMoment(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  return sshd.authRequests();
}

describe('the backend over SFTP', () => {
  it('asks about a new host key before sending any credential, then logs in with a key file', async () => {
    const c = await Client.create();
    const before = await authRequestsAfterAMoment();
    const first = (await c.ok('session:connect', sftp({ identityFile: sshd.keyFile }))) as ConnectResult;
    expect(first).toEqual({ kind: 'hostkey-new', hostPort: `${sshd.host}:${sshd.port}`, fingerprint: sshd.fingerprint });
    expect(await authRequestsAfterAMoment()).toBe(before);
    expect(await c.ok('session:state')).toEqual({ state: 'disconnected' });

    await c.ok('hosts:trust', `${sshd.host}:${sshd.port}`, sshd.fingerprint);
    const result = (await c.ok('session:connect', sftp({ identityFile: sshd.keyFile }))) as ConnectResult;
    expect(result).toMatchObject({
      kind: 'connected',
      session: { protocol: 'sftp', host: sshd.host, port: sshd.port, user: { name: sshd.user }, fingerprint: sshd.fingerprint, quota: false, check: 'sha256' },
    });
    const session = (result as { session: SessionInfo }).session;
    // A session starts in the account's home, which the UI calls Home.
    expect(session.home).toBe(session.cwd);
    if (sshd.password !== null) expect(session.home).toBe(sshd.home);

    await writeFile(path.join(sshd.home, 'hello.txt'), 'hello over sftp\n');
    const listing = (await c.ok('fs:list', sshd.home)) as { entries: Array<{ name: string }> };
    expect(listing.entries.map((e) => e.name)).toContain('hello.txt');
    await c.ok('session:disconnect');
  });

  it('trusts a key the person’s ~/.ssh/known_hosts holds, without a question', async () => {
    const home = await tempDir('ferry-ssh-home-');
    await mkdir(path.join(home, '.ssh'), { recursive: true });
    await writeFile(path.join(home, '.ssh', 'known_hosts'), `${sshd.knownHostsLine}\n`);
    const c = await Client.create({ ssh: { home } });
    // Straight in: no hostkey-new, and nothing written to Ferry's own file.
    expect(await c.ok('session:connect', sftp({ identityFile: sshd.keyFile }))).toMatchObject({ kind: 'connected' });
    expect(await readFile(path.join(c.options.configDir, 'known_hosts'), 'utf8').catch(() => '')).toBe('');
  });

  it('asks for a key’s passphrase, and remembers it only encrypted', async () => {
    const c = await Client.create({ secretStore: xorStore });
    await c.ok('hosts:trust', `${sshd.host}:${sshd.port}`, sshd.fingerprint);
    const profile = (await c.ok('profiles:save', { name: 'Box', ...sftp({ identityFile: sshd.encryptedKeyFile }) })) as { id: string };
    const input = sftp({ identityFile: sshd.encryptedKeyFile, profileId: profile.id });

    expect(await c.error('session:connect', input)).toMatchObject({ code: 'EAUTH', details: { passphraseFor: sshd.encryptedKeyFile } });
    expect(await c.error('session:connect', { ...input, passphrase: 'not it' })).toMatchObject({
      code: 'EAUTH',
      details: { passphraseFor: sshd.encryptedKeyFile },
    });
    expect(await c.connect({ ...input, passphrase: sshd.passphrase, remember: true })).toMatchObject({ protocol: 'sftp', profileId: profile.id });
    expect(await c.ok('profiles:list')).toEqual([expect.objectContaining({ id: profile.id, protocol: 'sftp', remembered: true })]);
    const stored = await readFile(path.join(c.options.configDir, 'profiles.json'), 'utf8');
    expect(stored).not.toContain(sshd.passphrase);
    await c.ok('session:disconnect');

    // Another window: the profile alone logs in.
    const later = Client.of(c.options);
    expect(await later.connect(input)).toMatchObject({ profileId: profile.id });
    await later.ok('session:disconnect');
    // Without secure storage, nothing is read (the key asks again) and nothing is kept.
    const noStore = Client.of({ ...c.options, secretStore: { ...xorStore, available: false } });
    expect(await noStore.error('session:connect', input)).toMatchObject({ code: 'EAUTH', details: { passphraseFor: sshd.encryptedKeyFile } });
    // remember: false forgets it.
    await c.connect({ ...input, passphrase: sshd.passphrase, remember: false });
    expect(await c.ok('profiles:list')).toEqual([expect.objectContaining({ id: profile.id, remembered: false })]);
  });

  it('logs in with ssh-agent when asked to, and answers EAUTH when nothing it may use is accepted', async () => {
    const c = await Client.create({ ssh: { home: sshd.clientHome, agentSocket: sshd.agentSocket } });
    expect(await c.connect(sftp({ agent: true }))).toMatchObject({ protocol: 'sftp' });
    await c.ok('session:disconnect');
    expect(await c.error('session:connect', sftp({ agent: false }))).toMatchObject({ code: 'EAUTH' });
  });

  it('reconnects after the connection drops, and keeps the folder', async () => {
    const proxy = await Proxy.start(sshd.port);
    const c = await Client.create();
    await mkdir(path.join(sshd.home, 'stay-here'), { recursive: true });
    await c.connect(sftp({ port: proxy.port, identityFile: sshd.keyFile }));
    await c.ok('fs:cd', path.join(sshd.home, 'stay-here'));
    const since = c.events.length;
    proxy.cut();
    await waitFor(() => c.of('session:state', since).find((s) => s.state === 'reconnecting'), 20_000, 'reconnecting');
    const back = await waitFor(() => c.of('session:state', since).find((s) => s.state === 'connected'), 20_000, 'connected again');
    expect(back).toMatchObject({ session: { protocol: 'sftp', cwd: path.join(sshd.home, 'stay-here') } });
    expect(await c.ok('fs:list', '.')).toMatchObject({ path: path.join(sshd.home, 'stay-here') });
  });

  it('an SFTP-only account checks transfers by size and reports no quota', async () => {
    const c = await Client.create();
    const session = await c.connect(sftp({ port: sshd.noExecPort, identityFile: sshd.keyFile }));
    expect(session).toMatchObject({ protocol: 'sftp', quota: false, check: 'size' });
    const local = path.join(await tempDir('ferry-up-'), 'sized.txt');
    await writeFile(local, 'checked by its size\n');
    const [view] = (await c.ok('transfers:uploadPaths', [local], sshd.home)) as TransferView[];
    const done = await c.waitTransfer(view!.id);
    expect(done).toMatchObject({ state: 'done', check: 'size', verified: false });
    expect(await readFile(path.join(sshd.home, 'sized.txt'), 'utf8')).toBe('checked by its size\n');
  });
});
