/**
 * What a connection waits for before it works, seen on the wire between the engine and a
 * real ferryd: the login rides behind the hello, data connections are greeted while the
 * login runs, the usage comes with the login, and a tree's folders keep their modes when
 * made a level at a time. A relay in between reads the client's frames (plain TCP on
 * loopback) and can hold the server's bytes back.
 */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { connectSession, failure } from '../helpers/engine.js';

const cy: TestUser = { name: 'cy', password: 'cy pass phrase' };

interface Seen {
  /** Connection number, in the order the relay accepted them. */
  readonly conn: number;
  readonly type: string;
  /** Order among every frame of every connection. */
  readonly seq: number;
}

/**
 * A relay to `target(n)` for the n-th connection that records each client frame's type.
 * `hold(n)` may return a promise: the server's bytes to that connection wait until it settles.
 */
class Relay {
  readonly seen: Seen[] = [];
  accepted = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: (n: number) => number, hold: (n: number) => Promise<unknown> | undefined = () => undefined): Promise<Relay> {
    let relay: Relay | undefined;
    const server = net.createServer((client) => {
      const r = relay!;
      const n = r.accepted++;
      const upstream = net.connect(target(n), '127.0.0.1');
      for (const s of [client, upstream]) {
        r.sockets.add(s);
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
        s.on('close', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      let pending = Buffer.alloc(0);
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        pending = Buffer.concat([pending, chunk]);
        // Frames: u32LE header length, JSON header, then `size` body bytes.
        for (;;) {
          if (pending.length < 4) break;
          const headerLength = pending.readUInt32LE(0);
          if (pending.length < 4 + headerLength) break;
          const header = JSON.parse(pending.subarray(4, 4 + headerLength).toString('utf8')) as { type: string; size?: number };
          const total = 4 + headerLength + (header.size ?? 0);
          if (pending.length < total) break;
          r.seen.push({ conn: n, type: header.type, seq: r.seen.length });
          pending = pending.subarray(total);
        }
      });
      // Until `hold` settles, the server's bytes wait in the upstream socket (unread).
      const held = hold(n);
      if (held) void held.then(() => upstream.pipe(client));
      else upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    relay = new Relay(server, (server.address() as net.AddressInfo).port);
    return relay;
  }

  types(conn: number): string[] {
    return this.seen.filter((s) => s.conn === conn).map((s) => s.type);
  }

  first(conn: number, type: string): number {
    return this.seen.find((s) => s.conn === conn && s.type === type)?.seq ?? Infinity;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let plain: Ferryd;
let tls: Ferryd;
let other: Ferryd;

beforeAll(async () => {
  [plain, tls, other] = await Promise.all([startFerryd({ users: [cy], plain: true }), startFerryd({ users: [cy] }), startFerryd({ users: [cy] })]);
});

afterAll(cleanupAll);

/** Resolves when `check` is true (polled), or after `ms` with false. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) if (check()) return true;
  return check();
}

describe('round trips at the start of a session', () => {
  it('sends the login right behind the hello, before the server has answered anything', async () => {
    let relay: Relay | undefined;
    // The server's answers are held until the client has sent two frames, or 3 s passed:
    // a client that waits for the hello's reply before it logs in shows as a timeout.
    let heldFor: 'frames' | 'timeout' | undefined;
    relay = await Relay.start(
      () => plain.port,
      () =>
        until(() => relay!.types(0).length >= 2, 3000).then((ok) => {
          heldFor = ok ? 'frames' : 'timeout';
        }),
    );
    const session = await connectSession(plain, cy, { port: relay.port });
    try {
      expect(heldFor).toBe('frames');
      expect(relay.types(0).slice(0, 3)).toEqual(['hello', 'auth', 'auth-final']);
      expect((await session.list('/')).path).toBe('/');
    } finally {
      session.close();
      await relay.close();
    }
  });

  it('greets its data connections while the login runs, attaches them when it is done, and transfers on them', async () => {
    const relay = await Relay.start(() => plain.port);
    const session = await connectSession(plain, cy, { port: relay.port, dataConnections: 3, warmDataConnections: 3 });
    try {
      const loggedIn = relay.first(0, 'auth-final');
      for (const conn of [1, 2, 3]) expect(relay.first(conn, 'hello')).toBeLessThan(loggedIn);
      expect(await until(() => [1, 2, 3].every((conn) => relay.types(conn).includes('attach')), 5000)).toBe(true);
      // Three files at once use the three connections already there: no new one is opened.
      const local = await tempDir();
      for (const name of ['a', 'b', 'c']) await writeFile(path.join(local, name), `file ${name}`);
      const queue = new TransferQueue(session, { concurrency: 3 });
      await queue.upload(['a', 'b', 'c'].map((name) => path.join(local, name)), '/warm');
      await queue.idle();
      expect(queue.list().map((t) => t.state)).toEqual(['done', 'done', 'done']);
      expect(relay.accepted).toBe(4);
    } finally {
      session.close();
      await relay.close();
    }
  });

  it('never attaches a second connection that another key answers, warmed up or not', async () => {
    // The first connection reaches the pinned server; every later one reaches another.
    const relay = await Relay.start((n) => (n === 0 ? tls.port : other.port));
    const session = await connectSession(tls, cy, { port: relay.port, dataConnections: 2, warmDataConnections: 2 });
    try {
      expect(await until(() => relay.accepted >= 3 && session.openDataConnections === 0, 5000)).toBe(true);
      expect((await failure(session.acquire())).code).toBe('EHOSTKEY');
      expect(session.openDataConnections).toBe(0);
      // The control connection (the right server) still works.
      expect((await session.list('/')).path).toBe('/');
    } finally {
      session.close();
      await relay.close();
    }
  });

  it('answers the first df after the login from the login reply, and asks the server after that', async () => {
    const relay = await Relay.start(() => plain.port);
    const session = await connectSession(plain, cy, { port: relay.port });
    try {
      const first = await session.df();
      expect(relay.types(0)).not.toContain('df');
      expect(first.used).toBeGreaterThanOrEqual(0);
      const second = await session.df();
      expect(relay.types(0).filter((t) => t === 'df')).toHaveLength(1);
      expect(second.quota).toBe(first.quota);
    } finally {
      session.close();
      await relay.close();
    }
  });
});

describe('an upload makes its folders a level at a time', () => {
  it('gives each folder of a tree its own mode, and says which target is not a folder', async () => {
    const local = await tempDir();
    const tree = path.join(local, 'tree');
    const modes: Record<string, number> = { tree: 0o755, 'tree/a': 0o700, 'tree/b': 0o750, 'tree/a/x': 0o711, 'tree/b/y': 0o705 };
    for (const dir of Object.keys(modes)) await mkdir(path.join(local, dir), { recursive: true });
    for (const dir of Object.keys(modes)) await writeFile(path.join(local, dir, 'f.txt'), dir);
    for (const [dir, mode] of Object.entries(modes)) await chmod(path.join(local, dir), mode);
    const session = await connectSession(plain, cy);
    try {
      const queue = new TransferQueue(session);
      await queue.upload([tree], '/deep/er');
      await queue.idle();
      expect(queue.list().every((t) => t.state === 'done')).toBe(true);
      const home = path.join(plain.root, 'homes', cy.name);
      for (const [dir, mode] of Object.entries(modes)) expect(((await stat(path.join(home, 'deep/er', dir))).mode & 0o777).toString(8)).toBe(mode.toString(8));
      // A target that is a file is named as such, though the first level's mkdir -p is what failed.
      await writeFile(path.join(home, 'plainfile'), 'x');
      const err = await failure(queue.upload([tree], '/plainfile'));
      expect(err.code).toBe('ENOTDIR');
      expect(err.message).toContain('/plainfile is not a folder');
    } finally {
      session.close();
    }
  });
});
