import { createHash, pbkdf2 } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Wrap pbkdf2 in a spy so a test can prove that cached keys skip the key derivation.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, pbkdf2: vi.fn(actual.pbkdf2) };
});

import { FerryError } from '../../shared/common/errors.js';
import {
  DEFAULT_ITERATIONS,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  ScramClient,
  ScramServer,
  __setNonceForTests,
  createVerifier,
  deriveClientKeys,
  type ClientCredential,
  tlsExporterBinding,
  type ScramVerifier,
} from '../../shared/node/scram.js';
import { loadOrCreateIdentity } from '../../shared/node/tls-identity.js';

const SECRET = Buffer.alloc(32, 7);
const BINDING = Buffer.alloc(32, 0xab);
const pbkdf2Spy = vi.mocked(pbkdf2);

afterEach(() => {
  pbkdf2Spy.mockClear();
});

async function rejection(promise: Promise<unknown>): Promise<FerryError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): FerryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }
  throw new Error('expected a throw');
}

const users = new Map<string, ScramVerifier>();
const lookup = (name: string): ScramVerifier | null => users.get(name) ?? null;

async function addUser(name: string, password: string): Promise<ScramVerifier> {
  const verifier = await createVerifier(password, MIN_ITERATIONS);
  users.set(name, verifier);
  return verifier;
}

/** Run a whole exchange; returns the client (for its keys) or throws the first failure. */
async function login(
  user: string,
  credential: ClientCredential,
  clientBinding: Buffer | null,
  serverBinding: Buffer | null = clientBinding,
): Promise<ScramClient> {
  const client = new ScramClient(user, credential, clientBinding);
  const server = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: serverBinding });
  const { user: seen, serverFirst } = await server.start(client.firstMessage());
  expect(seen).toBe(user);
  const final = await client.finalMessage(serverFirst);
  const serverFinal = await server.finish(final);
  client.verifyServerFinal(serverFinal);
  return client;
}

describe('SCRAM-SHA-256 exchange', () => {
  it('succeeds with tls-exporter channel binding', async () => {
    await addUser('alice', 'correct horse');
    const client = new ScramClient('alice', { password: 'correct horse' }, BINDING);
    expect(client.firstMessage()).toMatch(/^p=tls-exporter,,n=alice,r=[A-Za-z0-9+/]{32}$/);
    await expect(login('alice', { password: 'correct horse' }, BINDING)).resolves.toBeInstanceOf(ScramClient);
  });

  it('succeeds without channel binding on plain TCP', async () => {
    await addUser('bob', 'hunter2');
    const client = new ScramClient('bob', { password: 'hunter2' }, null);
    expect(client.firstMessage()).toMatch(/^n,,n=bob,r=/);
    const done = await login('bob', { password: 'hunter2' }, null);
    expect(done.keys?.iterations).toBe(MIN_ITERATIONS);
  });

  it('escapes "=" and "," in user names and NFKC-normalises passwords', async () => {
    // 'ﬁ' (U+FB01) normalises to 'fi' under NFKC, so both spellings are the same password.
    await addUser('a=b,c', 'ﬁsh');
    const client = new ScramClient('a=b,c', { password: 'fish' }, null);
    expect(client.firstMessage()).toMatch(/^n,,n=a=3Db=2Cc,r=/);
    await expect(login('a=b,c', { password: 'fish' }, null)).resolves.toBeInstanceOf(ScramClient);
  });

  it('replays the RFC 7677 test vector', async () => {
    const cnonce = 'rOprNGfwEbeRWgbNEkqO';
    const snonce = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const salt = 'W22ZaJ0SNY7soEsUEjb6gQ==';
    const client = new ScramClient('user', { password: 'pencil' }, null);
    __setNonceForTests(client, cnonce);
    expect(client.firstMessage()).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');

    const keys = await deriveClientKeys('pencil', salt, 4096);
    const verifier: ScramVerifier = {
      salt,
      iterations: 4096,
      storedKey: createHash('sha256').update(Buffer.from(keys.clientKey, 'base64')).digest('base64'),
      serverKey: keys.serverKey,
    };
    const server = new ScramServer({ lookup: () => verifier, fakeSaltSecret: SECRET, channelBinding: null });
    __setNonceForTests(server, snonce);
    const { serverFirst } = await server.start(client.firstMessage());
    expect(serverFirst).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');

    const final = await client.finalMessage(serverFirst);
    expect(final).toBe(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    const serverFinal = await server.finish(final);
    expect(serverFinal).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(() => client.verifyServerFinal(serverFinal)).not.toThrow();
  });

  it('refuses a wrong password with EAUTH', async () => {
    await addUser('carol', 'right');
    const err = await rejection(login('carol', { password: 'wrong' }, BINDING));
    expect(err.code).toBe('EAUTH');
  });

  it('answers unknown users like known ones, with a stable salt, then fails them with the same error', async () => {
    const known = await addUser('dave', 'pw');
    const first = async (user: string): Promise<string> => {
      const server = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: null });
      return (await server.start(new ScramClient(user, { password: 'x' }, null).firstMessage())).serverFirst;
    };
    const shape = /^r=[A-Za-z0-9+/]{64},s=([A-Za-z0-9+/]{22}==),i=(\d+)$/;
    const a = shape.exec(await first('nobody'));
    const b = shape.exec(await first('nobody'));
    const other = shape.exec(await first('someone-else'));
    expect(a).not.toBeNull();
    expect(a![1]).toBe(b![1]);
    expect(a![1]).not.toBe(other![1]);
    expect(Number(a![2])).toBe(DEFAULT_ITERATIONS);
    expect(Buffer.from(a![1]!, 'base64')).toHaveLength(Buffer.from(known.salt, 'base64').length);

    // Another server instance with the same secret gives the same salt (a restart does not reveal anything).
    const unknown = await rejection(
      (async () => {
        const client = new ScramClient('nobody', { keys: { salt: a![1]!, iterations: DEFAULT_ITERATIONS, clientKey: Buffer.alloc(32).toString('base64'), serverKey: Buffer.alloc(32).toString('base64') } }, null);
        const server = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: null });
        const { serverFirst } = await server.start(client.firstMessage());
        await server.finish(await client.finalMessage(serverFirst));
      })(),
    );
    const wrong = await rejection(login('dave', { password: 'not pw' }, null));
    expect(unknown.code).toBe('EAUTH');
    expect(wrong.code).toBe('EAUTH');
    expect(unknown.message).toBe(wrong.message);
  });

  it('refuses a channel binding mismatch (a man in the middle terminating TLS)', async () => {
    await addUser('erin', 'pw');
    const err = await rejection(login('erin', { password: 'pw' }, BINDING, Buffer.alloc(32, 0xcd)));
    expect(err.code).toBe('EAUTH');
  });

  it('refuses a client that does not bind on a TLS connection', async () => {
    await addUser('frank', 'pw');
    const err = await rejection(login('frank', { password: 'pw' }, null, BINDING));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toMatch(/channel binding/);
    const server = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: BINDING });
    const y = await rejection(server.start('y,,n=frank,r=abcdefgh'));
    expect(y.code).toBe('EAUTH');
    const other = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: BINDING });
    expect((await rejection(other.start('p=tls-unique,,n=frank,r=abcdefgh'))).code).toBe('EAUTH');
  });

  it('refuses a binding client on a plain connection', async () => {
    await addUser('gina', 'pw');
    const err = await rejection(login('gina', { password: 'pw' }, BINDING, null));
    expect(err.code).toBe('EAUTH');
  });

  it('uses cached keys without running PBKDF2 and still verifies the server', async () => {
    await addUser('hank', 'pw');
    const first = await login('hank', { password: 'pw' }, BINDING);
    const keys = first.keys!;
    expect(keys).toBeDefined();
    expect(pbkdf2Spy).toHaveBeenCalled();

    pbkdf2Spy.mockClear();
    const again = await login('hank', { keys }, BINDING);
    expect(pbkdf2Spy).not.toHaveBeenCalled();
    expect(again.keys).toEqual(keys);

    // The cached keys still check the server: one that knows StoredKey but not ServerKey
    // (e.g. a stolen, partial verifier) passes the proof check but cannot prove itself.
    const client = new ScramClient('hank', { keys }, null);
    const stolen = { ...users.get('hank')!, serverKey: Buffer.alloc(32, 1).toString('base64') };
    const server = new ScramServer({ lookup: () => stolen, fakeSaltSecret: SECRET, channelBinding: null });
    const { serverFirst } = await server.start(client.firstMessage());
    const serverFinal = await server.finish(await client.finalMessage(serverFirst));
    expect(thrown(() => client.verifyServerFinal(serverFinal)).code).toBe('EAUTH');
    expect(pbkdf2Spy).not.toHaveBeenCalled();
  });

  it('asks for the password again when cached keys are out of date', async () => {
    await addUser('ivy', 'old');
    const keys = (await login('ivy', { password: 'old' }, null)).keys!;
    await addUser('ivy', 'new'); // a new verifier has a new salt
    pbkdf2Spy.mockClear();
    const err = await rejection(login('ivy', { keys }, null));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toBe('the saved login is out of date; enter the password again');
    expect(pbkdf2Spy).not.toHaveBeenCalled();
  });

  it('refuses a tampered server-final on the client', async () => {
    await addUser('jack', 'pw');
    const client = new ScramClient('jack', { password: 'pw' }, BINDING);
    const server = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: BINDING });
    const { serverFirst } = await server.start(client.firstMessage());
    const serverFinal = await server.finish(await client.finalMessage(serverFirst));
    const sig = Buffer.from(serverFinal.slice(2), 'base64');
    sig[0]! ^= 1;
    const err = thrown(() => client.verifyServerFinal(`v=${sig.toString('base64')}`));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toMatch(/^the server could not prove it knows your password: /);
  });

  it('reports a server "e=" error as EAUTH on the client', async () => {
    const client = new ScramClient('kim', { password: 'pw' }, null);
    client.firstMessage();
    const err = await rejection(client.finalMessage('e=other-error'));
    expect(err.code).toBe('EAUTH');
    expect(err.message).toMatch(/other-error/);
  });

  it('reports "e=" in server-final as EAUTH', async () => {
    await addUser('kim', 'pw');
    const client = new ScramClient('kim', { password: 'pw' }, null);
    const server = new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: null });
    const { serverFirst } = await server.start(client.firstMessage());
    await client.finalMessage(serverFirst);
    expect(thrown(() => client.verifyServerFinal('e=invalid-proof')).code).toBe('EAUTH');
  });

  it('refuses iteration counts outside [4096, 10M] on the client', async () => {
    for (const i of [MIN_ITERATIONS - 1, 1, MAX_ITERATIONS + 1, 99_999_999_999]) {
      const client = new ScramClient('lee', { password: 'pw' }, null);
      const cnonce = client.firstMessage().split('r=')[1]!;
      const err = await rejection(client.finalMessage(`r=${cnonce}srv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=${i}`));
      expect(err.code).toBe('EAUTH');
      expect(err.message).toMatch(/iterations/);
    }
    expect(pbkdf2Spy).not.toHaveBeenCalled();
  });

  it('refuses a server nonce that does not extend ours', async () => {
    for (const r of ['somebodyelse', '']) {
      const client = new ScramClient('lee', { password: 'pw' }, null);
      const cnonce = client.firstMessage().split('r=')[1]!;
      const nonce = r === '' ? cnonce : r;
      const err = await rejection(client.finalMessage(`r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`));
      expect(err.code).toBe('EAUTH');
    }
  });

  it('createVerifier defaults to 600,000 iterations and a 16-byte salt', async () => {
    const v = await createVerifier('pw');
    expect(v.iterations).toBe(DEFAULT_ITERATIONS);
    expect(DEFAULT_ITERATIONS).toBe(600_000);
    expect(Buffer.from(v.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(v.storedKey, 'base64')).toHaveLength(32);
    expect(Buffer.from(v.serverKey, 'base64')).toHaveLength(32);
    expect((await createVerifier('pw', MIN_ITERATIONS)).salt).not.toBe((await createVerifier('pw', MIN_ITERATIONS)).salt);
    expect((await rejection(createVerifier('pw', 1000))).code).toBe('EINVAL');
  });
});

describe('malformed messages', () => {
  const server = (binding: Buffer | null = null): ScramServer =>
    new ScramServer({ lookup, fakeSaltSecret: SECRET, channelBinding: binding });

  it('client-first: EPROTO, never a crash', async () => {
    const bad = [
      '',
      'n',
      'n,',
      'x,,n=a,r=b',
      'n,,',
      'n,,n=a',
      'n,,r=abc,n=a',
      'n,,m=ext,n=a,r=abc',
      'n,,n=a,r=abc,x=extra',
      'n,,n=a=4,r=abc',
      'n,,n=,r=abc',
      'n,,n=a,r=',
      'n,,n=a,r=ab\u00e9',
      'n,,n=a,r=ab c',
      'n,,n=a,r=abc,',
      'n,,n=a\0b,r=abc',
      'n,,garbage',
      'n,x,n=a,r=abc',
      `n,,n=${'a'.repeat(5000)},r=abc`,
    ];
    for (const message of bad) {
      const err = await rejection(server().start(message));
      expect(err.code, JSON.stringify(message)).toBe('EPROTO');
    }
  });

  it('client-first with an authorization identity is refused', async () => {
    expect((await rejection(server().start('n,a=admin,n=a,r=abc'))).code).toBe('EAUTH');
  });

  it('client-final: EPROTO for bad syntax, EAUTH for a wrong nonce', async () => {
    await addUser('mia', 'pw');
    const bad = [
      '',
      'c=biws',
      'c=biws,r=x',
      'r=x,c=biws,p=AAAA',
      'c=biws,r=x,p=not base64!',
      'c=biws,r=x,p=AAAA', // proof of the wrong length
      'c=biws,r=x,m=1,p=AAAA',
      'c=biws,r=x,p=' + Buffer.alloc(32).toString('base64') + ',x=1',
      'c=***,r=x,p=' + Buffer.alloc(32).toString('base64'),
    ];
    for (const message of bad) {
      const s = server();
      await s.start(new ScramClient('mia', { password: 'pw' }, null).firstMessage());
      const err = await rejection(s.finish(message));
      expect(err.code, JSON.stringify(message)).toBe('EPROTO');
    }
    const s = server();
    await s.start(new ScramClient('mia', { password: 'pw' }, null).firstMessage());
    const err = await rejection(s.finish('c=biws,r=wrongnonce,p=' + Buffer.alloc(32).toString('base64')));
    expect(err.code).toBe('EAUTH');
  });

  it('server-first and server-final: EPROTO on the client', async () => {
    const bad = [
      '',
      'garbage',
      'r=NONCE',
      'r=NONCEx,s=W22ZaJ0SNY7soEsUEjb6gQ==',
      'r=NONCEx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=abc',
      'r=NONCEx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096',
      'r=NONCEx,s=not base64,i=4096',
      'r=NONCEx,s=,i=4096',
      'm=x,r=NONCEx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'r=NONCEx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=y',
      's=W22ZaJ0SNY7soEsUEjb6gQ==,r=NONCEx,i=4096',
    ];
    for (const template of bad) {
      const client = new ScramClient('nia', { password: 'pw' }, null);
      const cnonce = client.firstMessage().split('r=')[1]!;
      const err = await rejection(client.finalMessage(template.replace('NONCE', cnonce)));
      expect(err.code, JSON.stringify(template)).toBe('EPROTO');
    }

    await addUser('nia', 'pw');
    for (const final of ['', 'garbage', 'x=1', 'v=abc,x=1']) {
      const client = new ScramClient('nia', { password: 'pw' }, null);
      const s = server();
      const { serverFirst } = await s.start(client.firstMessage());
      await client.finalMessage(serverFirst);
      expect(thrown(() => client.verifyServerFinal(final)).code, JSON.stringify(final)).toBe('EPROTO');
    }
  });

  it('refuses steps out of order', async () => {
    const client = new ScramClient('oz', { password: 'pw' }, null);
    expect((await rejection(client.finalMessage('r=a,s=b,i=4096'))).code).toBe('EPROTO');
    expect(thrown(() => client.verifyServerFinal('v=abc')).code).toBe('EPROTO');
    const s = server();
    expect((await rejection(s.finish('c=biws,r=a,p=b'))).code).toBe('EPROTO');
  });
});

describe('tlsExporterBinding', () => {
  /** Connect once; returns the binding each end computed (or the error each end got). */
  async function bindings(maxVersion: tls.SecureVersion): Promise<{ server: Buffer | Error; client: Buffer | Error }> {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-scram-'));
    try {
      const { identity } = await loadOrCreateIdentity(join(dir, 'tls'));
      const attempt = (fn: () => Buffer): Buffer | Error => {
        try {
          return fn();
        } catch (err) {
          return err as Error;
        }
      };
      let resolveServer!: (b: Buffer | Error) => void;
      const serverSide = new Promise<Buffer | Error>((r) => (resolveServer = r));
      const server = tls.createServer({ key: identity.key, cert: identity.cert, minVersion: 'TLSv1.2', maxVersion }, (socket) => {
        resolveServer(attempt(() => tlsExporterBinding(socket)));
        socket.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        const client = await new Promise<Buffer | Error>((resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
            const b = attempt(() => tlsExporterBinding(socket));
            socket.on('end', () => resolve(b));
            socket.resume();
          });
          socket.on('error', reject);
        });
        return { server: await serverSide, client };
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('gives both ends of a TLS 1.3 connection the same 32 bytes, and a login binds to them', async () => {
    const first = await bindings('TLSv1.3');
    const second = await bindings('TLSv1.3');
    expect(first.server).toBeInstanceOf(Buffer);
    expect(first.server).toHaveLength(32);
    expect(first.client).toEqual(first.server);
    expect(second.server).not.toEqual(first.server);
    await addUser('tess', 'pw');
    await expect(login('tess', { password: 'pw' }, first.client as Buffer, first.server as Buffer)).resolves.toBeInstanceOf(ScramClient);
    expect((await rejection(login('tess', { password: 'pw' }, second.client as Buffer, first.server as Buffer))).code).toBe('EAUTH');
  });

  it('refuses TLS 1.2, where tls-exporter is not safe without extended master secret', async () => {
    const { server, client } = await bindings('TLSv1.2');
    expect(server).toBeInstanceOf(FerryError);
    expect((server as FerryError).code).toBe('EPROTO');
    expect((client as FerryError).code).toBe('EPROTO');
  });
});
