/**
 * The call table: every call of the contract (shared/common/contract.ts) mapped to the
 * part of the backend that answers it, behind one dispatcher that checks the arguments
 * at runtime (the renderer is untrusted) and turns every outcome into a Result.
 */
import type { z } from 'zod';
import { ENGINE_DEFAULT_CHECK } from '../../shared/common/checks.js';
import { CALLS, type CallName, type CallResults, type HandlerArgs, type Result } from '../../shared/common/contract.js';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import type { TransferId, TransferView } from '../../shared/common/transfer-model.js';
import type { ChangeFeed } from './change-feed.js';
import type { ConflictBridge } from './conflict-bridge.js';
import type { ConnectionManager, ConnectionStores } from './connection/connection-manager.js';
import type { RateLimits } from '../queue/rate-limit.js';
import { LOCAL_PROFILE_ID, builtInProfile, localProfile } from './connection/local-profile.js';
import type { AppStores } from './app-stores.js';
import { exportHistory } from '../history/history-export.js';
import type { QueueSaver } from './saved-queue/queue-saver.js';
import type { ConsoleSession } from './console/console-session.js';
import type { EditDesk } from './edit/edit-desk.js';
import type { LocalFilesDesk } from './local-files-desk.js';
import type { LocalServerHandle } from './local-server/local-server.js';
import type { QueueRelay } from './queue-relay.js';
import type { SearchDesk } from './search-desk.js';
import type { SyncDesk } from './sync-desk.js';

export type Handlers = { [N in CallName]: (...args: HandlerArgs<N>) => Promise<CallResults[N]> | CallResults[N] };

/** The parts of one backend the calls are answered by. */
export interface BackendParts {
  readonly stores: ConnectionStores & Pick<AppStores, 'history' | 'savedQueues' | 'transferLog' | 'rateLimits'>;
  readonly localServer: LocalServerHandle | undefined;
  readonly connection: ConnectionManager;
  readonly transfers: QueueRelay;
  readonly conflicts: ConflictBridge;
  readonly console: ConsoleSession;
  readonly changes: ChangeFeed;
  readonly sync: SyncDesk;
  readonly edits: EditDesk;
  readonly saver: QueueSaver;
  readonly localFiles: LocalFilesDesk;
  readonly search: SearchDesk;
  /** Upload into a remote folder (and report the folders it makes). */
  readonly upload: (localPaths: readonly string[], remoteDir: string) => Promise<TransferView[]>;
}

/** Validate `args` against the call's schema, run its handler, answer a Result. Never throws. */
export async function dispatch(handlers: Handlers, name: string, args: unknown, log: (line: string) => void): Promise<Result<unknown>> {
  if (typeof name !== 'string' || !Object.hasOwn(CALLS, name)) {
    return fail('EPROTO', `Unknown call "${String(name).slice(0, 80)}": the UI and the engine are from different versions.`);
  }
  const callName = name as CallName;
  const parsed = CALLS[callName].safeParse(args);
  if (!parsed.success) return fail('EINVAL', `Invalid arguments for ${callName}: ${describeArgs(parsed.error)}.`);
  try {
    const handler = handlers[callName] as (...a: unknown[]) => unknown;
    const value = await handler(...(parsed.data as unknown[]));
    return { ok: true, value };
  } catch (err) {
    const error = toFerryError(err);
    if (!(err instanceof FerryError)) log(`${callName} failed unexpectedly: ${(err as Error)?.stack ?? String(err)}`);
    return { ok: false, error: error.toInfo() };
  }
}

export function fail(code: FerryError['code'], message: string): Result<never> {
  return { ok: false, error: { code, message } };
}

/** "argument 1 (port): expected number, received string" */
function describeArgs(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const [index, ...rest] = issue.path;
      const where =
        typeof index === 'number' ? `argument ${index + 1}${rest.length > 0 ? ` (${rest.map(String).join('.')})` : ''}` : 'the arguments';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}

export function createHandlers(parts: BackendParts): Handlers {
  const { stores, connection, transfers, conflicts, changes } = parts;
  const session = () => connection.requireSession();
  return {
    'profiles:list': async () => {
      const saved = await stores.profiles.list();
      if (!parts.localServer) return saved;
      return [{ ...(await localProfile(parts.localServer)), ...(await stores.profiles.localPlaces()) }, ...saved];
    },
    'profiles:save': (input) => {
      if (input.id === LOCAL_PROFILE_ID) throw builtInProfile();
      return stores.profiles.save(input);
    },
    'profiles:delete': async (id) => {
      if (id === LOCAL_PROFILE_ID) throw builtInProfile();
      if (!(await stores.profiles.delete(id))) throw new FerryError('ENOENT', `There is no saved connection with the id "${id}".`);
    },
    'profiles:setPlaces': async (id, places) => {
      if (id !== LOCAL_PROFILE_ID) return stores.profiles.setPlaces(id, places);
      // The built-in profile is not saved, but its places are (beside the saved ones).
      if (!parts.localServer) throw new FerryError('ENOENT', `There is no saved connection with the id "${id}".`);
      return { ...(await localProfile(parts.localServer)), ...(await stores.profiles.setLocalPlaces(places)) };
    },
    'session:connect': (input) => connection.connect(input),
    'session:disconnect': () => connection.disconnect(),
    'session:state': () => connection.connectionState,
    'hosts:trust': (hostPort, fingerprint) => stores.knownHosts.trust(hostPort, fingerprint),
    'hosts:forget': (hostPort) => stores.knownHosts.forget(hostPort),
    'fs:list': (p) => session().list(p),
    'fs:stat': (p) => session().stat(p),
    'fs:cd': (p) => connection.changeDir(p),
    'fs:mkdir': async (p) => {
      const created = await session().mkdir(p);
      changes.now(changes.parentOf(created));
      return created;
    },
    'fs:rename': async (from, to) => {
      const source = connection.resolve(from);
      const renamed = await session().rename(from, to);
      changes.now(changes.parentOf(source), changes.parentOf(renamed));
      return renamed;
    },
    'fs:delete': (paths) => remove(connection, changes, paths),
    'fs:df': () => session().df(),
    'fs:chmod': async (p, mode, { recursive }) => {
      const target = connection.resolve(p);
      // The folder shows the new bits; a recursive change shows them inside it too.
      const announce = (): void => changes.now(changes.parentOf(target), ...(recursive ? [target] : []));
      try {
        return await session().chmod(p, mode, { recursive });
      } finally {
        // A recursive change that failed half way changed some entries all the same.
        announce();
      }
    },
    'transfers:uploadPaths': (localPaths, remoteDir) => parts.upload(localPaths, remoteDir),
    'transfers:download': async (remotePaths, localDir) => {
      const target = localDir ?? (await stores.settings.get()).downloadDir;
      return transfers.requireQueue().download(remotePaths, target);
    },
    // Row controls work while reconnecting too: they only change the queue's plans.
    'transfers:pause': (id) => transfers.queueOf(id).pause(id as TransferId),
    'transfers:resume': (id) => transfers.queueOf(id).resume(id as TransferId),
    'transfers:cancel': (id) => transfers.queueOf(id).cancel(id as TransferId),
    'transfers:retry': (id) => transfers.queueOf(id).retry(id as TransferId),
    'transfers:pauseAll': () => transfers.current?.pauseAll(),
    'transfers:resumeAll': () => transfers.current?.resumeAll(),
    'transfers:cancelAll': () => transfers.current?.cancelAll(),
    'transfers:clear': () => transfers.current?.clear(true),
    'transfers:list': () => transfers.snapshot(),
    'transfers:resolveConflict': (conflictId, decision, applyToAll) => conflicts.answer(conflictId, { decision, applyToAll }),
    'transfers:history': async (query) => {
      await stores.transferLog.flush(); // what finished a moment ago is in the answer
      return stores.transferLog.list(query);
    },
    'transfers:exportHistory': async (format, search) => {
      await stores.transferLog.flush();
      return exportHistory(await stores.transferLog.list({ search, limit: Number.MAX_SAFE_INTEGER }), format);
    },
    'transfers:saved': () => parts.saver.offer(),
    'transfers:restore': () => {
      transfers.requireQueue(); // connected now, not reconnecting
      return parts.saver.restore();
    },
    'transfers:discardSaved': () => parts.saver.discard(),
    'exec:run': (command) => parts.console.run(command),
    'exec:cancel': (execId) => parts.console.cancel(execId),
    'history:get': () => stores.history.get(connection.historyKey),
    'history:add': (command) => stores.history.add(connection.historyKey, command),
    'settings:get': () => stores.settings.get(),
    'settings:set': async (change) => {
      const settings = await stores.settings.set(change);
      // As many data connections as files moving at once: no more sockets than that, no fewer.
      connection.current?.setDataConnections(settings.concurrency);
      transfers.current?.setConcurrency(settings.concurrency);
      // The transfers that start from now on, and what the connection panel says.
      const check = settings.checkSha256 ? 'sha256' : ENGINE_DEFAULT_CHECK;
      transfers.current?.setCheck(check);
      connection.setCheck(check);
      // Every transfer of the app, in every window, goes faster or slower at once.
      stores.rateLimits.set(settings);
      return settings;
    },
    'sync:plan': (request) => parts.sync.plan(request),
    'sync:run': (planId, selected) => parts.sync.run(planId, selected),
    'sync:cancel': (planId) => parts.sync.cancel(planId),
    'local:home': () => parts.localFiles.home(),
    'local:list': (p) => parts.localFiles.list(p),
    'edit:open': (p, opener) => parts.edits.open(p, opener),
    'edit:read': (id, which) => parts.edits.read(id, which),
    'edit:write': (id, text) => parts.edits.write(id, text),
    'edit:resolve': (id, choice) => parts.edits.resolve(id, choice),
    'edit:retry': (id) => parts.edits.retry(id),
    'edit:close': (id, discard) => parts.edits.close(id, discard),
    'edit:list': () => parts.edits.list(),
    'search:start': (p, pattern, options) => parts.search.start(p, pattern, options),
    'search:cancel': (searchId) => parts.search.cancel(searchId),
  };
}

/** Delete paths in order; the folders of those deleted are reported even when one fails. */
async function remove(connection: ConnectionManager, changes: ChangeFeed, paths: readonly string[]): Promise<void> {
  const session = connection.requireSession();
  const parents = new Set<string>();
  let done = 0;
  try {
    for (const p of paths) {
      await session.remove(p, true);
      parents.add(changes.parentOf(p));
      done++;
    }
  } catch (err) {
    const e = toFerryError(err);
    if (paths.length === 1) throw e;
    throw new FerryError(e.code, `${e.message} (${paths[done]}; ${done} of ${paths.length} deleted before it)`, e.details);
  } finally {
    changes.now(...parents);
  }
}
