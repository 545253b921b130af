/**
 * What the parts of a logged-in connection (requests, uploads, exec) may use of it: the
 * frames in and out, the session, the requests running, and the bound on them.
 */
import type { FerryError } from '../shared/common/errors.js';
import type { FrameHeader } from '../shared/common/frame.js';
import type { Request } from '../shared/common/messages.js';
import type { FrameReader, FrameWriter } from '../shared/node/frame-stream.js';
import type { ByteBudget } from './byte-budget.js';
import type { ListCursors } from './list-cursors.js';
import type { ServerContext } from './server-context.js';
import type { Session } from './sessions.js';

export type Req<T extends Request['type']> = Extract<Request, { type: T }>;

export interface ConnectionScope {
  readonly ctx: ServerContext;
  readonly reader: FrameReader;
  readonly writer: FrameWriter;
  /** The session this connection logged in to or attached to. */
  readonly session: Session;
  /** Requests still running, by id, with a way to stop each (cancel, close, shutdown). */
  readonly running: Map<number, () => void>;
  /** Bytes of `read` and `list` replies held until the socket takes them (Limits.maxReadingBytes). */
  readonly readBudget: ByteBudget;
  /** The listings this connection is paging through, by cursor. */
  readonly listings: ListCursors;
  /** The socket has closed. */
  readonly closed: boolean;
  /** The server is shutting down: an upload body stops at its next chunk (partial kept). */
  readonly stopping: boolean;
  /** Read the next request, validated. Closes (by throwing) on anything malformed. */
  nextRequest(): Promise<Request | null>;
  /**
   * Send a frame. A final reply frees its id once written; `coalesce` lets the replies of
   * one turn of the event loop leave in one socket write.
   */
  send(header: FrameHeader, body?: Uint8Array, coalesce?: boolean): Promise<void>;
  /** Send an error reply (host paths scrubbed). */
  sendError(id: number, err: FerryError): Promise<void>;
  /** A reply still to come counts against the requests a connection may have running. */
  holdSlot(work: Promise<unknown>): void;
  /** A bound may have freed (a small upload committed): the request loop may read on. */
  wake(): void;
  /** Drop the connection at once (stopping a download midway). */
  destroy(): void;
}
