/**
 * An in-memory FerryApi for unit tests of the renderer's stores: calls are answered by
 * handlers the test registers (or by a small memory file system), every call is recorded,
 * and events are emitted by hand. The end-to-end suite drives the real engine instead.
 */
import type { CallArgs, CallName, CallResults, EventName, Events, FerryApi, Result, UploadFile } from '../../shared/common/contract.js';
import type { ErrorCode, ErrorInfo } from '../../shared/common/errors.js';
import type { Entry } from '../../shared/common/messages.js';
import type { QueueTotals, TransferChange, TransferEvent, TransferView } from '../../shared/common/transfer-model.js';

type Handler<N extends CallName> = (...args: CallArgs<N>) => Result<CallResults[N]> | Promise<Result<CallResults[N]>>;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: ErrorCode, message: string = code): { ok: false; error: ErrorInfo } => ({ ok: false, error: { code, message } });

export class FakeApi implements FerryApi {
  readonly platform = 'browser' as const;
  readonly calls: Array<{ name: CallName; args: unknown[] }> = [];
  readonly uploads: Array<{ files: readonly UploadFile[]; relativePaths: readonly string[]; remoteDir: string }> = [];
  uploadResult: Result<TransferView[]> = ok([]);
  private readonly handlers = new Map<CallName, (...args: never[]) => unknown>();
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();

  handle<N extends CallName>(name: N, handler: Handler<N>): this {
    this.handlers.set(name, handler as (...args: never[]) => unknown);
    return this;
  }

  async call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>> {
    this.calls.push({ name, args: [...(args as unknown[])] });
    const handler = this.handlers.get(name) as Handler<N> | undefined;
    if (!handler) return fail('EINVAL', `no fake handler for ${name}`);
    return handler(...args);
  }

  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (p: Events[E]) => void)(payload);
  }

  async uploadFiles(files: readonly UploadFile[], relativePaths: readonly string[], remoteDir: string): Promise<Result<TransferView[]>> {
    this.uploads.push({ files, relativePaths, remoteDir });
    return this.uploadResult;
  }

  /** Names of the calls made so far (optionally only those with this name). */
  made(name?: CallName): Array<{ name: CallName; args: unknown[] }> {
    return name ? this.calls.filter((c) => c.name === name) : [...this.calls];
  }
}

export const file = (name: string, size = 1, mtime = 1_700_000_000_000): Entry => ({ name, type: 'file', size, mtime, mode: 0o644 });
export const dir = (name: string, mtime = 1_700_000_000_000): Entry => ({ name, type: 'dir', size: 0, mtime, mode: 0o755 });

/**
 * A remote tree in memory: folder path → its entries. Answers fs:* like the engine would,
 * change feed included: fs:mkdir, fs:rename and fs:delete send 'fs:changed' for the
 * folders they changed before they answer.
 */
export function memoryFs(api: FakeApi, folders: Record<string, Entry[]>, start = '/'): { cwd: () => string; folders: Map<string, Entry[]> } {
  const fs = new Map(Object.entries(folders));
  let cwd = start;
  const parentOf = (p: string): string => (p.lastIndexOf('/') <= 0 ? '/' : p.slice(0, p.lastIndexOf('/')));
  const nameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  api
    .handle('fs:list', (path) => {
      const entries = fs.get(path);
      return entries ? ok({ path, entries: [...entries] }) : fail('ENOENT', 'No such file or folder.');
    })
    .handle('fs:cd', (path) => {
      if (!fs.has(path)) return fail('ENOENT', 'No such file or folder.');
      cwd = path;
      return ok(path);
    })
    .handle('fs:mkdir', (path) => {
      const parent = fs.get(parentOf(path));
      if (!parent) return fail('ENOENT');
      if (parent.some((e) => e.name === nameOf(path))) return fail('EEXIST', 'A file or folder with that name already exists.');
      fs.set(parentOf(path), [...parent, dir(nameOf(path))]);
      fs.set(path, []);
      api.emit('fs:changed', { paths: [parentOf(path)] });
      return ok(path);
    })
    .handle('fs:rename', (from, to) => {
      const src = fs.get(parentOf(from));
      const entry = src?.find((e) => e.name === nameOf(from));
      const dst = fs.get(parentOf(to));
      if (!src || !entry || !dst) return fail('ENOENT');
      fs.set(parentOf(from), src.filter((e) => e !== entry));
      fs.set(parentOf(to), [...(fs.get(parentOf(to)) ?? []), { ...entry, name: nameOf(to) }]);
      for (const [p, v] of [...fs]) {
        if (p === from || p.startsWith(`${from}/`)) {
          fs.delete(p);
          fs.set(to + p.slice(from.length), v);
        }
      }
      api.emit('fs:changed', { paths: [...new Set([parentOf(from), parentOf(to)])] });
      return ok(to);
    })
    .handle('fs:delete', (paths) => {
      const changed = new Set<string>();
      try {
        for (const path of paths) {
          const parent = fs.get(parentOf(path));
          if (!parent) return fail('ENOENT');
          fs.set(parentOf(path), parent.filter((e) => e.name !== nameOf(path)));
          for (const p of [...fs.keys()]) if (p === path || p.startsWith(`${path}/`)) fs.delete(p);
          changed.add(parentOf(path));
        }
        return ok(undefined);
      } finally {
        if (changed.size > 0) api.emit('fs:changed', { paths: [...changed] });
      }
    });
  return { cwd: () => cwd, folders: fs };
}

/** Let pending promise callbacks run. */
export const settle = async (rounds = 5): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

export function view(id: string, patch: Partial<TransferView> = {}): TransferView {
  return {
    id: id as TransferView['id'],
    direction: 'upload',
    name: `${id}.bin`,
    localPath: `/local/${id}.bin`,
    remotePath: `/${id}.bin`,
    size: 1000,
    bytes: 0,
    speed: 0,
    eta: null,
    state: 'queued',
    verified: false,
    check: null,
    attempts: 1,
    ...patch,
  };
}

/** An event as the engine sends it: a change and the totals the engine computed (given here). */
export function transferEvent(change: TransferChange, totals: Partial<QueueTotals> = {}): TransferEvent {
  return {
    ...change,
    totals: { count: 0, queued: 0, active: 0, paused: 0, done: 0, failed: 0, cancelled: 0, unfinished: 0, bytes: 0, size: 0, ...totals },
  };
}
