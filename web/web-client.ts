/**
 * One browser tab of browser mode: its WebSocket, its own backend, the contract's calls
 * (after the page policy, page-policy.ts) and at most one dropped upload at a time,
 * streamed into a spool with backpressure.
 */
import { homedir } from 'node:os';
import type { RawData, WebSocket } from 'ws';
import { callBackend, createBackend, type Backend, type BackendOptions } from '../engine/app/backend.js';
import type { Result } from '../shared/common/contract.js';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import { describeIssues } from '../shared/common/messages.js';
import { formatBytes } from '../shared/common/size.js';
import { WS_MAX_CHUNK } from '../shared/common/ws-limits.js';
import { WsClientMessage, type UploadItem, type WsHostMessage } from '../shared/common/ws-messages.js';
import { pageRefusal } from './page-policy.js';
import { UploadSpool } from './upload-spool.js';

/** Bytes of dropped files waiting for the disk before the socket is paused, and resumed. */
const SPOOL_HIGH_WATER = 8 * 1024 * 1024;
const SPOOL_LOW_WATER = 2 * 1024 * 1024;

export interface ClientOptions {
  readonly backend: BackendOptions;
  readonly spoolDir: string;
  /** The folder downloads must stay inside (the host's download folder). */
  readonly downloadRoot: string;
  readonly log: (line: string) => void;
}

type UploadState =
  | { readonly phase: 'preparing'; readonly id: number }
  | { readonly phase: 'receiving' | 'finishing'; readonly id: number; readonly remoteDir: string; readonly spool: UploadSpool }
  /** Failed while bytes were still coming: they are dropped until the client stops. */
  | { readonly phase: 'failed'; readonly id: number; readonly error: FerryError };

/** One tab: its WebSocket, its backend, and at most one upload at a time. */
export class WebClient {
  private readonly backend: Backend;
  private readonly sshHome: string;
  private upload: UploadState | undefined;
  private paused = false;
  private closed = false;
  private disposing: Promise<void> | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: ClientOptions,
  ) {
    this.backend = createBackend(options.backend);
    this.sshHome = options.backend.ssh?.home ?? homedir();
    this.backend.on((name, payload) => this.send({ t: 'event', name, payload }));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', (err) => options.log(`web: socket error: ${err.message}`));
    ws.on('close', () => void this.dispose());
  }

  async close(code: number, reason: string): Promise<void> {
    this.ws.close(code, reason);
    await this.dispose();
  }

  private dispose(): Promise<void> {
    this.closed = true;
    this.disposing ??= (async () => {
      await this.dropUpload();
      await this.backend.dispose();
    })();
    return this.disposing;
  }

  private send(message: WsHostMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }

  private reply(id: number, result: Result<unknown>): void {
    this.send({ t: 'result', id, result });
  }

  private replyError(id: number, err: unknown): void {
    this.reply(id, { ok: false, error: toFerryError(err).toInfo() });
  }

  /** The client broke the protocol: say why and close (1008, policy violation). */
  private protocolError(message: string): void {
    this.options.log(`web: closing a tab's socket: ${message}`);
    this.send({ t: 'error', error: { code: 'EPROTO', message } });
    this.ws.close(1008, message.slice(0, 120));
    void this.dispose();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) return this.onBytes(bytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.protocolError('a text message that is not JSON');
    }
    const message = WsClientMessage.safeParse(parsed);
    if (!message.success) return this.protocolError(`a malformed message: ${describeIssues(message.error)}`);
    const msg = message.data;
    switch (msg.t) {
      case 'call': {
        const refusal = pageRefusal(msg.name, msg.args, { downloadRoot: this.options.downloadRoot, sshHome: this.sshHome });
        if (refusal) {
          this.options.log(`web: refused ${msg.name} from a page: ${refusal.message}`);
          return this.replyError(msg.id, refusal);
        }
        void this.backend.call(msg.name, msg.args).then((result) => this.reply(msg.id, result));
        return;
      }
      case 'upload-begin':
        void this.beginUpload(msg.id, msg.remoteDir, msg.files, msg.folders ?? []);
        return;
      case 'upload-end':
        void this.endUpload(msg.id);
        return;
      case 'upload-abort':
        void this.abortUpload(msg.id);
        return;
    }
  }

  // ---- uploads ---------------------------------------------------------------------------

  private async beginUpload(id: number, remoteDir: string, files: readonly UploadItem[], folders: readonly string[]): Promise<void> {
    if (this.upload) return this.replyError(id, new FerryError('EBUSY', 'Another upload from this tab is still being received.'));
    this.upload = { phase: 'preparing', id };
    try {
      // Refuse up front what cannot fit, before a byte is sent.
      const need = files.reduce((n, f) => n + f.size, 0);
      const df = await callBackend(this.backend, 'fs:df');
      if (!df.ok) throw FerryError.fromInfo(df.error);
      if (need > df.value.free) {
        throw new FerryError(
          'EQUOTA',
          `This upload needs ${formatBytes(need)} but only ${formatBytes(df.value.free)} is left` +
            `${df.value.quota !== null ? ` of your ${formatBytes(df.value.quota)} quota` : ''}.`,
          { need, free: df.value.free },
        );
      }
      const spool = await UploadSpool.create(files, folders, {
        tmpRoot: this.options.spoolDir,
        onQueued: (queued) => this.onSpoolQueue(queued),
      });
      if (this.closed || this.upload?.id !== id || this.upload.phase !== 'preparing') {
        // Aborted (or the tab went away) while we were getting ready.
        await spool.discard();
        throw new FerryError('ECANCELED', 'The upload was cancelled.');
      }
      this.upload = { phase: 'receiving', id, remoteDir, spool };
      this.reply(id, { ok: true, value: null });
    } catch (err) {
      if (this.upload?.id === id && this.upload.phase === 'preparing') this.upload = undefined;
      this.replyError(id, err);
    }
  }

  private onBytes(bytes: Buffer): void {
    const upload = this.upload;
    if (upload?.phase === 'failed') return; // the client will learn at upload-end (or from upload-failed)
    if (upload?.phase !== 'receiving') return this.protocolError('file bytes outside an accepted upload');
    if (bytes.length > WS_MAX_CHUNK) return this.protocolError(`a chunk larger than ${WS_MAX_CHUNK} bytes`);
    try {
      upload.spool.push(bytes);
    } catch (err) {
      void this.failUpload(upload.id, upload.spool, toFerryError(err));
    }
  }

  /** Stop taking bytes for a broken upload and tell the client at once. */
  private async failUpload(id: number, spool: UploadSpool, error: FerryError): Promise<void> {
    this.upload = { phase: 'failed', id, error };
    this.setPaused(false);
    this.send({ t: 'upload-failed', id, error: error.toInfo() });
    await spool.discard().catch(() => undefined);
  }

  private onSpoolQueue(queued: number): void {
    if (queued >= SPOOL_HIGH_WATER) this.setPaused(true);
    else if (queued <= SPOOL_LOW_WATER) this.setPaused(false);
  }

  /** Backpressure: a paused socket is not read, so TCP slows the browser down. */
  private setPaused(paused: boolean): void {
    if (paused === this.paused || this.closed) return;
    this.paused = paused;
    if (paused) this.ws.pause();
    else this.ws.resume();
  }

  private async endUpload(id: number): Promise<void> {
    const upload = this.upload;
    if (upload === undefined || upload.id !== id || upload.phase === 'preparing' || upload.phase === 'finishing') {
      return this.replyError(id, new FerryError('EINVAL', `Upload ${id} is not being received.`));
    }
    if (upload.phase === 'failed') {
      this.upload = undefined;
      return this.replyError(id, upload.error);
    }
    this.upload = { ...upload, phase: 'finishing' };
    const { spool, remoteDir } = upload;
    try {
      await spool.finish();
    } catch (err) {
      this.upload = undefined;
      this.setPaused(false);
      await spool.discard().catch(() => undefined);
      return this.replyError(id, err);
    }
    this.upload = undefined;
    this.setPaused(false);
    // From here the backend owns the spool: it removes it when the transfers are over.
    const result = await this.backend.uploadSpooled(spool.topLevel(), remoteDir, () => spool.discard());
    this.reply(id, result);
  }

  private async abortUpload(id: number): Promise<void> {
    if (this.upload?.id === id) await this.dropUpload();
    this.reply(id, { ok: true, value: null });
  }

  private async dropUpload(): Promise<void> {
    const upload = this.upload;
    this.upload = undefined;
    this.setPaused(false);
    if (upload && (upload.phase === 'receiving' || upload.phase === 'finishing')) await upload.spool.discard().catch(() => undefined);
  }
}
