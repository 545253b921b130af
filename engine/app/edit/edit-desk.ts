/**
 * The owner of one front end's edit sessions (edit in place): opens a remote file into
 * the private working folder (in the built-in editor, or the system's app through the
 * host's `openFile`: the engine never imports electron), answers the edit:* calls, tells
 * waiting saves when their server is back, and sends 'edit:changed'.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ConnectionState } from '../../../shared/common/contract.js';
import { EDIT_TEXT_MAX, unsaved, type EditChoice, type EditId, type EditOpener, type EditView } from '../../../shared/common/edit-model.js';
import type { CheckAlgorithm } from '../../../shared/common/checks.js';
import { FerryError } from '../../../shared/common/errors.js';
import type { Remote } from '../../remote/remote.js';
import type { Emit } from '../backend-types.js';
import { EditedFile } from './edited-file.js';
import { EditFolder } from './working-folder.js';

/** Opens a local file in an app of the system's: its default for the type, or one the person picks (`choose`). */
export type OpenFile = (localPath: string, choose: boolean) => Promise<void>;

export interface EditDeskOptions {
  /** The working folder (0700): one folder per edited file inside it. */
  readonly root: string;
  /** Given by the desktop app only; without it files open in the built-in editor alone. */
  readonly openFile?: OpenFile | undefined;
  /** How long the working copy must be left alone before it is saved (default 300 ms). */
  readonly debounceMs?: number | undefined;
  /** The check saves ask for (the setting; default XXH3-128 where the server offers it). */
  readonly check?: (() => CheckAlgorithm | undefined) | undefined;
}

/** Which server a session is: user@host:port (saves only ever go to their own). */
export function targetOf(remote: Remote): string {
  return `${remote.user.name}@${remote.host}`;
}

export class EditDesk {
  private readonly files = new Map<EditId, EditedFile>();
  private closed = false;

  constructor(
    private readonly options: EditDeskOptions,
    /** The session if it can be used now (connected, not reconnecting). */
    private readonly session: () => Remote | undefined,
    /** `p` as an absolute remote path. */
    private readonly resolvePath: (p: string) => string,
    private readonly emit: Emit,
    /** A save landed: its folder changed (the change feed's business). */
    private readonly onSaved: (remotePath: string) => void,
    private readonly log: (line: string) => void,
  ) {}

  list(): EditView[] {
    return [...this.files.values()].map((f) => f.view);
  }

  /** Files whose working copy holds what the server does not have yet (quitting asks first). */
  unsaved(): EditView[] {
    return this.list().filter(unsaved);
  }

  async open(remotePath: string, opener: EditOpener): Promise<EditView> {
    const remote = this.requireRemote();
    const absolute = this.resolvePath(remotePath);
    const target = targetOf(remote);
    const systemApp = this.options.openFile !== undefined;
    if (opener !== 'builtin' && !this.options.openFile) {
      throw new FerryError('ENOTSUP', 'Opening files in another app is for the desktop app: use the built-in editor here.');
    }
    const existing = [...this.files.values()].find((f) => f.target === target && f.path === absolute);
    if (existing) {
      if (opener !== 'builtin' && this.options.openFile) await this.options.openFile(existing.folder.workingCopy, opener === 'choose');
      return existing.view;
    }
    if (opener === 'builtin') {
      const entry = await remote.stat(absolute);
      if (entry.size > EDIT_TEXT_MAX) {
        throw new FerryError('ETOOBIG', `${entry.name} is too big for the built-in editor (at most ${EDIT_TEXT_MAX / 1024 / 1024} MiB).`, {
          size: entry.size,
          max: EDIT_TEXT_MAX,
          systemApp,
        });
      }
    }
    const folder = await EditFolder.create(this.options.root, path.posix.basename(absolute));
    const id = randomBytes(8).toString('hex') as EditId;
    const file = new EditedFile(id, absolute, target, opener, folder, {
      remoteFor: (t) => {
        const now = this.session();
        return now && targetOf(now) === t ? now : undefined;
      },
      changed: () => this.changed(),
      saved: (p) => this.onSaved(p),
      check: () => this.options.check?.(),
      log: this.log,
    });
    try {
      await file.open(remote, this.options.debounceMs ?? 300);
      if (opener === 'builtin') {
        await folder.readText().catch((err: unknown) => {
          const e = err instanceof FerryError ? err : new FerryError('EIO', String(err));
          throw new FerryError(e.code, e.message, { ...e.details, systemApp });
        });
      } else {
        await this.options.openFile!(folder.workingCopy, opener === 'choose');
      }
    } catch (err) {
      await file.close(false);
      throw err;
    }
    this.files.set(id, file);
    this.changed();
    return file.view;
  }

  async read(id: string, which: 'mine' | 'theirs'): Promise<{ text: string }> {
    const file = this.get(id);
    if (which === 'mine') return { text: await file.folder.readText() };
    const state = file.view.state;
    if (state.kind !== 'conflict' || state.theirsCopy === undefined) {
      throw new FerryError('ENOENT', `There is no copy of the server's ${file.view.name} to compare with: choose "download theirs" first.`);
    }
    return { text: await file.folder.readText(state.theirsCopy) };
  }

  /** The built-in editor's save: the text becomes the working copy, and is sent. */
  async write(id: string, text: string): Promise<EditView> {
    const file = this.get(id);
    await file.folder.writeText(text);
    await file.noticeChange();
    return file.view;
  }

  async resolve(id: string, choice: EditChoice): Promise<EditView> {
    const file = this.get(id);
    if (file.view.state.kind !== 'conflict') throw new FerryError('EINVAL', `${file.view.name} has no conflict to resolve.`);
    // Downloading theirs needs the server now; overwrite and copy wait for it like any save.
    await file.resolve(choice, () => this.requireRemote());
    return file.view;
  }

  retry(id: string): EditView {
    const file = this.get(id);
    if (file.view.state.kind !== 'failed') throw new FerryError('EINVAL', `${file.view.name} has no failed save to send again.`);
    file.retry();
    return file.view;
  }

  async close(id: string, discard: boolean): Promise<void> {
    const file = this.get(id);
    if (unsaved(file.view) && !discard) {
      throw new FerryError('EBUSY', `${file.view.name} has a save that is not on the server yet: retry it, or close and discard it.`);
    }
    this.files.delete(file.id);
    await file.close(false);
    this.changed();
  }

  /** Every save asked for so far has ended (tests, and hosts that wait before quitting). */
  async settled(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.settled()));
  }

  /** The connection's state changed: saves waiting for this server go now. */
  onConnectionState(state: ConnectionState): void {
    if (state.state !== 'connected') return;
    const remote = this.session();
    if (!remote) return;
    const target = targetOf(remote);
    for (const file of this.files.values()) if (file.target === target) file.online();
  }

  /** The front end went away: stop watching; a working copy not yet on the server is kept. */
  async dispose(): Promise<void> {
    this.closed = true;
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(
      files.map((f) => {
        const keep = unsaved(f.view);
        if (keep) this.log(`kept the unsaved working copy of ${f.view.remotePath} (${f.view.target}) at ${f.folder.workingCopy}`);
        return f.close(keep);
      }),
    );
  }

  private get(id: string): EditedFile {
    const file = this.files.get(id as EditId);
    if (!file) throw new FerryError('ENOENT', `There is no edited file "${id.slice(0, 64)}" (it may have been closed).`);
    return file;
  }

  private requireRemote(): Remote {
    const remote = this.session();
    if (!remote) throw new FerryError('ECONN', 'Not connected to a server: connect first.');
    return remote;
  }

  private changed(): void {
    if (!this.closed) this.emit('edit:changed', { edits: this.list() });
  }
}
