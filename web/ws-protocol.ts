/**
 * Browser mode's messages over the WebSocket at /api (the UI contract, carried as JSON
 * text, plus the byte stream of dropped files). The renderer's client speaks the same
 * shapes (renderer/src/transport/ws-messages.ts; test/web/host.test.ts checks they agree).
 *
 *   client → host  {t:'call', id, name, args}                      → {t:'result', id, result}
 *                  {t:'upload-begin', id, remoteDir, files, folders?} → {t:'result', id, result}
 *                  binary messages: the files' bytes, in order, ≤ 1 MiB each
 *                  {t:'upload-end', id}                              → {t:'result', id, result: TransferView[]}
 *                  {t:'upload-abort', id}                            → {t:'result', id, result}
 *   host → client  {t:'event', name, payload}
 *                  {t:'upload-failed', id, error}  the spool failed mid-way: stop sending bytes
 *                  {t:'error', error} just before the host closes a misbehaving socket
 */
import { z } from 'zod';
import type { EventName, Result } from '../shared/common/contract.js';
import type { ErrorInfo } from '../shared/common/errors.js';

/** The largest binary message: one chunk of a file. */
export const MAX_CHUNK = 1024 * 1024;
/** The largest text message (an upload-begin listing 10,000 files with long paths). */
export const MAX_MESSAGE = 8 * 1024 * 1024;
export const MAX_UPLOAD_FILES = 10_000;

const id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const UploadFileInfo = z.object({
  relativePath: z.string().min(1).max(4096),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type UploadFileInfo = z.infer<typeof UploadFileInfo>;

export const ClientMessage = z.discriminatedUnion('t', [
  // The arguments are the contract's business: the backend validates them per call.
  z.object({ t: z.literal('call'), id, name: z.string().max(100), args: z.unknown() }),
  z.object({
    t: z.literal('upload-begin'),
    id,
    remoteDir: z.string().min(1).max(4096),
    files: z.array(UploadFileInfo).max(MAX_UPLOAD_FILES),
    /** The drop's folders (relative paths), so that empty ones are created too. */
    folders: z.array(z.string().min(1).max(4096)).max(MAX_UPLOAD_FILES).optional(),
  }),
  z.object({ t: z.literal('upload-end'), id }),
  z.object({ t: z.literal('upload-abort'), id }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export type HostMessage =
  | { readonly t: 'result'; readonly id: number; readonly result: Result<unknown> }
  | { readonly t: 'event'; readonly name: EventName; readonly payload: unknown }
  | { readonly t: 'upload-failed'; readonly id: number; readonly error: ErrorInfo }
  | { readonly t: 'error'; readonly error: ErrorInfo };
