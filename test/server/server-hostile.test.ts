/**
 * ferryd as a hostile network treats it: malformed and oversized frames, slow and
 * incomplete headers, many idle connections, concurrent logins, login probing, and the
 * TLS login path. Every attack must end with an error frame and a close of that one
 * connection, while the server keeps serving everyone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientConnection } from '../../engine/wire/client-connection.js';
import { scrubHostPaths } from '../../server/connection.js';
import { EntryList, LIST_PAGE_BYTES } from '../../shared/common/messages.js';
import { cleanupAll, rssBytes, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, eventually, loggedIn, rawFrame, receivedErrors, rootWithUsers, sleep } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-correct-horse', exec: true };
const BOB: TestUser = { name: 'bob', password: 'bob-battery-staple' };
const FRAME_DEADLINE_MS = 1500;

let plain: Ferryd;
let secure: Ferryd;
/** Logged in before the attacks and used between them: must keep working throughout. */
let bystander: RawClient;

beforeAll(async () => {
  const root = await rootWithUsers([ALICE, BOB]);
  const tlsRoot = await rootWithUsers([ALICE, BOB]);
  [plain, secure] = await Promise.all([
    startFerryd({
      root,
      plain: true,
      env: {
        FERRYD_LIMITS: JSON.stringify({
          frameDeadlineMs: FRAME_DEADLINE_MS,
          maxUnauthPerAddress: 400,
          maxInFlight: 8,
          authDelayMs: 20,
          authMaxDelayMs: 40,
        }),
      },
    }),
    startFerryd({ root: tlsRoot }),
  ]);
  bystander = await loggedIn(plain.port, BOB.name, BOB.password);
});

afterAll(async () => {
  bystander?.destroy();
  await cleanupAll();
});

async function expectServing(): Promise<void> {
  // The connection that was open during the attack still answers…
  const list = await bystander.request({ type: 'list', path: '/' });
  expect(list.header.type).toBe('ok');
  // …and a new client can log in and list.
  const fresh = await loggedIn(plain.port, ALICE.name, ALICE.password);
  const again = await fresh.request({ type: 'list', path: '/' });
  expect(again.header.type).toBe('ok');
  expect(EntryList.safeParse(JSON.parse(again.body.toString() || '[]')).success).toBe(true);
  fresh.destroy();
  expect(plain.process.exitCode).toBeNull();
}

interface Attack {
  readonly name: string;
  readonly code: 'EPROTO' | 'ETOOBIG' | 'EAUTH';
  /** Runs on a fresh connection; `login` first when set. */
  readonly login?: boolean;
  readonly hello?: boolean;
  readonly run: (c: RawClient) => void;
}

const ATTACKS: Attack[] = [
  { name: 'garbage bytes (an HTTP request)', code: 'ETOOBIG', run: (c) => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n') },
  { name: 'garbage bytes (not UTF-8)', code: 'EPROTO', run: (c) => c.write(Buffer.from([8, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc, 0xc3, 0x28, 0xa0, 0xa1])) },
  { name: 'a header length of 0xFFFFFFFF', code: 'ETOOBIG', run: (c) => c.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7b])) },
  { name: 'a 1 MiB header length', code: 'ETOOBIG', run: (c) => c.write(rawFrame('x'.repeat(1024 * 1024)).subarray(0, 64 * 1024)) },
  { name: 'a header length of 0', code: 'EPROTO', run: (c) => c.write(Buffer.from([0, 0, 0, 0])) },
  { name: 'invalid JSON', code: 'EPROTO', run: (c) => c.write(rawFrame('{"type":"hello",')) },
  { name: 'a JSON array', code: 'EPROTO', run: (c) => c.write(rawFrame('[1,2,3]')) },
  {
    name: 'a header over the pre-login cap (4 KiB), with the hello done',
    code: 'ETOOBIG',
    hello: true,
    run: (c) => c.send({ type: 'auth', id: 5, mechanism: 'SCRAM-SHA-256', data: 'n,,n=alice,r=abc', pad: 'x'.repeat(5000) }),
  },
  {
    // Headers this big are only taken after the login; this one has 30,000 arrays.
    name: 'deeply nested JSON',
    code: 'ETOOBIG',
    login: true,
    run: (c) => c.write(rawFrame(`{"type":"list","id":60,"path":${'['.repeat(30_000)}${']'.repeat(30_000)}}`)),
  },
  { name: 'a header with more than 256 arrays and items', code: 'ETOOBIG', login: true, run: (c) => c.write(rawFrame(`{"type":"ping","id":61,"pad":[${Array(300).fill('[]').join(',')}]}`)) },
  { name: 'a header without type', code: 'EPROTO', run: (c) => c.write(rawFrame('{"id":1,"versions":[1]}')) },
  { name: 'a negative id', code: 'EPROTO', run: (c) => c.write(rawFrame('{"type":"hello","id":-1,"versions":[1],"agent":"x"}')) },
  { name: 'an unknown type', code: 'EPROTO', run: (c) => c.send({ type: 'gimme-root', id: 1 }) },
  { name: 'a known type with bad fields', code: 'EPROTO', run: (c) => c.send({ type: 'hello', id: 1, versions: 'one', agent: 7 }) },
  { name: 'an unsupported version', code: 'EPROTO', run: (c) => c.send({ type: 'hello', id: 1, versions: [99], agent: 'x' }) },
  { name: 'a non-hello first frame', code: 'EPROTO', run: (c) => c.send({ type: 'list', id: 1, path: '/' }) },
  { name: 'a body on a hello', code: 'EPROTO', run: (c) => c.send({ type: 'hello', id: 1, versions: [1], agent: 'x' }, Buffer.from('body')) },
  { name: 'a request before the login', code: 'EAUTH', hello: true, run: (c) => c.send({ type: 'list', id: 5, path: '/' }) },
  { name: 'auth-final with another id', code: 'EPROTO', hello: true, run: (c) => {
    c.send({ type: 'auth', id: 5, mechanism: 'SCRAM-SHA-256', data: 'n,,n=alice,r=abcdefghijkl' });
    c.send({ type: 'auth-final', id: 6, data: 'c=biws,r=x,p=eA==' });
  } },
  { name: 'an attach to a session that does not exist', code: 'EAUTH', hello: true, run: (c) => c.send({ type: 'attach', id: 5, session: 'bm9wZQ', proof: Buffer.alloc(32).toString('base64') }) },
  { name: 'a second auth instead of auth-final', code: 'EPROTO', hello: true, run: (c) => {
    c.send({ type: 'auth', id: 5, mechanism: 'SCRAM-SHA-256', data: 'n,,n=alice,r=abcdefghijkl' });
    c.send({ type: 'auth', id: 5, mechanism: 'SCRAM-SHA-256', data: 'n,,n=alice,r=abcdefghijkl' });
  } },
  { name: 'the wrong mechanism name', code: 'EAUTH', hello: true, run: (c) => c.send({ type: 'auth', id: 5, mechanism: 'PLAIN', data: 'alice\u0000x' }) },
  { name: 'a malformed SCRAM client-first', code: 'EPROTO', hello: true, run: (c) => c.send({ type: 'auth', id: 5, mechanism: 'SCRAM-SHA-256', data: 'garbage' }) },
  { name: 'a put-end without put', code: 'EPROTO', login: true, run: (c) => c.send({ type: 'put-end', id: 40, sha256: '0'.repeat(64) }) },
  { name: 'a put whose size is not total - offset', code: 'EPROTO', login: true, run: (c) => c.send({ type: 'put', id: 41, path: 'x', offset: 0, total: 10 }, Buffer.from('abc')) },
  { name: 'a put interrupted by another request', code: 'EPROTO', login: true, run: (c) => {
    c.send({ type: 'put', id: 42, path: 'y', offset: 0, total: 3 }, Buffer.from('abc'));
    c.send({ type: 'list', id: 43 });
  } },
  { name: 'a body on a list', code: 'EPROTO', login: true, run: (c) => c.send({ type: 'list', id: 44, path: '/' }, Buffer.from('[]')) },
  { name: 'a duplicate in-flight id (exec)', code: 'EPROTO', login: true, run: (c) => {
    c.send({ type: 'exec', id: 50, command: 'sleep 3' });
    c.send({ type: 'exec', id: 50, command: 'sleep 3' });
  } },
  { name: 'a duplicate in-flight id (list during exec)', code: 'EPROTO', login: true, run: (c) => {
    c.send({ type: 'exec', id: 51, command: 'sleep 3' });
    c.send({ type: 'list', id: 51 });
  } },
  { name: 'a duplicate in-flight id (two lists)', code: 'EPROTO', login: true, run: (c) => {
    const frames = Buffer.concat(Array.from({ length: 50 }, () => Buffer.from(rawFrame(JSON.stringify({ type: 'df', id: 52 })))));
    c.write(frames);
  } },
];

describe('malformed input closes only the offending connection', () => {
  for (const attack of ATTACKS) {
    it(`${attack.name} → ${attack.code}, closed, server still serving`, async () => {
      const c = attack.login ? await loggedIn(plain.port, ALICE.name, ALICE.password) : await RawClient.connect(plain.port);
      if (attack.hello) await c.hello();
      attack.run(c);
      const frame = await c.expectFatal(attack.code, 8000);
      expect(typeof frame.header.message).toBe('string');
      c.destroy();
      await expectServing();
    });
  }

  it('logs protocol errors, one line per event', () => {
    const log = plain.log();
    expect(log).toMatch(/protocol error ETOOBIG/);
    expect(log).toMatch(/protocol error EPROTO/);
  });
});

describe('request ids', () => {
  it('an id may be reused once its request is answered', async () => {
    const c = await loggedIn(plain.port, BOB.name, BOB.password);
    for (let i = 0; i < 20; i++) {
      c.send({ type: i % 2 ? 'pwd' : 'df', id: 77 });
      expect((await c.nextFor(77)).header.type).toBe('ok');
    }
    expect(c.closed).toBe(false);
    c.destroy();
  });
});

describe('slow and incomplete headers', () => {
  it('accepts a frame written one byte at a time within the deadline (slowloris)', async () => {
    const c = await RawClient.connect(plain.port);
    const bytes = rawFrame(JSON.stringify({ type: 'hello', id: 1, versions: [1], agent: 'slow' }));
    const delay = Math.floor((FRAME_DEADLINE_MS * 0.5) / bytes.length);
    for (const byte of bytes) {
      c.write(Buffer.from([byte]));
      await sleep(delay);
    }
    const reply = await c.next(3000);
    expect(reply.header.type).toBe('hello');
    c.destroy();
  });

  it('keeps a busy pipelined connection whose reads keep ending mid-header', async () => {
    // Each write ends in the middle of the next frame's header, for longer than the deadline.
    const c = await loggedIn(plain.port, BOB.name, BOB.password);
    const until = Date.now() + FRAME_DEADLINE_MS * 1.6;
    let pending = Buffer.alloc(0);
    let id = 1000;
    let sent = 0;
    while (Date.now() < until && sent < 200) {
      const frame = rawFrame(JSON.stringify({ type: 'ping', id: id++ }));
      const all = Buffer.concat([pending, frame]);
      c.write(all.subarray(0, all.length - 3));
      pending = all.subarray(all.length - 3);
      sent++;
      await sleep(40);
    }
    c.write(pending);
    for (let i = 1000; i < id; i++) expect((await c.nextFor(i, 3000)).header.type).toBe('ok');
    expect(c.closed).toBe(false);
    c.destroy();
  });

  it('closes a connection whose header stays incomplete past the deadline', async () => {
    const c = await RawClient.connect(plain.port);
    const started = Date.now();
    c.write(rawFrame(JSON.stringify({ type: 'hello', id: 1, versions: [1], agent: 'x' })).subarray(0, 10));
    const frame = await c.expectFatal('ETIMEDOUT', FRAME_DEADLINE_MS + 3000);
    expect(frame.header.message).toMatch(/header/);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(FRAME_DEADLINE_MS - 100);
    expect(took).toBeLessThan(FRAME_DEADLINE_MS + 2500);
    await expectServing();
  });

  it('applies the deadline after login too (an incomplete length prefix)', async () => {
    const c = await loggedIn(plain.port, BOB.name, BOB.password);
    c.write(Buffer.from([20, 0]));
    await c.expectFatal('ETIMEDOUT', FRAME_DEADLINE_MS + 3000);
  });
});

describe('load', () => {
  it('20 clients log in and list concurrently (the real engine)', async () => {
    // The first login derives the keys; the others reuse them (no PBKDF2 each).
    const first = await ClientConnection.open({ host: '127.0.0.1', port: plain.port, plain: true });
    const login = await first.login(ALICE.name, { password: ALICE.password });
    first.close();
    const keys = login.keys!;
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const conn = await ClientConnection.open({ host: '127.0.0.1', port: plain.port, plain: true });
        try {
          const who = await conn.login(ALICE.name, { keys });
          await conn.call({ type: 'mkdir', path: `/load-${i}`, parents: true });
          const { header, body } = await conn.callWithBody({ type: 'list', path: '/' }, LIST_PAGE_BYTES);
          const entries = EntryList.parse(JSON.parse(body.toString()));
          return who.user.name === 'alice' && header.count === entries.length && entries.some((e) => e.name === `load-${i}`);
        } finally {
          conn.close();
        }
      }),
    );
    expect(results).toEqual(Array(20).fill(true));
  });

  it('300 connections idling before login do not stop the server', async () => {
    const idle = await Promise.all(Array.from({ length: 300 }, () => RawClient.connect(plain.port)));
    try {
      // Half of them have said hello, half nothing at all.
      await Promise.all(idle.slice(0, 150).map((c) => c.hello()));
      await expectServing();
      expect(idle.every((c) => !c.closed)).toBe(true);
    } finally {
      for (const c of idle) c.destroy();
    }
    // The slots are given back when they close: another 300 fit again.
    expect(await eventually(() => idle.every((c) => c.closed), 5000)).toBe(true);
    await sleep(200);
    const again = await Promise.all(Array.from({ length: 300 }, () => RawClient.connect(plain.port)));
    await Promise.all(again.slice(0, 20).map((c) => c.hello()));
    for (const c of again) c.destroy();
    await expectServing();
  });
});

describe('bounded buffering', () => {
  it('a flood of tiny pipelined frames while requests are stuck does not grow server memory', async () => {
    const c = await loggedIn(plain.port, ALICE.name, ALICE.password);
    // maxInFlight (8 here) slow requests: the server stops taking new ones off the socket.
    for (let i = 0; i < 8; i++) c.send({ type: 'exec', id: 100 + i, command: 'sleep 2' });
    await sleep(200);
    const before = await rssBytes(plain.process.pid!);
    const ping = Buffer.from(rawFrame('{"type":"ping","id":1}'));
    const flood = Buffer.alloc(ping.length * 800_000);
    for (let at = 0; at < flood.length; at += ping.length) ping.copy(flood, at);
    c.write(flood); // 20 MB of frames: they wait in socket buffers, not as parsed objects
    await sleep(1000);
    const grown = (await rssBytes(plain.process.pid!)) - before;
    c.destroy();
    expect(grown, `grew ${grown}`).toBeLessThan(48 * 1024 * 1024);
    await expectServing();
  });
});

describe('login probing', () => {
  it('a wrong password and an unknown user get the same EAUTH message, and the connection closes', async () => {
    const real = await RawClient.connect(plain.port);
    const wrong = await real.login(ALICE.name, 'not-the-password');
    expect(wrong.header.type).toBe('error');
    expect(wrong.header.code).toBe('EAUTH');
    expect(await real.waitClosed(3000)).toBe(true);

    const ghost = await RawClient.connect(plain.port);
    const unknown = await ghost.login('nobody-here', 'whatever');
    expect(unknown.header.code).toBe('EAUTH');
    expect(unknown.header.message).toBe(wrong.header.message);
    expect(String(wrong.header.message)).not.toMatch(/alice|nobody|password is|unknown user|no such user/i);
    expect(await ghost.waitClosed(3000)).toBe(true);
    await expectServing();
  });

  it('an unknown user gets a stable salt with the same shape and iteration count as a real one', async () => {
    const attempt = async (user: string): Promise<{ salt: string; iterations: string; code: unknown }> => {
      const c = await RawClient.connect(plain.port);
      const { serverFirst, final } = await c.badLogin(user);
      c.destroy();
      const m = /^r=[^,]+,s=([^,]+),i=(\d+)$/.exec(serverFirst ?? '');
      expect(m).not.toBeNull();
      return { salt: m![1]!, iterations: m![2]!, code: final.header.code };
    };
    const ghost1 = await attempt('ghost');
    const ghost2 = await attempt('ghost');
    const other = await attempt('another-ghost');
    const real = await attempt(ALICE.name);
    expect(ghost1.salt).toBe(ghost2.salt);
    expect(other.salt).not.toBe(ghost1.salt);
    expect(ghost1.iterations).toBe(real.iterations);
    expect(ghost1.salt.length).toBe(real.salt.length);
    expect([ghost1.code, ghost2.code, other.code, real.code]).toEqual(['EAUTH', 'EAUTH', 'EAUTH', 'EAUTH']);
    // The real user still logs in afterwards (a success resets the throttle).
    const ok = await loggedIn(plain.port, ALICE.name, ALICE.password);
    ok.destroy();
  });
});

describe('TLS', () => {
  it('the real engine connects, pins the key, logs in with channel binding and lists', async () => {
    let seen = '';
    const conn = await ClientConnection.open({
      host: '127.0.0.1',
      port: secure.port,
      verifyHostKey: (fp) => {
        seen = fp;
      },
    });
    try {
      expect(seen).toBe(secure.fingerprint);
      const login = await conn.login(ALICE.name, { password: ALICE.password });
      expect(login.user.name).toBe('alice');
      const { header } = await conn.callWithBody({ type: 'list', path: '/' }, LIST_PAGE_BYTES);
      expect(header.type).toBe('ok');
    } finally {
      conn.close();
    }
  });

  it('SCRAM-SHA-256 without channel binding over TLS is refused with EAUTH', async () => {
    const c = await RawClient.connect(secure.port, { tls: true });
    const hello = await c.hello();
    expect(hello.mechanisms).toEqual(['SCRAM-SHA-256-PLUS']);
    const done = await c.login(ALICE.name, ALICE.password, { bind: false });
    expect(done.header.type).toBe('error');
    expect(done.header.code).toBe('EAUTH');
    expect(await c.waitClosed(3000)).toBe(true);
  });

  it('claiming -PLUS with an unbound GS2 header over TLS is refused with EAUTH', async () => {
    const c = await RawClient.connect(secure.port, { tls: true });
    const done = await c.login(ALICE.name, ALICE.password, { bind: false, mechanism: 'SCRAM-SHA-256-PLUS' });
    expect(done.header.code).toBe('EAUTH');
    expect(await c.waitClosed(3000)).toBe(true);
  });

  it('garbage in place of a TLS handshake is dropped and the server keeps serving', async () => {
    const net = await import('node:net');
    const s = net.connect({ host: '127.0.0.1', port: secure.port });
    s.on('error', () => undefined);
    await new Promise((r) => s.once('connect', r));
    s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const closed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 5000);
      s.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    expect(closed).toBe(true);
    const c = await loggedIn(secure.port, BOB.name, BOB.password, true);
    expect((await c.request({ type: 'pwd' })).header.cwd).toBe('/');
    c.destroy();
  });
});

describe('no server paths reach clients', () => {
  it('scrubs the server root out of error messages', () => {
    const root = '/srv/ferry-root';
    const message = `Input/output error. (EMFILE: too many open files, open '${root}/homes/alice/x.bin')`;
    const scrubbed = scrubHostPaths(message, [root, '/real/ferry-root']);
    expect(scrubbed).not.toContain(root);
    expect(scrubbed).not.toContain('homes/alice');
    expect(scrubbed).toMatch(/^Input\/output error\. \(EMFILE: too many open files, open '…'\)$/);
    expect(scrubHostPaths('No such file or folder.', [root])).toBe('No such file or folder.');
  });

  it('no error message received in this file names the server root', () => {
    expect(receivedErrors.length).toBeGreaterThan(10);
    for (const message of receivedErrors) {
      expect(message).not.toContain(plain.root);
      expect(message).not.toContain(secure.root);
      expect(message).not.toMatch(/\/tmp\//);
    }
  });
});
