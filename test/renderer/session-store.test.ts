import { describe, expect, it, vi } from 'vitest';
import type { ConnectInput, SessionInfo } from '../../shared/common/contract.js';
import { createSessionStore } from '../../renderer/src/state/session-store.js';
import { draftToInput, editDraft, EMPTY_DRAFT } from '../../renderer/src/logic/connect-draft.js';
import { FakeApi, fail, ok, settle } from './fake-api.js';

const session: SessionInfo = {
  protocol: 'ferry',
  host: '127.0.0.1',
  port: 7070,
  user: { name: 'alice', exec: true, quota: null },
  cwd: '/',
  home: '/',
  fingerprint: 'SHA256:abc',
  profileId: null,
  quota: true,
  check: 'sha256',
};

describe('session store', () => {
  it('connects and tells the other stores once', async () => {
    const api = new FakeApi();
    api.handle('session:connect', () => ok({ kind: 'connected', session }));
    const onConnected = vi.fn();
    const store = createSessionStore(api, { onConnected });
    store.getState().setDraft({ user: 'alice', password: 'pw' });
    expect(await store.getState().submitDraft()).toBe(true);
    api.emit('session:state', { state: 'connected', session });
    expect(onConnected).toHaveBeenCalledTimes(1);
    expect(onConnected).toHaveBeenCalledWith(session, true);
    expect(api.made('session:connect')[0]!.args[0]).toEqual({ protocol: 'ferry', host: '127.0.0.1', port: 7070, user: 'alice', password: 'pw' });
    // The password does not stay in the form.
    expect(store.getState().draft.password).toBe('');
  });

  it('shows connection errors by code (EAUTH, ECONN, EPROTO)', async () => {
    const api = new FakeApi();
    const store = createSessionStore(api);
    store.getState().setDraft({ user: 'alice' });
    for (const code of ['EAUTH', 'ECONN', 'EPROTO'] as const) {
      api.handle('session:connect', () => fail(code, `${code} message`));
      expect(await store.getState().submitDraft()).toBe(false);
      expect(store.getState().error?.code).toBe(code);
      expect(store.getState().connection.state).toBe('disconnected');
    }
  });

  it('asks before trusting a new host key, then connects again', async () => {
    const api = new FakeApi();
    let pinned = false;
    api.handle('session:connect', () =>
      ok(pinned ? { kind: 'connected', session } : { kind: 'hostkey-new', hostPort: '127.0.0.1:7070', fingerprint: 'SHA256:new' }),
    );
    api.handle('hosts:trust', () => {
      pinned = true;
      return ok(undefined);
    });
    const store = createSessionStore(api);
    store.getState().setDraft({ user: 'alice', password: 'pw' });
    expect(await store.getState().submitDraft()).toBe(false);
    expect(store.getState().hostKey).toMatchObject({ kind: 'new', fingerprint: 'SHA256:new' });
    expect(await store.getState().trustHostKey()).toBe(true);
    expect(api.made('hosts:trust')[0]!.args).toEqual(['127.0.0.1:7070', 'SHA256:new']);
    expect((api.made('session:connect')[1]!.args[0] as ConnectInput).password).toBe('pw');
    expect(store.getState().hostKey).toBeNull();
    expect(store.getState().connection.state).toBe('connected');
    expect(store.getState().draft.password).toBe('');
  });

  it('never accepts a changed key by itself; replacing it forgets the old one first', async () => {
    const api = new FakeApi();
    api.handle('session:connect', () =>
      ok({ kind: 'hostkey-changed', hostPort: 'h:1', fingerprint: 'SHA256:evil', expected: 'SHA256:good' }),
    );
    api.handle('hosts:forget', () => ok(true));
    api.handle('hosts:trust', () => ok(undefined));
    const store = createSessionStore(api);
    store.getState().setDraft({ host: 'h', port: '1', user: 'alice' });
    await store.getState().submitDraft();
    expect(store.getState().hostKey).toMatchObject({ kind: 'changed', expected: 'SHA256:good', fingerprint: 'SHA256:evil' });
    // "Trust" does nothing for a changed key.
    expect(await store.getState().trustHostKey()).toBe(false);
    expect(api.made('hosts:trust')).toHaveLength(0);
    store.getState().dismissHostKey();
    expect(store.getState().hostKey).toBeNull();
    await store.getState().submitDraft();
    await store.getState().replaceHostKey();
    expect(api.made().map((c) => c.name).slice(-3)).toEqual(['hosts:forget', 'hosts:trust', 'session:connect']);
  });

  it('follows reconnecting and back without a fresh start', async () => {
    const api = new FakeApi();
    const onConnected = vi.fn();
    const onDisconnected = vi.fn();
    const store = createSessionStore(api, { onConnected, onDisconnected });
    api.emit('session:state', { state: 'connected', session });
    api.emit('session:state', { state: 'reconnecting', attempt: 2, error: { code: 'ECONN', message: 'lost' }, session });
    expect(store.getState().connection).toMatchObject({ state: 'reconnecting', attempt: 2 });
    api.emit('session:state', { state: 'connected', session });
    expect(onConnected.mock.calls.map((c) => c[1])).toEqual([true, false]);
    api.emit('session:state', { state: 'disconnected', error: { code: 'ECONN', message: 'gone' } });
    expect(onDisconnected).toHaveBeenCalledTimes(1);
    expect(store.getState().error?.code).toBe('ECONN');
  });

  it('saves a profile first when asked to remember a new login', async () => {
    const api = new FakeApi();
    api.handle('profiles:save', (input) => ok({ ...input, protocol: input.protocol ?? 'ferry', id: 'p1', remembered: false }));
    api.handle('profiles:list', () => ok([]));
    api.handle('session:connect', () => ok({ kind: 'connected', session }));
    const store = createSessionStore(api);
    store.getState().setDraft({ user: 'alice', password: 'pw', remember: true });
    await store.getState().submitDraft();
    await settle();
    expect(api.made('profiles:save')[0]!.args[0]).toEqual({ name: 'alice@127.0.0.1', protocol: 'ferry', host: '127.0.0.1', port: 7070, user: 'alice' });
    expect(api.made('session:connect')[0]!.args[0]).toMatchObject({ profileId: 'p1', remember: true });
  });

  it('says so when "remember" was asked but the engine could not keep the login', async () => {
    const api = new FakeApi();
    api.handle('profiles:save', (input) => ok({ ...input, protocol: input.protocol ?? 'ferry', id: 'p1', remembered: false }));
    api.handle('profiles:list', () => ok([{ id: 'p1', name: 'x', protocol: 'ferry', host: '127.0.0.1', port: 7070, user: 'alice', remembered: false }]));
    api.handle('session:connect', () => ok({ kind: 'connected', session }));
    const store = createSessionStore(api);
    store.getState().setDraft({ user: 'alice', password: 'pw', remember: true });
    await store.getState().submitDraft();
    expect(store.getState().rememberDeclined).toBe(true);
  });

  it('picking a profile fills the form; editing the address detaches it', () => {
    const api = new FakeApi();
    const store = createSessionStore(api);
    store.setState({ profiles: [{ id: 'p', name: 'Work', protocol: 'ferry', host: 'srv', port: 7000, user: 'bob', remembered: true }] });
    store.getState().pickProfile(store.getState().profiles[0]!);
    expect(store.getState().draft).toMatchObject({ profileId: 'p', host: 'srv', port: '7000', user: 'bob', remember: true });
    store.getState().setDraft({ password: 'x' });
    expect(store.getState().draft.profileId).toBe('p');
    store.getState().setDraft({ host: 'other' });
    expect(store.getState().draft.profileId).toBeNull();
  });

  it('checks the form before connecting', () => {
    expect(draftToInput({ ...EMPTY_DRAFT, user: 'a', port: '70000' })).toHaveProperty('problem');
    expect(draftToInput({ ...EMPTY_DRAFT, user: 'a', port: '7x' })).toHaveProperty('problem');
    expect(draftToInput({ ...EMPTY_DRAFT, user: '' })).toHaveProperty('problem');
    expect(draftToInput({ ...EMPTY_DRAFT, host: ' ', user: 'a' })).toHaveProperty('problem');
    expect(draftToInput({ ...EMPTY_DRAFT, user: ' a ', plain: true })).toEqual({ input: { protocol: 'ferry', host: '127.0.0.1', port: 7070, user: 'a', plain: true } });
  });

  it('sends "plain on a network" only with plain itself (the engine decides whether the host needs it)', () => {
    const lab = { ...EMPTY_DRAFT, host: '10.0.0.5', user: 'a', insecurePlainOnNetwork: true };
    expect(draftToInput(lab)).toEqual({ input: { protocol: 'ferry', host: '10.0.0.5', port: 7070, user: 'a' } });
    expect(draftToInput({ ...lab, plain: true })).toEqual({
      input: { protocol: 'ferry', host: '10.0.0.5', port: 7070, user: 'a', plain: true, insecurePlainOnNetwork: true },
    });
  });
});

describe('session store over SFTP', () => {
  const sftpSession: SessionInfo = { ...session, protocol: 'sftp', port: 22, cwd: '/home/alice', home: '/home/alice', quota: false, check: 'size' };

  it('choosing a protocol brings its default port, unless a port was typed', () => {
    let d = editDraft(EMPTY_DRAFT, { protocol: 'sftp' });
    expect(d.port).toBe('22');
    d = editDraft(d, { protocol: 'ferry' });
    expect(d.port).toBe('7070');
    d = editDraft(d, { port: '2222' });
    expect(editDraft(d, { protocol: 'sftp' }).port).toBe('2222');
    // A port cleared is no choice: the protocol's default comes back.
    d = editDraft(d, { port: '' });
    expect(editDraft(d, { protocol: 'sftp' }).port).toBe('22');
  });

  it('sends the key file and the agent choice, never "no encryption", and a passphrase only once one was asked for', () => {
    const d = { ...EMPTY_DRAFT, protocol: 'sftp' as const, port: '22', user: 'a', identityFile: ' ~/.ssh/id_work ', agent: false, plain: true, passphrase: 'early' };
    expect(draftToInput(d)).toEqual({ input: { protocol: 'sftp', host: '127.0.0.1', port: 22, user: 'a', identityFile: '~/.ssh/id_work', agent: false } });
    expect(draftToInput({ ...d, identityFile: '', agent: true, passphraseFor: '/k', password: 'pw' })).toEqual({
      input: { protocol: 'sftp', host: '127.0.0.1', port: 22, user: 'a', password: 'pw', agent: true, passphrase: 'early' },
    });
    expect(draftToInput({ ...d, port: '' })).toEqual({ problem: expect.stringContaining('SSH servers listen on 22') });
  });

  it('asks for the passphrase of an encrypted key, retries with it, and forgets it once connected', async () => {
    const api = new FakeApi();
    api.handle('session:connect', (input) =>
      input.passphrase === 'secret'
        ? ok({ kind: 'connected', session: sftpSession })
        : { ok: false, error: { code: 'EAUTH', message: 'The key /keys/id is protected by a passphrase', details: { passphraseFor: '/keys/id' } } },
    );
    const store = createSessionStore(api);
    store.getState().setDraft({ protocol: 'sftp', user: 'alice', identityFile: '/keys/id' });
    expect(await store.getState().submitDraft()).toBe(false);
    expect(store.getState().draft.passphraseFor).toBe('/keys/id');
    store.getState().setDraft({ passphrase: 'secret' });
    expect(await store.getState().submitDraft()).toBe(true);
    expect(api.made('session:connect')[1]!.args[0]).toMatchObject({ identityFile: '/keys/id', passphrase: 'secret' });
    expect(store.getState().draft).toMatchObject({ passphrase: '', passphraseFor: null, password: '' });
  });

  it('choosing another key forgets a passphrase typed for the last one', () => {
    const store = createSessionStore(new FakeApi());
    store.getState().setDraft({ protocol: 'sftp', passphraseFor: '/keys/a', passphrase: 'for a' });
    store.getState().setDraft({ identityFile: '/keys/b' });
    expect(store.getState().draft).toMatchObject({ passphraseFor: null, passphrase: '' });
  });

  it('does not say "not remembered" when an SFTP login had nothing to remember (a key, the agent)', async () => {
    const api = new FakeApi();
    api.handle('profiles:list', () => ok([{ id: 'p1', name: 'x', protocol: 'sftp', host: '127.0.0.1', port: 22, user: 'alice', remembered: false }]));
    api.handle('session:connect', () => ok({ kind: 'connected', session: sftpSession }));
    const store = createSessionStore(api);
    await store.getState().loadProfiles();
    store.getState().pickProfile(store.getState().profiles[0]!);
    store.getState().setDraft({ remember: true });
    expect(await store.getState().submitDraft()).toBe(true);
    expect(store.getState().rememberDeclined).toBe(false);
    // With a password typed, the same outcome means the engine could not keep it.
    store.getState().setDraft({ password: 'pw' });
    await store.getState().submitDraft();
    expect(store.getState().rememberDeclined).toBe(true);
  });

  it('picks an SFTP profile with its key file and agent choice, and asks no quota of a server without one', async () => {
    const api = new FakeApi();
    api.handle('fs:df', () => ok({ quota: null, used: 1, free: 2 }));
    const store = createSessionStore(api);
    store.getState().pickProfile({ id: 'p', name: 'Box', protocol: 'sftp', host: 'box', port: 22, user: 'bob', identityFile: '/k', agent: false, remembered: false });
    expect(store.getState().draft).toMatchObject({ protocol: 'sftp', port: '22', identityFile: '/k', agent: false, portChosen: false });
    // Its port is the default: choosing Ferry brings Ferry's.
    store.getState().setDraft({ protocol: 'ferry' });
    expect(store.getState().draft).toMatchObject({ port: '7070', profileId: null });
    api.emit('session:state', { state: 'connected', session: sftpSession });
    await store.getState().refreshDf();
    expect(api.made('fs:df')).toHaveLength(0);
    api.emit('session:state', { state: 'connected', session: { ...sftpSession, quota: true } });
    await store.getState().refreshDf();
    expect(api.made('fs:df')).toHaveLength(1);
  });
});
