/**
 * FerryApi over the Ferry web host's WebSocket (browser mode). Calls are JSON messages
 * matched to their results by id; events arrive as they happen; dropped files are read
 * from disk in 1 MiB slices and sent as binary messages, waiting while the socket's send
 * buffer is full, so a 10 GiB folder never sits in memory. The host checks everything.
 */
import type {
  CallArgs,
  CallName,
  CallResults,
  EventName,
  Events,
  FerryApi,
  Result,
  UploadFile,
} from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { TransferView } from '../../../shared/common/transfer-model.js';
import { WS_MAX_CHUNK } from '../../../shared/common/ws-limits.js';
import type { WsClientMessage, WsHostMessage } from '../../../shared/common/ws-messages.js';

export interface WsApiOptions {
  /** ws://HOST:PORT/api (the browser sends the host's session cookie with it). */
  readonly url: string;
  /** Bytes queued in the socket above which an upload waits (default 4 MiB). */
  readonly highWaterMark?: number;
}

const NOT_ADMITTED: ErrorInfo = {
  code: 'EAUTH',
  message:
    'The Ferry web host did not let this page in: this browser has not opened one of its addresses, or the host was restarted or is not running. ' +
    'Open the newest address printed in the terminal where Ferry runs (it ends with ?code=…; each one works once).',
};
const LOST: ErrorInfo = {
  code: 'ECONN',
  message: 'The connection to the Ferry web host was lost (was it stopped?). Start it again and open the address it prints.',
};

export function createWsApi(options: WsApiOptions): FerryApi {
  const highWaterMark = options.highWaterMark ?? 4 * WS_MAX_CHUNK;
  const ws = new WebSocket(options.url);
  ws.binaryType = 'arraybuffer';
  let nextId = 1;
  let closedWith: ErrorInfo | undefined;
  const pending = new Map<number, (result: Result<unknown>) => void>();
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const uploadFailures = new Map<number, ErrorInfo>();
  /** One upload at a time per socket: binary messages carry no id. */
  let uploads: Promise<unknown> = Promise.resolve();
  let openedOnce = false;

  const opened = new Promise<boolean>((resolve) => {
    ws.addEventListener(
      'open',
      () => {
        openedOnce = true;
        resolve(true);
      },
      { once: true },
    );
    ws.addEventListener('close', () => resolve(false), { once: true });
  });

  function dispatch(name: EventName, payload: unknown): void {
    for (const listener of listeners.get(name) ?? []) {
      try {
        listener(payload);
      } catch (err) {
        console.error(`a listener of ${name} failed`, err);
      }
    }
  }

  ws.addEventListener('message', (event: MessageEvent) => {
    if (typeof event.data !== 'string') return;
    let message: WsHostMessage;
    try {
      message = JSON.parse(event.data) as WsHostMessage;
    } catch {
      return;
    }
    switch (message.t) {
      case 'result': {
        const resolve = pending.get(message.id);
        pending.delete(message.id);
        resolve?.(message.result);
        return;
      }
      case 'event':
        return dispatch(message.name, message.payload);
      case 'upload-failed':
        uploadFailures.set(message.id, message.error);
        return;
      case 'error':
        closedWith = message.error;
        return;
    }
  });

  // Failures are reported by the close event that follows (browsers give no details).
  ws.addEventListener('error', () => undefined);
  ws.addEventListener('close', () => {
    closedWith ??= closedError();
    for (const resolve of pending.values()) resolve({ ok: false, error: closedWith });
    pending.clear();
    dispatch('session:state', { state: 'disconnected', error: closedWith });
  });

  /** Why the socket is unusable. A refused upgrade never opens, and browsers do not say why: no session is the usual reason. */
  function closedError(): ErrorInfo {
    return closedWith ?? (openedOnce ? LOST : NOT_ADMITTED);
  }

  /** Send a message that is answered with a result, once the socket is open. */
  /**
   * Send a message that is answered with a result, once the socket is open. `make` gets a
   * fresh id; upload-end and upload-abort reuse their upload's id instead, and are
   * answered under that one.
   */
  async function request(make: (id: number) => WsClientMessage): Promise<Result<unknown>> {
    if (!(await opened) || ws.readyState !== WebSocket.OPEN) return { ok: false, error: closedError() };
    const message = make(nextId++);
    return new Promise((resolve) => {
      pending.set(message.id, resolve);
      ws.send(JSON.stringify(message));
    });
  }

  async function waitForRoom(): Promise<void> {
    while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > highWaterMark) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function upload(
    files: readonly UploadFile[],
    relativePaths: readonly string[],
    remoteDir: string,
    folders: readonly string[],
  ): Promise<Result<TransferView[]>> {
    if (files.length === 0 && folders.length === 0) return { ok: true, value: [] };
    if (relativePaths.length !== files.length) {
      return { ok: false, error: { code: 'EINVAL', message: 'Each dropped file needs its relative path.' } };
    }
    const blobs = files.map((f) => f as unknown as Blob);
    if (!blobs.every((b) => typeof b.slice === 'function')) {
      return { ok: false, error: { code: 'EINVAL', message: 'Only files from a drop or a file picker can be uploaded.' } };
    }
    const items = files.map((f, i) => ({ relativePath: relativePaths[i]!, size: f.size }));
    let uploadId = -1;
    const begin = await request((id) => {
      uploadId = id;
      return { t: 'upload-begin', id, remoteDir, files: items, ...(folders.length > 0 ? { folders: [...folders] } : {}) };
    });
    if (!begin.ok) return begin;
    try {
      send: for (const [index, blob] of blobs.entries()) {
        for (let offset = 0; offset < blob.size; offset += WS_MAX_CHUNK) {
          if (uploadFailures.has(uploadId)) break send;
          if (ws.readyState !== WebSocket.OPEN) return { ok: false, error: closedError() };
          const end = Math.min(offset + WS_MAX_CHUNK, blob.size);
          const bytes = await blob.slice(offset, end).arrayBuffer();
          if (bytes.byteLength !== end - offset) throw new Error(`"${items[index]!.relativePath}" changed while it was being read`);
          await waitForRoom();
          if (ws.readyState !== WebSocket.OPEN) return { ok: false, error: closedError() };
          ws.send(bytes);
        }
      }
    } catch (err) {
      await request(() => ({ t: 'upload-abort', id: uploadId }));
      const why = err instanceof Error ? err.message : String(err);
      return { ok: false, error: { code: 'EIO', message: `A dropped file could not be read (${why}): nothing was uploaded.` } };
    }
    const result = await request(() => ({ t: 'upload-end', id: uploadId }));
    uploadFailures.delete(uploadId);
    return result as Result<TransferView[]>;
  }

  return {
    platform: 'browser',
    // A tab closed: the host ends its backend when the socket goes.
    close: () => ws.close(1000),
    call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>> {
      return request((id) => ({ t: 'call', id, name, args })) as Promise<Result<CallResults[N]>>;
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
    uploadFiles(files, relativePaths, remoteDir, shape) {
      // No OS paths in a browser: the bytes travel, and the folder list keeps empty folders.
      const run = uploads.then(() => upload(files, relativePaths, remoteDir, shape?.folders ?? []));
      uploads = run.catch(() => undefined);
      return run;
    },
  };
}
