/**
 * The engine side of the UI contract (shared/common/contract.ts) for ONE front end: a
 * desktop window (through IPC) or a browser tab (through the web host's WebSocket). This
 * file only puts the parts together and fans their events out; each part has one job:
 *   dispatch.ts            the call table; arguments checked at runtime, answers as Results
 *   connection/            connect, credentials, host keys, the local server, reconnects
 *   queue-relay.ts         the session's transfer queue and its events (rows and totals)
 *   conflict-bridge.ts     the queue's conflict questions to the UI and the answers back
 *   change-feed.ts         'fs:changed', the one source of the UI's folder refreshes
 *   spool-release.ts       local files lent for an upload, given back when done
 *   console/               console commands and their output
 *   sync-desk.ts           folder sync plans, kept until they are run
 *   saved-queue/           the session's unfinished transfers saved for a restart, and restored
 *   search-desk.ts         searches by name, their results batched as events
 *   edit/                  edit in place: working copies, their saves, conflicts
 *   local-files-desk.ts    the local pane's folders on this computer
 * It never imports electron: platform services (the secret store) are passed in.
 */
import path from 'node:path';
import type { CallArgs, CallName, CallResults, EventName, Events, Result } from '../../shared/common/contract.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { EditView } from '../../shared/common/edit-model.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import type { Backend, BackendListener, BackendOptions, Emit } from './backend-types.js';
import { ChangeFeed } from './change-feed.js';
import { ConflictBridge } from './conflict-bridge.js';
import { ConnectionManager } from './connection/connection-manager.js';
import { ConsoleSession } from './console/console-session.js';
import { EditDesk } from './edit/edit-desk.js';
import { createHandlers, dispatch, fail, type Handlers } from './dispatch.js';
import { QueueRelay } from './queue-relay.js';
import { SpoolRelease } from './spool-release.js';
import { LocalFilesDesk } from './local-files-desk.js';
import { SearchDesk } from './search-desk.js';
import { SyncDesk } from './sync-desk.js';
import { createAppStores } from './app-stores.js';
import { logEntryOf } from '../history/history-export.js';
import { QueueSaver, savedQueueKey } from './saved-queue/queue-saver.js';

export type { Backend, BackendListener, BackendOptions } from './backend-types.js';
export type { SecretStore } from './stores/profile-store.js';

/** A typed call, for code that knows the call at compile time (tests, hosts). */
export function callBackend<N extends CallName>(backend: Backend, name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>> {
  return backend.call(name, args) as Promise<Result<CallResults[N]>>;
}

export function createBackend(options: BackendOptions): Backend {
  return new FerryBackend(options);
}

class FerryBackend implements Backend {
  private readonly listeners = new Set<BackendListener>();
  private readonly log: (line: string) => void;
  private readonly connection: ConnectionManager;
  private readonly changes: ChangeFeed;
  private readonly conflicts: ConflictBridge;
  private readonly transfers: QueueRelay;
  private readonly spool: SpoolRelease;
  private readonly console: ConsoleSession;
  private readonly sync: SyncDesk;
  private readonly edits: EditDesk;
  private readonly search: SearchDesk;
  private readonly handlers: Handlers;
  private readonly saver: QueueSaver;
  private readonly flushLog: () => Promise<void>;
  private disposed = false;

  constructor(options: BackendOptions) {
    const log = (this.log = options.log ?? (() => undefined));
    const emit: Emit = (event, payload) => this.emit(event, payload);
    const stores = options.app ?? createAppStores(options);
    this.changes = new ChangeFeed(emit, (p) => this.connection.resolve(p), options.fsChangedDelayMs);
    this.conflicts = new ConflictBridge(emit);
    this.transfers = new QueueRelay(
      emit,
      {
        resolveConflict: (conflict, signal) => this.conflicts.ask(conflict, signal),
        onDone: (done) => {
          const remote = this.connection.current;
          if (remote) stores.transferLog.record(logEntryOf(remote, done));
        },
        rateLimits: stores.rateLimits,
        ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
      },
      (event) => {
        this.changes.onTransferEvent(event);
        this.saver.onEvent(event);
        void this.spool.releaseFinished();
      },
      () => this.connection.requireSession(),
    );
    this.spool = new SpoolRelease((id) => this.transfers.get(id)?.state, log);
    this.saver = new QueueSaver(stores.savedQueues, (id) => this.spool.lends(id), log);
    this.flushLog = () => stores.transferLog.flush();
    this.connection = new ConnectionManager(
      options,
      stores,
      {
        started: (session, concurrency, check) => {
          this.changes.forgetUploads();
          this.transfers.start(session, concurrency, check);
          this.saver.attach(this.transfers.current!, savedQueueKey(session, this.connection.sessionProfileId));
        },
        closing: async () => {
          // Saved as it is before anything is stopped: a quit or a disconnect keeps the queue.
          await this.saver.finish();
          this.console.cancelAll();
          this.search.cancelAll();
          this.sync.clear();
          await this.transfers.close();
        },
        closed: () => this.spool.releaseAll(),
      },
      emit,
      log,
    );
    this.console = new ConsoleSession(this.connection, this.changes, emit);
    this.search = new SearchDesk(() => this.connection.requireSession(), emit);
    this.sync = new SyncDesk(() => this.connection.requireSession(), this.transfers, this.changes, options.configDir);
    this.edits = new EditDesk(
      {
        root: options.editDir ?? path.join(options.configDir, 'edits'),
        openFile: options.openFile,
        debounceMs: options.editDebounceMs,
        // Saves make the check the transfers make (Settings may ask for SHA-256).
        check: () => this.transfers.current?.askedCheck,
      },
      () => (this.connection.connectionState.state === 'connected' ? this.connection.current : undefined),
      (p) => this.connection.resolve(p),
      emit,
      (p) => this.changes.later(this.changes.parentOf(p)),
      log,
    );
    this.handlers = createHandlers({
      stores,
      localServer: options.localServer,
      connection: this.connection,
      transfers: this.transfers,
      conflicts: this.conflicts,
      console: this.console,
      changes: this.changes,
      sync: this.sync,
      edits: this.edits,
      saver: this.saver,
      localFiles: new LocalFilesDesk(options.localRoot),
      search: this.search,
      upload: (localPaths, remoteDir) => this.upload(localPaths, remoteDir),
    });
  }

  call(name: string, args: unknown): Promise<Result<unknown>> {
    if (this.disposed) return Promise.resolve(fail('ECANCELED', 'This window or tab was closed.'));
    return dispatch(this.handlers, name, args, this.log);
  }

  on(listener: BackendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async uploadSpooled(localPaths: readonly string[], remoteDir: string, release: () => Promise<void>): Promise<Result<TransferView[]>> {
    let views: TransferView[];
    try {
      if (this.disposed) throw new FerryError('ECANCELED', 'This window or tab was closed.');
      views = await this.upload(localPaths, remoteDir);
    } catch (err) {
      await release().catch(() => undefined);
      return { ok: false, error: toFerryError(err).toInfo() };
    }
    await this.spool.add(views, release);
    return { ok: true, value: views };
  }

  downloadedFiles(transferIds: readonly string[]): Promise<string[]> {
    return this.transfers.downloadedFiles(transferIds);
  }

  unsavedEdits(): EditView[] {
    return this.edits.unsaved();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.conflicts.close();
    this.console.close();
    this.search.cancelAll();
    await this.edits.dispose();
    await this.connection.dispose();
    this.changes.dispose();
    this.transfers.dispose();
    await this.flushLog();
    this.listeners.clear();
  }

  private async upload(localPaths: readonly string[], remoteDir: string): Promise<TransferView[]> {
    const views = await this.transfers.requireQueue().upload(localPaths, remoteDir);
    // The target (made if missing) and the folders inside it are new.
    this.changes.later(this.changes.parentOf(remoteDir), remoteDir);
    return views;
  }

  private emit<E extends EventName>(event: E, payload: Events[E]): void {
    // Saves waiting for the connection go once it is back.
    if (event === 'session:state') this.edits?.onConnectionState(payload as Events['session:state']);
    for (const listener of this.listeners) {
      try {
        listener(event, payload);
      } catch (err) {
        this.log(`a listener of ${event} threw: ${(err as Error)?.message ?? String(err)}`);
      }
    }
  }
}
