/**
 * Ferry frames: u32 little-endian header length, a UTF-8 JSON header, then exactly
 * `size` body bytes when the header has a positive `size`. See docs/PROTOCOL.md.
 *
 * The decoder is an explicit state machine over whatever pieces the byte stream arrives
 * in (TCP has no message boundaries). It checks the header length against a cap before
 * it allocates anything, passes body bytes through as views of the input (no copies),
 * can stop after a frame's header or body so that its owner parses only what it asks
 * for, and after the first error it stops: the connection owner answers with an error
 * frame and closes.
 */
import { FerryError } from './errors.js';

export const DEFAULT_MAX_HEADER = 64 * 1024;
/**
 * The most `{`, `[` and `,` a header may hold outside its strings (its objects, arrays
 * and their items; every message has a few dozen at most). Checked before JSON.parse: a
 * 64 KiB header of `[[],[],…]` would take 10 ms to parse into 20 times its size, one of
 * plain strings takes microseconds and about its size.
 */
export const MAX_HEADER_VALUES = 256;
/** Largest body a frame may declare: 2^53-1, JSON's exact integer range. */
export const MAX_BODY = Number.MAX_SAFE_INTEGER;

export interface FrameHeader {
  readonly type: string;
  readonly id?: number;
  /** Body length in bytes; absent or 0 means no body. */
  readonly size?: number;
  readonly [key: string]: unknown;
}

/**
 * What the decoder hands its owner. `header` and `bodyEnd` may return false to stop the
 * decoder right there: push() then returns how many bytes it took, and the owner passes
 * the rest again when it wants more.
 */
export interface FrameSink {
  /** A complete header. If `header.size > 0`, body() calls follow, then bodyEnd(). */
  header(header: FrameHeader): boolean | void;
  body(chunk: Uint8Array): void;
  bodyEnd(): boolean | void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encode the length prefix and the JSON header. The body, if any, is written after it. */
export function encodeHeader(header: FrameHeader, maxHeader = DEFAULT_MAX_HEADER): Uint8Array {
  const json = encoder.encode(JSON.stringify(header));
  if (json.length > maxHeader) {
    throw new FerryError('ETOOBIG', `frame header of ${json.length} bytes exceeds the ${maxHeader}-byte limit`);
  }
  const out = new Uint8Array(4 + json.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  return out;
}

/** Encode a whole frame into one buffer (for small bodies; stream large ones instead). */
export function encodeFrame(header: FrameHeader, body?: Uint8Array, maxHeader = DEFAULT_MAX_HEADER): Uint8Array {
  const size = body?.length ?? 0;
  const head = encodeHeader(size > 0 ? { ...header, size } : header, maxHeader);
  if (body === undefined || size === 0) return head;
  const out = new Uint8Array(head.length + size);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;

/** How many `{`, `[` and `,` appear outside strings, counting no further than `max` + 1. */
function countStructure(bytes: Uint8Array, max: number): number {
  let count = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      // Skip the string: to the next quote not escaped by an odd run of backslashes.
      let end = i;
      for (;;) {
        end = bytes.indexOf(QUOTE, end + 1);
        if (end < 0) return count; // not JSON: the parser says so
        let slashes = 0;
        while (bytes[end - 1 - slashes] === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
      }
      i = end + 1;
      continue;
    }
    if ((b === COMMA || b === OPEN_BRACKET || b === OPEN_BRACE) && ++count > max) return count;
    i++;
  }
  return count;
}

/** Parse and sanity-check a header's JSON. Throws EPROTO (ETOOBIG for too many values). */
export function parseHeader(bytes: Uint8Array): FrameHeader {
  if (countStructure(bytes, MAX_HEADER_VALUES) > MAX_HEADER_VALUES) {
    throw new FerryError('ETOOBIG', `frame header has more than ${MAX_HEADER_VALUES} JSON objects, arrays and items`);
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new FerryError('EPROTO', 'frame header is not valid UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FerryError('EPROTO', 'frame header must be a JSON object');
  }
  const header = value as Record<string, unknown>;
  if (typeof header.type !== 'string' || header.type.length === 0) {
    throw new FerryError('EPROTO', 'frame header has no "type"');
  }
  if (header.id !== undefined && !(Number.isSafeInteger(header.id) && (header.id as number) >= 0)) {
    throw new FerryError('EPROTO', 'frame "id" must be a non-negative integer');
  }
  if (header.size !== undefined && !(Number.isSafeInteger(header.size) && (header.size as number) >= 0)) {
    throw new FerryError('EPROTO', 'frame "size" must be a non-negative integer');
  }
  return header as FrameHeader;
}

const enum State {
  Length,
  Header,
  Body,
  Failed,
}

export class FrameDecoder {
  private state = State.Length;
  /**
   * The length prefix or the header being gathered when it arrives in pieces: allocated
   * once its size is known (and checked against the cap), never more than maxHeader.
   */
  private partial: Uint8Array | null = null;
  private partialBytes = 0;
  private need = 4;
  private bodyLeft = 0;
  private failure: FerryError | undefined;

  constructor(
    private readonly sink: FrameSink,
    /** The header cap; an owner may change it between frames (e.g. once a peer logs in). */
    public maxHeader = DEFAULT_MAX_HEADER,
  ) {}

  /** The error that stopped the decoder, if any. */
  get error(): FerryError | undefined {
    return this.failure;
  }

  /** True between frames: nothing half-read is buffered. */
  get idle(): boolean {
    return this.state === State.Length && this.partialBytes === 0;
  }

  /** True while a length prefix or header has begun and is not complete. */
  get midHeader(): boolean {
    return this.state === State.Header || (this.state === State.Length && this.partialBytes > 0);
  }

  /**
   * Feed bytes; returns how many were taken (all of them unless the sink stopped the
   * decoder). Throws the FerryError (EPROTO or ETOOBIG) that stopped decoding; later
   * calls are ignored. Errors thrown by the sink propagate unchanged.
   */
  push(chunk: Uint8Array): number {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.state) {
        case State.Failed:
          return chunk.length;
        case State.Body: {
          const n = Math.min(this.bodyLeft, chunk.length - offset);
          this.bodyLeft -= n;
          const piece = chunk.subarray(offset, offset + n);
          offset += n;
          this.sink.body(piece);
          if (this.bodyLeft === 0) {
            this.state = State.Length;
            this.need = 4;
            if (this.sink.bodyEnd() === false) return offset;
          }
          break;
        }
        case State.Length:
        case State.Header: {
          const n = Math.min(this.need - this.partialBytes, chunk.length - offset);
          let bytes: Uint8Array;
          if (this.partialBytes === 0 && n === this.need) {
            // All in this chunk: a view, no copy.
            bytes = chunk.subarray(offset, offset + n);
          } else {
            this.partial ??= new Uint8Array(this.need);
            this.partial.set(chunk.subarray(offset, offset + n), this.partialBytes);
            this.partialBytes += n;
            if (this.partialBytes < this.need) return chunk.length;
            bytes = this.partial;
            this.partial = null;
            this.partialBytes = 0;
          }
          offset += n;
          if (this.state === State.Length) this.onLength(bytes);
          else if (this.onHeader(bytes) === false) return offset;
          break;
        }
      }
    }
    return offset;
  }

  private onLength(bytes: Uint8Array): void {
    const length = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
    if (length === 0) return this.fail(new FerryError('EPROTO', 'frame header length is 0'));
    if (length > this.maxHeader) {
      return this.fail(
        new FerryError('ETOOBIG', `frame header of ${length} bytes exceeds the ${this.maxHeader}-byte limit`),
      );
    }
    this.state = State.Header;
    this.need = length;
  }

  private onHeader(bytes: Uint8Array): boolean | void {
    let header: FrameHeader;
    try {
      header = parseHeader(bytes);
    } catch (err) {
      return this.fail(err as FerryError);
    }
    const size = header.size ?? 0;
    if (size > 0) {
      this.state = State.Body;
      this.bodyLeft = size;
    } else {
      this.state = State.Length;
      this.need = 4;
    }
    return this.sink.header(header);
  }

  private fail(err: FerryError): never {
    this.state = State.Failed;
    this.partial = null;
    this.partialBytes = 0;
    this.failure = err;
    throw err;
  }
}
