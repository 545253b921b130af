/**
 * One edited remote file: its working folder, its state (edit-state.ts decides every
 * transition), the rows of its saves, and the save itself: snapshot the working copy,
 * check that the server's file is still the one opened, commit the whole file verified.
 * A save is never dropped: without a connection it waits, a failure keeps the working
 * copy and says why, and a conflict replaces nothing until the person chooses.
 */
import path from 'node:path';
import { toFerryError, type ErrorCode } from '../../../shared/common/errors.js';
import type { EditChoice, EditId, EditOpener, EditState, EditView, SaveOutcome, SaveRow } from '../../../shared/common/edit-model.js';
import { checkFor, downloadFile } from '../../queue/transfers.js';
import type { CheckAlgorithm } from '../../../shared/common/checks.js';
import type { Remote } from '../../remote/remote.js';
import { transition, type EditEvent } from './edit-state.js';
import { checkRemote, commitSave, copyPathBeside, fetchForEdit, type RemoteVersion } from './save-pipeline.js';
import { hashFile, type EditFolder, type LocalContent } from './working-folder.js';

/** What an edited file asks of its owner (edit-desk.ts). */
export interface EditHost {
  /** The session to `target` if it can be used now (connected, not reconnecting). */
  remoteFor(target: string): Remote | undefined;
  /** The file's state or rows changed (the owner emits 'edit:changed'). */
  changed(): void;
  /** A save landed at `remotePath` (its folder changed: the change feed tells the UI). */
  saved(remotePath: string): void;
  /** The check a save asks for (undefined: the default, XXH3-128 where offered). */
  check(): CheckAlgorithm | undefined;
  log(line: string): void;
}

/** A save that failed for these reasons waits for the connection instead of failing. */
const CONNECTION_LOST: ReadonlySet<ErrorCode> = new Set(['ECONN', 'ETIMEDOUT']);
/** Rows kept per file (the oldest saved ones go first). */
const ROWS_KEPT = 50;

export class EditedFile {
  private state: EditState = { kind: 'opening' };
  private base: RemoteVersion | undefined;
  private readonly rows: SaveRow[] = [];
  private nextRow = 1;
  /** The row of the save not on the server yet (waiting, failed, in conflict): its retries update it. */
  private pendingRow: number | undefined;
  /** The working copy's content as last seen: a write that leaves it unchanged sends nothing. */
  private lastSeen = '';
  /** The person's answer to a conflict, for the next save. */
  private answer: 'overwrite' | 'copy' | undefined;
  private saves: Promise<void> = Promise.resolve();
  private changes: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private unwatch: (() => void) | undefined;

  constructor(
    readonly id: EditId,
    private remotePath: string,
    readonly target: string,
    readonly opener: EditOpener,
    readonly folder: EditFolder,
    private readonly host: EditHost,
  ) {}

  get view(): EditView {
    return {
      id: this.id,
      remotePath: this.remotePath,
      name: path.posix.basename(this.remotePath),
      target: this.target,
      opener: this.opener,
      localPath: this.folder.workingCopy,
      state: this.state,
      saves: this.rows.map((r) => ({ ...r })),
    };
  }

  get path(): string {
    return this.remotePath;
  }

  /** Download the file into the working folder and start watching it. */
  async open(remote: Remote, debounceMs: number): Promise<void> {
    this.base = await fetchForEdit(remote, this.remotePath, this.folder.workingCopy);
    this.lastSeen = this.base.sha256;
    this.step({ kind: 'opened' });
    this.unwatch = this.folder.watch(debounceMs, () => void this.noticeChange());
  }

  /** The working copy may have changed (the watcher, or the built-in editor wrote it). */
  noticeChange(): Promise<void> {
    this.changes = this.changes.then(async () => {
      if (this.abort.signal.aborted) return;
      // Mid-rename (a temporary file replacing it) the name may be missing for a moment: the next event retries.
      const now = await hashFile(this.folder.workingCopy).catch(() => null);
      if (now === null || now.sha256 === this.lastSeen) return;
      this.lastSeen = now.sha256;
      this.step({ kind: 'changed' });
    });
    return this.changes;
  }

  /** The session to this file's server is usable again: a waiting save goes now. */
  online(): void {
    this.step({ kind: 'online' });
  }

  /** The person's answer to a conflict. */
  async resolve(choice: EditChoice, remote: () => Remote): Promise<void> {
    if (this.state.kind !== 'conflict') return;
    if (choice === 'compare') {
      await downloadFile(remote(), this.remotePath, this.folder.theirs, { exists: 'overwrite', resume: false });
      this.step({ kind: 'compared', theirsCopy: this.folder.theirs });
      return;
    }
    this.answer = choice;
    this.step({ kind: 'retry' });
  }

  retry(): void {
    this.step({ kind: 'retry' });
  }

  /** Every save asked for so far has ended (saved, waiting, failed or in conflict). */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.saves;
      await this.changes;
      await seen;
    } while (seen !== this.saves);
  }

  /** Stop watching and saving; the working folder is removed unless `keep`. */
  async close(keep: boolean): Promise<void> {
    this.unwatch?.();
    this.abort.abort();
    await this.saves.catch(() => undefined);
    if (!keep) await this.folder.remove();
  }

  private step(event: EditEvent): void {
    const next = transition(this.state, event);
    this.state = next.state;
    this.host.changed();
    // One save at a time: a save asked for while one runs follows it.
    if (next.save) this.saves = this.saves.then(() => this.save());
  }

  private setRow(outcome: SaveOutcome, size?: number): void {
    let row = this.rows.find((r) => r.id === this.pendingRow);
    if (!row) {
      row = { id: this.nextRow++, at: Date.now(), size: size ?? 0, outcome };
      this.rows.push(row);
      this.pendingRow = row.id;
      if (this.rows.length > ROWS_KEPT) this.rows.splice(0, this.rows.length - ROWS_KEPT);
    }
    const index = this.rows.indexOf(row);
    this.rows[index] = { ...row, size: size ?? row.size, outcome };
    if (outcome.kind === 'saved') this.pendingRow = undefined;
  }

  private async save(): Promise<void> {
    const base = this.base;
    if (this.abort.signal.aborted || base === undefined) return;
    const remote = this.host.remoteFor(this.target);
    if (!remote) {
      this.setRow({ kind: 'waiting' });
      return this.step({ kind: 'offline' });
    }
    let snapshot: LocalContent;
    try {
      snapshot = await this.folder.takeSnapshot();
    } catch (err) {
      const error = toFerryError(err, 'EIO').toInfo();
      this.setRow({ kind: 'failed', error });
      return this.step({ kind: 'failed', error });
    }
    if (snapshot.sha256 === base.sha256 && this.answer !== 'copy') {
      // Nothing new for the server (a write that changed nothing, or changed back).
      if (this.pendingRow !== undefined) this.setRow({ kind: 'saved', check: remote.capabilities.serverHash ? checkFor(remote, this.host.check()) : 'size', path: this.remotePath });
      return this.step({ kind: 'saved' });
    }
    this.setRow({ kind: 'saving' }, snapshot.size);
    this.host.changed();
    try {
      if (this.answer === undefined) {
        const found = await checkRemote(remote, this.remotePath, base, snapshot);
        if (found.kind === 'changed') {
          this.setRow({ kind: 'conflict' });
          return this.step({ kind: 'conflict', theirs: found.theirs });
        }
        if (found.kind === 'already') {
          this.base = found.version;
          this.setRow({ kind: 'saved', check: remote.capabilities.serverHash ? checkFor(remote, this.host.check()) : 'size', path: this.remotePath });
          return this.step({ kind: 'saved' });
        }
      }
      const copy = this.answer === 'copy';
      const target = copy ? await copyPathBeside(remote, this.remotePath) : this.remotePath;
      const committed = await commitSave(remote, this.folder.snapshot, target, snapshot, {
        mode: base.mode,
        exists: copy ? 'fail' : 'overwrite',
        signal: this.abort.signal,
        check: this.host.check(),
      });
      // After "save as a copy", the copy is the file being edited: theirs stays as they left it.
      this.remotePath = target;
      this.base = committed.version;
      this.answer = undefined;
      this.setRow({ kind: 'saved', check: committed.check, path: target });
      this.host.saved(target);
      this.step({ kind: 'saved' });
    } catch (err) {
      const error = toFerryError(err);
      if (this.abort.signal.aborted) return;
      if (CONNECTION_LOST.has(error.code) || !this.host.remoteFor(this.target)) {
        this.setRow({ kind: 'waiting' });
        return this.step({ kind: 'offline' });
      }
      this.host.log(`saving ${this.remotePath} failed: ${error.code} ${error.message}`);
      this.setRow({ kind: 'failed', error: error.toInfo() });
      this.step({ kind: 'failed', error: error.toInfo() });
    }
  }
}
