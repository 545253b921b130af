/**
 * Browser mode's messages over the WebSocket at /api (the UI contract, carried as JSON
 * text, plus the byte stream of dropped files), defined once for both ends: the web host
 * (web/host.ts) validates what clients send with these schemas; the page's client
 * (renderer/src/transport/ws-api.ts) uses the types.
 *
 *   client → host  {t:'call', id, name, args}                      → {t:'result', id, result}
 *                  {t:'upload-begin', id, remoteDir, files, folders?} → {t:'result', id, result}
 *                  binary messages: the files' bytes, in order, ≤ WS_MAX_CHUNK each
 *                  {t:'upload-end', id}                              → {t:'result', id, result: TransferView[]}
 *                  {t:'upload-abort', id}                            → {t:'result', id, result}
 *   host → client  {t:'event', name, payload}
 *                  {t:'upload-failed', id, error}  the spool failed mid-way: stop sending bytes
 *                  {t:'error', error} just before the host closes a misbehaving socket
 */
import { z } from 'zod';
import type { EventName, Result } from './contract.js';
import type { ErrorInfo } from './errors.js';
import { WS_MAX_UPLOAD_FILES } from './ws-limits.js';

const id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A file the user dropped or picked, as the page announces it to its host. */
export const UploadItem = z.object({
  /** '/'-separated path inside the dropped folder (just the name for a plain file). */
  relativePath: z.string().min(1).max(4096),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type UploadItem = z.infer<typeof UploadItem>;

export const WsClientMessage = z.discriminatedUnion('t', [
  // The arguments are the contract's business: the backend validates them per call.
  z.object({ t: z.literal('call'), id, name: z.string().max(100), args: z.unknown() }),
  /**
   * Announce a drop: the host checks names and quota, then expects the bytes, file after
   * file. `folders` lists the drop's folders (relative paths) so that empty ones are made too.
   */
  z.object({
    t: z.literal('upload-begin'),
    id,
    remoteDir: z.string().min(1).max(4096),
    files: z.array(UploadItem).max(WS_MAX_UPLOAD_FILES),
    folders: z.array(z.string().min(1).max(4096)).max(WS_MAX_UPLOAD_FILES).optional(),
  }),
  z.object({ t: z.literal('upload-end'), id }),
  z.object({ t: z.literal('upload-abort'), id }),
]);
export type WsClientMessage = z.infer<typeof WsClientMessage>;

export type WsHostMessage =
  | { readonly t: 'result'; readonly id: number; readonly result: Result<unknown> }
  | { readonly t: 'event'; readonly name: EventName; readonly payload: unknown }
  /** The host could not keep an upload's bytes: stop sending them, then send upload-end. */
  | { readonly t: 'upload-failed'; readonly id: number; readonly error: ErrorInfo }
  /** The host is about to close the socket because this client broke the protocol. */
  | { readonly t: 'error'; readonly error: ErrorInfo };
