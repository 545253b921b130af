/**
 * The bench's emulated long link (bench/link-proxy.ts) against tiny servers on 127.0.0.1:
 * round trips are paid, the rate is applied and shared, data arrives byte-exact, a FIN
 * comes behind the data and a reset reaches the other side. Only lower bounds on time
 * (with margin), never tight upper ones: a busy machine may be slower, never faster.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { LinkProxy } from '../../bench/link-proxy.js';

const servers: net.Server[] = [];
const accepted = new Set<net.Socket>();
const proxies: LinkProxy[] = [];

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const s of accepted) s.destroy();
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

async function proxy(port: number, rttMs: number, mbit: number): Promise<LinkProxy> {
  const p = await LinkProxy.start(port, { rttMs, mbit });
  proxies.push(p);
  return p;
}

function connect(port: number): net.Socket {
  return net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
}

/** Replies to every chunk with the same bytes. */
const echo = (socket: net.Socket): void => {
  socket.on('data', (d: Buffer) => socket.write(d));
  socket.on('end', () => socket.end());
  socket.on('error', () => undefined);
};

/** Reads everything up to the FIN, then answers "<bytes> <sha256>" and ends. */
const sink = (socket: net.Socket): void => {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  socket.on('end', () => socket.end(`${bytes} ${hash.digest('hex')}`));
  socket.on('error', () => undefined);
};

function readAll(socket: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

/** Send `data` through a new connection to the sink; resolves with the sink's answer. */
async function sendAll(port: number, data: Buffer): Promise<string> {
  const socket = connect(port);
  const answer = readAll(socket);
  socket.end(data);
  return answer;
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Margin for timer jitter on a busy machine (the proxy's timers fire late, never early). */
const JITTER_MS = 5;

describe('LinkProxy', () => {
  it('makes a request wait one round trip, and the first on a new connection the handshake too', async () => {
    const rtt = 100;
    const p = await proxy(await listen(echo), rtt, 1000);
    const socket = connect(p.port);
    const ask = (text: string): Promise<number> =>
      new Promise((resolve) => {
        const started = performance.now();
        socket.once('data', () => resolve(performance.now() - started));
        socket.write(text);
      });
    // connect() returns at once on loopback: the request waits for the emulated handshake
    // (the server accepts 1.5 RTT later), and its answer comes back half an RTT after that.
    const first = await ask('one');
    expect(first).toBeGreaterThanOrEqual(2 * rtt - JITTER_MS);
    const second = await ask('two');
    expect(second).toBeGreaterThanOrEqual(rtt - JITTER_MS);
    socket.destroy();
    expect(p.connections).toBe(1);
    expect(p.bytesUp).toBe(6);
    expect(p.bytesDown).toBe(6);
  });

  it('applies the rate: 4 MB at 100 Mbit/s take at least 0.32 s and arrive byte-exact', async () => {
    const p = await proxy(await listen(sink), 10, 100);
    const data = randomBytes(4_000_000);
    const started = performance.now();
    const answer = await sendAll(p.port, data);
    const ms = performance.now() - started;
    expect(answer).toBe(`${data.length} ${sha(data)}`);
    expect(ms).toBeGreaterThanOrEqual(320 - JITTER_MS);
    expect(p.bytesUp).toBe(data.length);
  });

  it('shares one rate between connections', async () => {
    const p = await proxy(await listen(sink), 0, 100);
    const a = randomBytes(2_000_000);
    const b = randomBytes(2_000_000);
    const started = performance.now();
    const answers = await Promise.all([sendAll(p.port, a), sendAll(p.port, b)]);
    const ms = performance.now() - started;
    expect(answers).toEqual([`${a.length} ${sha(a)}`, `${b.length} ${sha(b)}`]);
    // Each alone would take 0.16 s; together they queue behind each other on one wire.
    expect(ms).toBeGreaterThanOrEqual(320 - JITTER_MS);
    expect(p.connections).toBe(2);
  });

  it('delivers everything sent before a half-close, then the FIN, and still carries the reply', async () => {
    const rtt = 40;
    let received = -1;
    let endAt = 0;
    const port = await listen((socket) => {
      let bytes = 0;
      socket.on('data', (d: Buffer) => (bytes += d.length));
      socket.on('end', () => {
        received = bytes;
        endAt = performance.now();
        // Half-open: the client has ended its side, the server may still answer.
        setTimeout(() => socket.end('done'), 20);
      });
    });
    const p = await proxy(port, rtt, 1000);
    const data = randomBytes(1_000_000);
    const socket = connect(p.port);
    const reply = readAll(socket);
    const started = performance.now();
    socket.write(data);
    socket.end();
    expect(await reply).toBe('done');
    expect(received).toBe(data.length);
    // The FIN waited for the handshake and travelled one way behind the data.
    expect(endAt - started).toBeGreaterThanOrEqual(1.5 * rtt - JITTER_MS);
  });

  it('closes the other side when one side resets', async () => {
    let serverSide: net.Socket | undefined;
    const serverClosed = new Promise<void>((resolve) => {
      void listen((socket) => {
        serverSide = socket;
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
        socket.write('hello');
      }).then(async (port) => {
        const p = await proxy(port, 20, 1000);
        const client = connect(p.port);
        client.on('error', () => undefined);
        client.once('data', () => client.resetAndDestroy());
      });
    });
    await serverClosed;
    expect(serverSide?.destroyed).toBe(true);

    // The other way round: the server resets, the client's socket closes.
    const port = await listen((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.resetAndDestroy());
    });
    const p = await proxy(port, 20, 1000);
    const client = connect(p.port);
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    client.on('error', () => undefined);
    client.write('x');
    await closed;
    expect(client.destroyed).toBe(true);
  });
});
