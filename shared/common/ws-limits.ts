/**
 * Size limits of browser mode's WebSocket (ws-messages.ts), in a file of their own so the
 * page's client can import them without the host's schemas (and zod) in its bundle.
 */

/** File bytes travel in binary messages of at most this size. */
export const WS_MAX_CHUNK = 1024 * 1024;
/** The largest text message (an upload-begin listing 10,000 files with long paths). */
export const WS_MAX_MESSAGE = 8 * 1024 * 1024;
/** Files one upload-begin may announce. */
export const WS_MAX_UPLOAD_FILES = 10_000;
