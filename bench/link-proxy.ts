/**
 * An emulated long link for the bench: a TCP relay on 127.0.0.1 that delays every chunk by
 * half the round trip each way and shares one rate limit per direction between all the
 * connections it carries (the kernel here has no netem).
 *
 * What it emulates: the time a request waits for its answer (each direction's delay), the
 * link's payload rate (bytes queue behind each other, per direction, over every
 * connection), and a bottleneck buffer of one bandwidth-delay product per direction, shared
 * by the connections (beyond it the relay stops reading, so TCP pushes back on the
 * senders). A FIN (half-close) travels behind the data sent before it. Windows that an application keeps
 * itself (SSH's channel window, SFTP's requests in flight, Ferry's pipelining) are paced by
 * the delayed replies as over a real link.
 *
 * A new connection reaches the server 1.5 round trips after the client's connect(), as a
 * real TCP handshake would (SYN, SYN-ACK, ACK), though connect() itself returns at once.
 *
 * What it does not emulate: TCP's own behaviour on a long path. Each side talks TCP to the
 * relay over loopback, so there is no slow start, no loss or retransmission, no ACK clock,
 * and a sender's congestion and receive windows never limit it; the rate counts payload
 * bytes only (no TCP/IP header overhead); delays are timer-driven (about 1 ms of jitter); a
 * reset or an error closes the other side at once, without the one-way delay.
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

/**
 * One direction of the link: a clock that serialises bytes at the rate, and the
 * bottleneck's buffer, both shared by every connection the proxy carries.
 */
class Direction {
  /** When the wire is free again (ms, performance.now()). */
  private freeAt = 0;
  bytes = 0;
  /** Bytes read from a sender and not yet written to its receiver (queued or on their way), over all connections. */
  private held = 0;
  /** Senders stopped because the buffer was full: all resume once it has room again. */
  private readonly paused = new Set<net.Socket>();

  constructor(
    private readonly bytesPerMs: number,
    private readonly bufferBytes: number,
  ) {}

  /** The time the last byte of `n` bytes leaves the sender's end of the wire. */
  send(n: number, at: number, from: net.Socket): number {
    this.bytes += n;
    this.held += n;
    // The bottleneck's buffer is full: stop reading, so that TCP slows the sender down.
    if (this.held > this.bufferBytes && !from.destroyed) {
      from.pause();
      this.paused.add(from);
    }
    this.freeAt = Math.max(this.freeAt, at) + n / this.bytesPerMs;
    return this.freeAt;
  }

  /** `n` bytes have left the link (delivered, or dropped with their connection). */
  release(n: number): void {
    this.held -= n;
    if (this.held > this.bufferBytes || this.paused.size === 0) return;
    for (const s of this.paused) if (!s.destroyed) s.resume();
    this.paused.clear();
  }

  forget(s: net.Socket): void {
    this.paused.delete(s);
  }
}

/**
 * A chunk may leave up to this much before its time. Node's timers fire 1 ms late at best,
 * so waiting for the sub-millisecond time a small message takes on the wire would add a
 * millisecond to every hop (a folder of small files pays that per message, even with no
 * delay set). The wire clock itself stays exact, so the rate over time is kept.
 */
const EARLY_MS = 1;

interface Chunk {
  readonly data: Buffer;
  readonly due: number;
}

/** One connection's one direction: chunks in order, each written when its time comes, then the FIN. */
class Lane {
  private readonly queue: Chunk[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the sender's FIN reaches the receiver (it travels behind the data), once it was sent. */
  private endDue: number | undefined;
  private stopped = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly wire: Direction,
    private readonly oneWayMs: number,
  ) {
    from.on('data', (data: Buffer) => this.take(data));
    from.on('end', () => {
      this.endDue = this.wire.send(0, performance.now(), from) + this.oneWayMs;
      this.flush();
    });
    to.on('drain', () => this.flush());
    to.on('connect', () => this.flush());
    // Whatever has not reached a receiver that is gone never will.
    to.on('close', () => this.stop());
  }

  private take(data: Buffer): void {
    if (this.stopped) return;
    const departed = this.wire.send(data.length, performance.now(), this.from);
    this.queue.push({ data, due: departed + this.oneWayMs });
    this.flush();
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Not yet connected (the emulated handshake): written once it is.
    if (this.stopped || (this.to.pending && !this.to.destroyed)) return;
    // Drop delivered chunks from the front now and then (a long stream never empties the queue).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    const now = performance.now();
    while (this.head < this.queue.length) {
      const chunk = this.queue[this.head]!;
      if (chunk.due > now + EARLY_MS) return this.wake(chunk.due - now);
      // The receiver is slower than the link: deliver on its 'drain'.
      if (this.to.writableNeedDrain) return;
      this.head++;
      this.wire.release(chunk.data.length);
      if (!this.to.destroyed) this.to.write(chunk.data);
    }
    if (this.head > 0) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.endDue === undefined || this.to.destroyed) return;
    if (this.endDue > now + EARLY_MS) return this.wake(this.endDue - now);
    this.to.end();
  }

  private wake(ms: number): void {
    this.timer = setTimeout(() => this.flush(), Math.max(0, ms));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let dropped = 0;
    for (let i = this.head; i < this.queue.length; i++) dropped += this.queue[i]!.data.length;
    this.queue.length = 0;
    this.head = 0;
    this.wire.forget(this.from);
    this.wire.release(dropped);
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
    // The bottleneck's buffer: one bandwidth-delay product per direction (at least 256 KiB),
    // shared by all connections as a router's queue is. The relay holds the bytes on their
    // way too (half a round trip's worth at full rate): they count on top of the queue.
    const bufferBytes = Math.max(256 * 1024, Math.round(bytesPerMs * shape.rttMs)) + Math.round((bytesPerMs * shape.rttMs) / 2);
    const up = new Direction(bytesPerMs, bufferBytes);
    const down = new Direction(bytesPerMs, bufferBytes);
    let proxy: LinkProxy | undefined;
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      const p = proxy!;
      p.connections++;
      // TCP's handshake: the client's connect() succeeds at once on loopback, so the server
      // is reached only when a real one would accept (1.5 round trips after the SYN), and
      // whatever the client sent meanwhile waits in the lane until then.
      const upstream = new net.Socket({ allowHalfOpen: true });
      const dial = setTimeout(() => upstream.connect({ port: targetPort, host: '127.0.0.1' }), shape.rttMs * 1.5);
      const lanes = [new Lane(client, upstream, up, shape.rttMs / 2), new Lane(upstream, client, down, shape.rttMs / 2)];
      for (const lane of lanes) p.lanes.add(lane);
      let open = 2;
      // A reset reaches the other side as a reset (a plain close would leave a half-open
      // peer waiting), data still queued for it is dropped.
      const reset = (): void => {
        for (const s of [client, upstream]) if (!s.destroyed) s.resetAndDestroy();
      };
      for (const s of [client, upstream]) {
        s.setNoDelay(true);
        p.sockets.add(s);
        // A clean close travels as a FIN through the lanes (behind the data before it); a
        // reset or an error ends both sides at once.
        s.on('close', (hadError) => {
          p.sockets.delete(s);
          if (s === upstream) clearTimeout(dial);
          if (hadError) reset();
          if (--open === 0) for (const lane of lanes) p.lanes.delete(lane);
        });
        s.on('error', reset);
      }
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
