/**
 * Frames over a Node socket (TCP or TLS): a pull-style reader with backpressure and a
 * writer that never interleaves two frames. The codec itself lives in shared/common.
 */
import type { Duplex } from 'node:stream';
import { FrameDecoder, encodeHeader, type FrameHeader, DEFAULT_MAX_HEADER } from '../common/frame.js';
import { FerryError } from '../common/errors.js';

type Item =
  | { readonly kind: 'header'; readonly header: FrameHeader }
  | { readonly kind: 'body'; readonly chunk: Buffer }
  | { readonly kind: 'end' };

/** Bytes a reader buffers for a body being read before it pauses the socket (the default). */
export const DEFAULT_HIGH_WATER_MARK = 2 * 1024 * 1024;
/**
 * What each buffered socket read counts for beyond its bytes (its Buffer object): a peer
 * that sends a byte per packet must not make many tiny buffers cost little.
 */
const CHUNK_COST = 256;

/** Limits a reader's owner may change between frames (e.g. once the peer has logged in). */
export interface FrameReaderLimits {
  /** The header cap. */
  readonly maxHeader?: number;
  /** Pause the socket when this many bytes of the body being read are buffered, unread. */
  readonly highWaterMark?: number;
  /**
   * Pause the socket when this many bytes are buffered while no body is being read
   * (between frames): bytes of headers not asked for yet. Default: highWaterMark.
   */
  readonly headerWaterMark?: number;
}

export interface FrameReaderOptions extends FrameReaderLimits {
  /** A frame header must be complete this long after the reader starts waiting for its rest (ms). */
  readonly headerDeadline?: number;
  /**
   * Called when a header misses its deadline (the reader has already failed with
   * ETIMEDOUT). The default destroys the socket; an owner may answer first, then close.
   */
  readonly onDeadline?: (err: FerryError) => void;
}

/**
 * Pull frames from a socket: `await next()` for a header, then consume its body with
 * `body()`, `readBody()` or `skipBody()` before the next header.
 *
 * What arrives is kept as received bytes and decoded only as the consumer asks: a header
 * is parsed when next() wants it, never ahead, so a peer cannot make the reader hold
 * parsed headers (whose objects can weigh 20 times their JSON). The socket is paused
 * while too many received bytes wait (fewer between frames than within a body).
 */
export class FrameReader {
  /** Received chunks from rawHead on are not decoded yet; those before it were (and cleared). */
  private readonly raw: (Buffer | undefined)[] = [];
  private rawHead = 0;
  /** Bytes waiting in `raw`, each chunk counted with CHUNK_COST. */
  private rawLoad = 0;
  /** What the decoder produced for the consumer (a header, or a body piece and its end). */
  private readonly items: Item[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Set by stop(): whatever arrives from now on is dropped unread. */
  private stopped = false;
  private failure: FerryError | undefined;
  private readonly decoder: FrameDecoder;
  private highWater: number;
  private headerWater: number;
  private readonly deadline: number;
  private readonly onDeadline: (err: FerryError) => void;
  private headerTimer: NodeJS.Timeout | undefined;
  /** True while this reader holds the socket paused (backpressure). */
  private paused = false;
  /** The last header returned by next() has a body that was not read to its end yet. */
  private bodyPending = false;

  constructor(
    private readonly socket: Duplex,
    options: FrameReaderOptions = {},
  ) {
    // 2 MiB: enough to keep a disk write going while the next buffer fills, and it bounds
    // what each connection may hold in memory.
    this.highWater = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.headerWater = options.headerWaterMark ?? this.highWater;
    this.deadline = options.headerDeadline ?? 0;
    this.onDeadline = options.onDeadline ?? (() => socket.destroy());
    this.decoder = new FrameDecoder(
      {
        header: (header) => {
          // This header is complete: its deadline is met. The next one gets its own.
          this.clearHeaderTimer();
          this.items.push({ kind: 'header', header });
          return false;
        },
        body: (chunk) => {
          this.items.push({ kind: 'body', chunk: chunk as Buffer });
        },
        bodyEnd: () => {
          this.items.push({ kind: 'end' });
          return false;
        },
      },
      options.maxHeader ?? DEFAULT_MAX_HEADER,
    );
    socket.on('data', (chunk: Buffer) => {
      if (this.stopped) return;
      this.raw.push(chunk);
      this.rawLoad += chunk.length + CHUNK_COST;
      this.applyBackpressure();
      this.wake();
    });
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err) => this.fail(new FerryError('ECONN', `connection error: ${err.message}`)));
  }

  /** The decode error that ended the stream, if the peer sent a bad frame. */
  get protocolError(): FerryError | undefined {
    return this.failure?.code === 'EPROTO' || this.failure?.code === 'ETOOBIG' ? this.failure : undefined;
  }

  /** Change the limits from the next frame on (the header cap applies to headers not begun yet). */
  setLimits(limits: FrameReaderLimits): void {
    if (limits.maxHeader !== undefined) this.decoder.maxHeader = limits.maxHeader;
    if (limits.highWaterMark !== undefined) this.highWater = limits.highWaterMark;
    if (limits.headerWaterMark !== undefined) this.headerWater = limits.headerWaterMark;
    this.applyBackpressure();
  }

  /**
   * Read no more: drop what is buffered, pause the socket for good and drop whatever it
   * still delivers, unparsed. next() and body() then fail with ECONN.
   */
  stop(): void {
    if (this.stopped) return;
    this.pause();
    this.stopped = true;
    this.raw.length = 0;
    this.rawHead = 0;
    this.rawLoad = 0;
    this.items.length = 0;
    this.fail(new FerryError('ECONN', 'the connection stopped reading'));
  }

  /** Pause above the mark that applies now; resume below half of it. */
  private applyBackpressure(): void {
    if (this.stopped) return;
    const mark = this.bodyPending ? this.highWater : this.headerWater;
    if (this.rawLoad >= mark) this.pause();
    else if (this.rawLoad < mark / 2) this.resume();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused || this.stopped) return;
    this.paused = false;
    this.socket.resume();
    // A header that was cut off while we were not reading gets a full deadline from now.
    if (this.headerTimer !== undefined) {
      this.clearHeaderTimer();
      this.armHeaderDeadline();
    }
  }

  private clearHeaderTimer(): void {
    clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
  }

  /** Called while the consumer waits for bytes: a header begun and not finished is timed. */
  private armHeaderDeadline(): void {
    if (this.deadline <= 0 || this.ended) return;
    if (!this.decoder.midHeader || this.decoder.error !== undefined) {
      this.clearHeaderTimer();
    } else if (this.headerTimer === undefined) {
      const ms = this.deadline;
      this.headerTimer = setTimeout(() => {
        this.headerTimer = undefined;
        // While we hold the socket paused the slowness is ours, not the peer's.
        if (this.paused) return this.armHeaderDeadline();
        const err = new FerryError('ETIMEDOUT', `a frame header did not arrive within ${ms} ms`);
        this.fail(err);
        this.onDeadline(err);
      }, ms);
      this.headerTimer.unref();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private finish(): void {
    this.clearHeaderTimer();
    this.ended = true;
    this.wake();
  }

  private fail(err: FerryError): void {
    this.failure ??= err;
    this.finish();
  }

  /**
   * Decode the next received chunk until the decoder stops (after a header or a body's
   * end) or the chunk is used up. A decode error fails the reader.
   */
  private decodeSome(): void {
    const chunk = this.raw[this.rawHead]!;
    let used: number;
    try {
      used = this.decoder.push(chunk);
    } catch (err) {
      this.raw.length = 0;
      this.rawHead = 0;
      this.rawLoad = 0;
      this.fail(err instanceof FerryError ? err : new FerryError('EPROTO', String(err)));
      return;
    }
    if (used < chunk.length) {
      this.raw[this.rawHead] = chunk.subarray(used);
      this.rawLoad -= used;
    } else {
      // Let go of the chunk at once: a decoded chunk left in the array would keep its
      // socket buffer alive (1024 of them were 64 MiB on plain TCP).
      this.raw[this.rawHead++] = undefined;
      this.rawLoad -= chunk.length + CHUNK_COST;
      if (this.rawHead === this.raw.length) {
        this.raw.length = 0;
        this.rawHead = 0;
      } else if (this.rawHead > 1024 && this.rawHead * 2 > this.raw.length) {
        this.raw.splice(0, this.rawHead);
        this.rawHead = 0;
      }
    }
    this.applyBackpressure();
  }

  private async take(): Promise<Item | undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) return item;
      if (this.rawHead < this.raw.length) {
        this.decodeSome();
        continue;
      }
      if (this.ended) return undefined;
      this.resume();
      this.armHeaderDeadline();
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** The next frame header, or null when the peer closed cleanly between frames. */
  async next(): Promise<FrameHeader | null> {
    const item = await this.take();
    if (item === undefined) {
      if (this.failure) throw this.failure;
      if (!this.decoder.idle) throw new FerryError('ECONN', 'connection closed in the middle of a frame');
      return null;
    }
    if (item.kind !== 'header') throw new FerryError('EPROTO', 'body bytes where a header was expected');
    this.bodyPending = (item.header.size ?? 0) > 0;
    this.applyBackpressure();
    return item.header;
  }

  /** The current frame's body, chunk by chunk (views of the received data, no copies). */
  async *body(): AsyncGenerator<Buffer, void, undefined> {
    if (!this.bodyPending) return;
    for (;;) {
      const item = await this.take();
      if (item === undefined) throw this.failure ?? new FerryError('ECONN', 'connection closed in the middle of a frame body');
      if (item.kind === 'end') {
        this.bodyPending = false;
        this.applyBackpressure();
        return;
      }
      if (item.kind === 'header') throw new FerryError('EPROTO', 'header where body bytes were expected');
      yield item.chunk;
    }
  }

  /** Read a whole (small) body into memory, refusing more than `max` bytes. */
  async readBody(size: number, max: number): Promise<Buffer> {
    if (size > max) {
      await this.skipBody();
      throw new FerryError('ETOOBIG', `a body of ${size} bytes exceeds the ${max}-byte limit`);
    }
    const parts: Buffer[] = [];
    for await (const chunk of this.body()) parts.push(chunk);
    return Buffer.concat(parts, size);
  }

  /** Discard the rest of the current body (nothing happens if it was read already). */
  async skipBody(): Promise<void> {
    for await (const _ of this.body()) {
      // discard
    }
  }
}

/**
 * Writes frames to a socket. Small frames go out in one write; a streamed body holds the
 * socket until it is done, and frames sent meanwhile wait their turn (never interleave).
 */
export class FrameWriter {
  private lock: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly maxHeader = DEFAULT_MAX_HEADER,
  ) {
    socket.once('close', () => (this.closed = true));
  }

  get isClosed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  /**
   * The socket holds more than its high-water mark of written bytes: the peer (or the
   * link) does not take what is sent. The socket emits 'drain' when this ends.
   */
  get backedUp(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Send a frame whose body (if any) is already in memory. */
  send(header: FrameHeader, body?: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      this.writeFrame(header, body);
      await this.drained();
    });
  }

  /**
   * Send a header declaring `size` body bytes, then exactly that many bytes from `source`.
   * If the source yields fewer or more bytes the frame cannot be completed and the socket
   * is destroyed (the peer sees a dropped connection, never a corrupt frame).
   */
  sendStream(
    header: FrameHeader,
    size: number,
    source: AsyncIterable<Uint8Array>,
    /** Called for each chunk once the socket no longer needs it (its buffer may be reused). */
    release?: (chunk: Uint8Array) => void,
  ): Promise<void> {
    return this.exclusive(async () => {
      // The header rides in the same socket write as the first chunk (one syscall).
      let head: Uint8Array | null = encodeHeader({ ...header, size }, this.maxHeader);
      let sent = 0;
      try {
        for await (const chunk of source) {
          sent += chunk.length;
          if (sent > size) throw new FerryError('EIO', 'the source grew while it was being sent');
          if (head) {
            this.socket.cork();
            this.write(head);
            head = null;
          }
          const ok = release ? this.write(chunk, () => release(chunk)) : this.write(chunk);
          if (this.socket.writableCorked) this.socket.uncork();
          if (!ok) await this.drained();
        }
        if (head) this.write(head);
        if (sent !== size) throw new FerryError('EIO', `the source ended after ${sent} of ${size} bytes`);
      } catch (err) {
        this.socket.destroy();
        throw err;
      }
      await this.drained();
    });
  }

  /** Run `fn` while holding the socket (used to send a few frames back to back). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(() => {
      if (this.isClosed) throw new FerryError('ECONN', 'the connection is closed');
      return fn();
    });
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Write a frame immediately; only call while holding the lock via exclusive(). */
  writeFrame(header: FrameHeader, body?: Uint8Array): boolean {
    const size = body?.length ?? 0;
    const head = encodeHeader(size > 0 ? { ...header, size } : header, this.maxHeader);
    if (size === 0) return this.write(head);
    this.socket.cork();
    this.write(head);
    const ok = this.write(body!);
    process.nextTick(() => this.socket.uncork());
    return ok;
  }

  private write(bytes: Uint8Array, done?: () => void): boolean {
    if (this.isClosed) throw new FerryError('ECONN', 'the connection is closed');
    return done ? this.socket.write(bytes, done) : this.socket.write(bytes);
  }

  /** Resolves once the socket's buffer is below its high-water mark (or rejects on close). */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', closed);
        resolve();
      };
      const closed = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', closed);
        reject(new FerryError('ECONN', 'the connection closed while sending'));
      };
      this.socket.on('drain', done);
      this.socket.on('close', closed);
    });
  }
}
