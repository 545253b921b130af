/**
 * An emulated long link for the bench: a TCP relay on 127.0.0.1 that delays every chunk by
 * half the round trip each way and shares one rate limit per direction between all the
 * connections it carries (the kernel here has no netem).
 *
 * What it emulates: the time a request waits for its answer (each direction's delay), the
 * link's payload rate (bytes queue behind each other, per direction, over every
 * connection), and a bottleneck buffer of one bandwidth-delay product (beyond it the relay
 * stops reading, so TCP pushes back on the sender). Windows that an application keeps
 * itself (SSH's channel window, SFTP's requests in flight, Ferry's pipelining) are paced by
 * the delayed replies as over a real link.
 *
 * A new connection reaches the server 1.5 round trips after the client's connect(), as a
 * real TCP handshake would (SYN, SYN-ACK, ACK), though connect() itself returns at once.
 *
 * What it does not emulate: TCP's own behaviour on a long path. Each side talks TCP to the
 * relay over loopback, so there is no slow start, no loss or retransmission, no ACK clock,
 * and a sender's congestion and receive windows never limit it; the rate counts payload
 * bytes only (no TCP/IP header overhead); delays are timer-driven (about 1 ms of jitter).
 */
import net from 'node:net';

export interface LinkShape {
  /** Round-trip time in milliseconds (half of it each way). */
  readonly rttMs: number;
  /** Payload rate in megabits per second, per direction. */
  readonly mbit: number;
}

export function linkLabel(link: LinkShape): string {
  const rate = link.mbit >= 1000 ? `${link.mbit / 1000} Gbit/s` : `${link.mbit} Mbit/s`;
  return `${link.rttMs} ms / ${rate}`;
}

/** One direction of the link: a clock that serialises bytes at the rate, shared by every connection. */
class Direction {
  /** When the wire is free again (ms, performance.now()). */
  private freeAt = 0;
  bytes = 0;

  constructor(private readonly bytesPerMs: number) {}

  /** The time the last byte of `n` bytes leaves the sender's end of the wire. */
  send(n: number, at: number): number {
    this.bytes += n;
    this.freeAt = Math.max(this.freeAt, at) + n / this.bytesPerMs;
    return this.freeAt;
  }
}

interface Chunk {
  readonly data: Buffer;
  readonly due: number;
}

/** One connection's one direction: chunks in order, each written when its time comes. */
class Lane {
  private readonly queue: Chunk[] = [];
  private head = 0;
  /** Bytes read from the source and not yet written to the destination. */
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly wire: Direction,
    private readonly oneWayMs: number,
    private readonly bufferBytes: number,
  ) {
    from.on('data', (data: Buffer) => this.take(data));
    from.on('end', () => {
      this.ended = true;
      this.flush();
    });
    to.on('drain', () => this.flush());
    to.on('connect', () => this.flush());
  }

  private take(data: Buffer): void {
    const departed = this.wire.send(data.length, performance.now());
    this.queue.push({ data, due: departed + this.oneWayMs });
    this.held += data.length;
    // The bottleneck's buffer is full: stop reading, so that TCP slows the sender down.
    if (this.held > this.bufferBytes) this.from.pause();
    this.flush();
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Not yet connected (the emulated handshake): written once it is.
    if (this.to.pending && !this.to.destroyed) return;
    const now = performance.now();
    while (this.head < this.queue.length) {
      const chunk = this.queue[this.head]!;
      if (chunk.due > now) {
        this.timer = setTimeout(() => this.flush(), Math.max(0, chunk.due - now));
        break;
      }
      // The receiver is slower than the link: deliver on its 'drain'.
      if (this.to.writableNeedDrain) return;
      this.head++;
      this.held -= chunk.data.length;
      if (!this.to.destroyed) this.to.write(chunk.data);
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.held <= this.bufferBytes && this.from.isPaused()) this.from.resume();
    if (this.ended && this.head === this.queue.length && !this.to.destroyed) this.to.end();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class LinkProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly lanes = new Set<Lane>();
  private readonly up: Direction;
  private readonly down: Direction;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly shape: LinkShape,
    up: Direction,
    down: Direction,
  ) {
    this.up = up;
    this.down = down;
  }

  /** Client → server payload bytes carried so far. */
  get bytesUp(): number {
    return this.up.bytes;
  }

  /** Server → client payload bytes carried so far. */
  get bytesDown(): number {
    return this.down.bytes;
  }

  /** Connections accepted so far. */
  connections = 0;

  static async start(targetPort: number, shape: LinkShape): Promise<LinkProxy> {
    if (!(shape.rttMs >= 0) || !(shape.mbit > 0)) throw new Error(`bad link shape ${JSON.stringify(shape)}`);
    const bytesPerMs = (shape.mbit * 1e6) / 8 / 1000;
    const up = new Direction(bytesPerMs);
    const down = new Direction(bytesPerMs);
    // One bandwidth-delay product of buffer per connection and direction (at least 256 KiB).
    const bufferBytes = Math.max(256 * 1024, Math.round(bytesPerMs * shape.rttMs));
    let proxy: LinkProxy | undefined;
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const p = proxy!;
      p.connections++;
      // TCP's handshake: the client's connect() succeeds at once on loopback, so the server
      // is reached only when a real one would accept (1.5 round trips after the SYN), and
      // whatever the client sent meanwhile waits in the lane until then.
      const upstream = new net.Socket({ allowHalfOpen: true });
      const dial = setTimeout(() => upstream.connect({ port: targetPort, host: '127.0.0.1' }), shape.rttMs * 1.5);
      upstream.once('close', () => clearTimeout(dial));
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        p.sockets.add(s);
        // A clean close travels as a FIN through the lanes (after the data before it); a
        // reset or an error ends both sides at once.
        s.on('close', (hadError) => {
          p.sockets.delete(s);
          if (hadError) {
            client.destroy();
            upstream.destroy();
          }
        });
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const lanes = [new Lane(client, upstream, up, shape.rttMs / 2, bufferBytes), new Lane(upstream, client, down, shape.rttMs / 2, bufferBytes)];
      for (const lane of lanes) p.lanes.add(lane);
      client.on('close', () => {
        for (const lane of lanes) {
          lane.stop();
          p.lanes.delete(lane);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new LinkProxy(server, (server.address() as net.AddressInfo).port, shape, up, down);
    return proxy;
  }

  async close(): Promise<void> {
    for (const lane of this.lanes) lane.stop();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
