/**
 * A TCP proxy on 127.0.0.1 between a client and ferryd, for tests that must see or shape
 * the traffic: it counts the bytes each way (proof that a resume sent less than the whole
 * file), can slow either direction down (so a transfer is reliably still running when the
 * test interrupts it), can stall the client's uploads, can cut every connection, and can
 * stop listening for a while (new connections are refused, as by a host whose server is down).
 */
import net from 'node:net';
import { onCleanup } from './harness.js';

interface Direction {
  /** Bytes since the last reset(). */
  bytes: number;
  /** Bytes per second, or null for no limit. */
  rate: number | null;
  /** When the shared bucket is next free (ms since the epoch). */
  nextFree: number;
}

export class Proxy {
  private readonly up: Direction = { bytes: 0, rate: null, nextFree: 0 };
  private readonly down: Direction = { bytes: 0, rate: null, nextFree: 0 };
  /** Stop forwarding uploads (until release()) once this many upstream bytes have passed. */
  stallAfter: number | null = null;
  private readonly stalled = new Set<net.Socket>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new Proxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.accept(client, targetHost, targetPort));
    onCleanup(() => proxy.close());
    return proxy;
  }

  /** Client → server bytes since the last reset(). */
  get upstreamBytes(): number {
    return this.up.bytes;
  }

  /** Server → client bytes since the last reset(). */
  get downstreamBytes(): number {
    return this.down.bytes;
  }

  /** Limit client → server to this many bytes a second (null: no limit). */
  set rate(value: number | null) {
    this.up.rate = value;
  }

  get rate(): number | null {
    return this.up.rate;
  }

  /** Limit server → client to this many bytes a second (null: no limit). */
  set downRate(value: number | null) {
    this.down.rate = value;
  }

  reset(): void {
    this.up.bytes = 0;
    this.down.bytes = 0;
  }

  /** Forward again after a stall, without limits. */
  release(): void {
    this.stallAfter = null;
    this.up.rate = null;
    this.down.rate = null;
    for (const s of this.stalled) s.resume();
    this.stalled.clear();
  }

  /** Drop every connection (both sides), like a network failure. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /**
   * Stop listening: new connections are refused by the OS (ECONNREFUSED), as when the server
   * is down; connections already open are left alone (cut() drops them). listenAgain() ends it.
   * (A proxy that accepted and then closed would look like a full server, which clients retry
   * differently.)
   */
  refuse(): void {
    // close() stops accepting at once; its callback would wait for the open connections.
    if (this.server.listening) this.server.close();
  }

  /** Listen again, on the same port, after refuse(). */
  async listenAgain(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.cut();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, host: string, port: number): void {
    const upstream = net.connect({ host, port, noDelay: true });
    client.setNoDelay(true);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    this.forward(client, upstream, this.up, true);
    this.forward(upstream, client, this.down, false);
  }

  /** Copy `from` → `to` by hand, to count, pace and (uploads only) stall it. */
  private forward(from: net.Socket, to: net.Socket, dir: Direction, canStall: boolean): void {
    const resume = (): void => {
      if (!this.stalled.has(from) && !from.destroyed) from.resume();
    };
    from.on('data', (chunk: Buffer) => {
      dir.bytes += chunk.length;
      const ok = to.write(chunk);
      if (canStall && this.stallAfter !== null && this.up.bytes >= this.stallAfter) {
        from.pause();
        this.stalled.add(from);
        return;
      }
      if (!ok) {
        from.pause();
        to.once('drain', resume);
      }
      if (dir.rate !== null) {
        // A leaky bucket shared by all connections: the total is what is limited.
        const now = Date.now();
        dir.nextFree = Math.max(dir.nextFree, now) + (chunk.length / dir.rate) * 1000;
        if (dir.nextFree - now > 5) {
          from.pause();
          setTimeout(resume, dir.nextFree - now);
        }
      }
    });
  }
}
