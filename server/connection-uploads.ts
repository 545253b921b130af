/**
 * The upload receiver of one connection: `put` bodies are read in line (the socket is the
 * upload's flow control), streamed into a partial, or read whole for a small file, and
 * their commits answered in the background so that puts can be pipelined.
 */
import { FerryError, toFerryError } from '../shared/common/errors.js';
import type { CheckAlgorithm, Digest } from '../shared/common/checks.js';
import { WHOLE_FILE_MAX } from '../shared/common/messages.js';
import { ByteBudget } from './byte-budget.js';
import type { ConnectionScope, Req } from './connection-scope.js';
import { smallBuffer } from './small-buffers.js';
import type { Upload } from './storage.js';

export class UploadReceiver {
  /** Small puts read whole and waiting for their commit. */
  private committingCount = 0;
  /** The bytes of their bodies, held in memory until the reply (Limits.maxCommittingBytes). */
  private readonly bodies: ByteBudget;
  /** The admission of the last small put (the next one waits for it). */
  private admitting: Promise<void> = Promise.resolve();

  constructor(private readonly conn: ConnectionScope) {
    this.bodies = new ByteBudget(conn.ctx.limits.maxCommittingBytes);
  }

  /** True while as many small puts as allowed wait for their commit (read no more requests). */
  get full(): boolean {
    return this.committingCount >= this.conn.ctx.limits.maxCommitting;
  }

  /** The connection closed: a body waiting for room in the budget is not read. */
  close(): void {
    this.bodies.close();
  }

  /** Receive one put: its body and its put-end, in line; the reply comes when it is committed. */
  async put(req: Req<'put'>): Promise<void> {
    const { conn } = this;
    const size = req.size ?? 0;
    const { account } = conn.session;
    if (size !== req.total - req.offset) {
      throw new FerryError('EPROTO', `"put" body must be total - offset = ${req.total - req.offset} bytes, not ${size}`);
    }
    // A small file from its start: read it whole, then store it in the background.
    if (req.offset === 0 && size <= WHOLE_FILE_MAX) return this.putWhole(req, size);
    const started = Date.now();
    let upload: Upload;
    try {
      // After the small puts before it: uploads are admitted in the order they came, and
      // only while the account still exists.
      await Promise.all([this.admitting, conn.ctx.sessions.current(conn.session)]);
      upload = await conn.ctx.storage.beginUpload(account, conn.session.cwd, req.path, {
        offset: req.offset,
        total: req.total,
        exists: req.exists ?? 'overwrite',
        mtime: req.mtime,
        mode: req.mode,
        preserveMode: req.preserveMode,
        check: req.check,
      });
    } catch (err) {
      // Refused before any byte was stored: skip the body and its "put-end", then answer.
      if (size > 0) await conn.reader.skipBody();
      await this.expectPutEnd(req.id, req.check);
      const e = toFerryError(err);
      conn.ctx.log(`put user=${account.name} refused ${e.code}`);
      void conn.sendError(req.id, e).catch(() => undefined);
      return;
    }
    let ended = false;
    const abort = (keep: boolean): Promise<void> => {
      if (ended) return Promise.resolve();
      ended = true;
      return upload.abort(keep).catch(() => undefined);
    };
    // Stopped from outside (connection closing, server shutdown): the body loop below
    // stops and aborts keeping the bytes for a resume. Never abort from here directly: an
    // abort running while upload.write() is between disk writes can lose the partial.
    let interrupted = false;
    conn.running.set(req.id, () => {
      interrupted = true;
    });
    let expected: Digest;
    try {
      if (size > 0) {
        let storeError: FerryError | undefined;
        for await (const chunk of conn.reader.body()) {
          if (storeError) continue; // drain the rest of the body so the stream stays in step
          try {
            await upload.write(chunk);
          } catch (err) {
            storeError = toFerryError(err);
            await abort(false);
          }
          if (interrupted || conn.stopping) throw new FerryError('ECONN', 'the upload was interrupted');
        }
        if (storeError) {
          await this.expectPutEnd(req.id, req.check);
          conn.ctx.log(`put user=${account.name} failed ${storeError.code}`);
          void conn.sendError(req.id, storeError).catch(() => undefined);
          return;
        }
      }
      expected = await this.expectPutEnd(req.id, req.check);
    } catch (err) {
      // The connection broke mid-body: keep what arrived so the client can resume.
      await abort(true);
      conn.ctx.log(`put user=${account.name} interrupted (partial kept)`);
      throw err;
    } finally {
      conn.running.delete(req.id);
    }
    ended = true;
    // The commit (fsync, rename) is batched with other uploads: do not wait for it here.
    conn.holdSlot(
      upload
        .commit(expected)
        .then(
          (result) => {
            const ms = Date.now() - started;
            conn.ctx.log(`put user=${account.name} ${result.skipped ? 'skipped' : `${req.total} bytes ok`} ${ms} ms`);
            // Never a top-level "size": in a frame header that announces a body, and this
            // reply has none (a reader would swallow the next frames as its body).
            const { size: fileSize, ...rest } = result;
            return conn.send({ type: 'ok', id: req.id, ...rest, fileSize });
          },
          (err) => {
            const e = toFerryError(err);
            conn.ctx.log(`put user=${account.name} failed ${e.code}`);
            return conn.sendError(req.id, e);
          },
        )
        .catch(() => undefined),
    );
  }

  /**
   * A small put: its body and put-end are read in line (the stream stays in step), then
   * it is checked and committed while the next requests are read, so the puts of a
   * pipeline are stored together (one group commit) instead of one after another.
   */
  private async putWhole(req: Req<'put'>, size: number): Promise<void> {
    const { conn } = this;
    const { account, cwd } = conn.session;
    const started = Date.now();
    // Room for the body first, or it stays unread (and the socket pauses) until earlier
    // bodies are committed: what one connection makes the server hold is bounded.
    await this.bodies.reserve(size);
    let expected: Digest;
    const body = smallBuffer(size);
    try {
      let filled = 0;
      for await (const chunk of conn.reader.body()) filled += chunk.copy(body, filled);
      if (filled !== size) throw new FerryError('EPROTO', `"put" body of ${filled} bytes, not ${size}`);
      expected = await this.expectPutEnd(req.id, req.check);
    } catch (err) {
      this.bodies.release(size);
      throw err;
    }
    this.committingCount++;
    // Admitted in the order they came (as streamed puts are), committed together. The
    // account check starts now, so that pipelined puts share it rather than queue for it.
    const allowed = conn.ctx.sessions.current(conn.session);
    allowed.catch(() => undefined);
    const admitted = Promise.all([this.admitting, allowed]).then(() =>
      conn.ctx.storage.putWhole(account, cwd, req.path, { exists: req.exists ?? 'overwrite', mtime: req.mtime, mode: req.mode, preserveMode: req.preserveMode }, body, expected),
    );
    this.admitting = admitted.then(
      () => undefined,
      () => undefined,
    );
    void admitted
      .then(({ committed }) => committed)
      .then(
        (result) => {
          conn.ctx.log(`put user=${account.name} ${result.skipped ? 'skipped' : `${req.total} bytes ok`} ${Date.now() - started} ms`);
          const { size: fileSize, ...rest } = result;
          return conn.send({ type: 'ok', id: req.id, ...rest, fileSize }, undefined, true);
        },
        (err) => {
          const e = toFerryError(err);
          const stored = e.code === 'ECHECKSUM' || e.code === 'EIO' || e.code === 'ENOSPC';
          conn.ctx.log(`put user=${account.name} ${stored ? 'failed' : 'refused'} ${e.code}`);
          return conn.sendError(req.id, e);
        },
      )
      .catch(() => undefined)
      .finally(() => {
        this.committingCount--;
        this.bodies.release(size);
        conn.wake();
      });
  }

  /** The put-end of put `id`, whose digest must be in the field of the put's check (EPROTO otherwise). */
  private async expectPutEnd(id: number, check: CheckAlgorithm = 'sha256'): Promise<Digest> {
    const end = await this.conn.nextRequest();
    if (end === null) throw new FerryError('ECONN', 'connection closed before "put-end"');
    if (end.type !== 'put-end' || end.id !== id) {
      throw new FerryError('EPROTO', `expected "put-end" for request ${id}`);
    }
    const other = check === 'xxh128' ? end.sha256 : end.xxh128;
    const hex = check === 'xxh128' ? end.xxh128 : end.sha256;
    if (hex === undefined || other !== undefined) throw new FerryError('EPROTO', `"put-end" for request ${id} must carry "${check}" (the put's check), and only it`);
    return { algorithm: check, hex };
  }
}
