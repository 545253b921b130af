/**
 * The messages of browser mode's WebSocket (/api on the Ferry web host), as the page sees
 * them. The host's side is web/ws-protocol.ts; test/web/host.test.ts checks that the two
 * agree. Types only: this file is shared with tests that run without the DOM.
 */
import type { CallName, EventName, Result, UploadItem } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';

/** File bytes travel in binary messages of at most this size. */
export const WS_MAX_CHUNK = 1024 * 1024;

export type WsClientMessage =
  | { readonly t: 'call'; readonly id: number; readonly name: CallName; readonly args: readonly unknown[] }
  /**
   * Announce a drop: the host checks names and quota, then expects the bytes, file after
   * file. `folders` lists the drop's folders (relative paths) so that empty ones are made too.
   */
  | {
      readonly t: 'upload-begin';
      readonly id: number;
      readonly remoteDir: string;
      readonly files: UploadItem[];
      readonly folders?: string[];
    }
  | { readonly t: 'upload-end'; readonly id: number }
  | { readonly t: 'upload-abort'; readonly id: number };

export type WsHostMessage =
  | { readonly t: 'result'; readonly id: number; readonly result: Result<unknown> }
  | { readonly t: 'event'; readonly name: EventName; readonly payload: unknown }
  /** The host could not keep an upload's bytes: stop sending them, then send upload-end. */
  | { readonly t: 'upload-failed'; readonly id: number; readonly error: ErrorInfo }
  /** The host is about to close the socket because this client broke the protocol. */
  | { readonly t: 'error'; readonly error: ErrorInfo };
