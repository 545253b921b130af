/**
 * The sandboxed preload: window.ferry, a FerryApi over IPC for the window's first tab, and
 * `openTab()` for more (each tab a session of its own: every call and event carries its
 * tab's id). It exposes functions only, never ipcRenderer itself, so the page can reach
 * nothing but the contract's calls (validated again in the main process). Built as
 * CommonJS (sandboxed preloads are not ES modules) into dist/electron/preload.cjs; only
 * `electron` is required at run time.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { CallArgs, CallName, CallResults, EventName, Events, FerryApi, Result, UploadFile } from '../../shared/common/contract.js';
import { DRAG_OUT_CHANNEL, EVENT_CHANNEL, PICK_KEY_FILE_CHANNEL, TAB_CLOSE_CHANNEL } from '../../shared/common/ipc-channels.js';
import type { TabId } from '../../shared/common/tabs.js';
import type { TransferView } from '../../shared/common/transfer-model.js';

/** Each open tab's listeners, by event name. */
const tabs = new Map<TabId, Map<EventName, Set<(payload: unknown) => void>>>();
let nextTabId: TabId = 0;

ipcRenderer.on(EVENT_CHANNEL, (_event, tabId: TabId, name: EventName, payload: unknown) => {
  for (const listener of tabs.get(tabId)?.get(name) ?? []) {
    try {
      listener(payload);
    } catch (err) {
      console.error(`a listener of ${name} failed`, err);
    }
  }
});

/**
 * The top-level items of a drop as OS paths: a file from a dropped folder, with relative
 * path 'photos/2024/a.jpg', lives at '…/photos/2024/a.jpg', so the dropped item is the
 * path with the last two names taken off. The engine then uploads whole folders itself.
 */
function droppedPaths(files: readonly UploadFile[], relativePaths: readonly string[]): string[] | string {
  const tops = new Set<string>();
  for (const [i, file] of files.entries()) {
    const full = webUtils.getPathForFile(file as unknown as File);
    const relative = relativePaths[i] ?? file.name;
    if (!full) return `"${relative}" is not a file on this computer`;
    const names = relative.split('/').filter((n) => n !== '');
    let top = full;
    for (let up = names.length - 1; up > 0; up--) {
      const cut = Math.max(top.lastIndexOf('/'), top.lastIndexOf('\\'));
      if (cut <= 0) return `"${relative}" does not match where the file is (${full})`;
      top = top.slice(0, cut);
    }
    const base = top.slice(Math.max(top.lastIndexOf('/'), top.lastIndexOf('\\')) + 1);
    if (names.length > 0 && base !== names[0]) return `"${relative}" does not match where the file is (${full})`;
    tops.add(top);
  }
  return [...tops];
}

/** A tab's FerryApi: its id goes with every call; the main process makes its backend on the first one. */
function tabApi(): FerryApi {
  const tabId = nextTabId++;
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  tabs.set(tabId, listeners);
  const api: FerryApi = {
    platform: 'electron',
    openTab: tabApi,
    close() {
      tabs.delete(tabId);
      ipcRenderer.send(TAB_CLOSE_CHANNEL, tabId);
    },
    dragOut(transferIds) {
      ipcRenderer.send(DRAG_OUT_CHANNEL, tabId, [...transferIds]);
    },
    async pickKeyFile(): Promise<string | null> {
      const picked: unknown = await ipcRenderer.invoke(PICK_KEY_FILE_CHANNEL).catch(() => null);
      return typeof picked === 'string' ? picked : null;
    },
    call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>> {
      // Results are values; only a broken bridge rejects, and that becomes a value too.
      return (ipcRenderer.invoke(name, tabId, ...args) as Promise<Result<CallResults[N]>>).catch(
        (err: unknown): Result<CallResults[N]> => ({
          ok: false,
          error: { code: 'EPROTO', message: `The engine did not answer ${String(name)}: ${err instanceof Error ? err.message : String(err)}` },
        }),
      );
    },
    on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const wrapped = listener as (payload: unknown) => void;
      set.add(wrapped);
      return () => {
        set.delete(wrapped);
      };
    },
    async uploadFiles(files, relativePaths, remoteDir, shape): Promise<Result<TransferView[]>> {
      // A drop's own items are the best source: a dropped folder is one path (the engine
      // walks it, empty folders included). A picker gives only files: work back from those.
      const roots = (shape?.roots ?? []).map((root) => webUtils.getPathForFile(root as unknown as File));
      if (roots.length > 0 && roots.every((p) => p !== '')) return api.call('transfers:uploadPaths', roots, remoteDir);
      if (files.length === 0) return { ok: true, value: [] };
      const paths = droppedPaths(files, relativePaths);
      if (typeof paths === 'string') return { ok: false, error: { code: 'EINVAL', message: `Cannot upload this drop: ${paths}.` } };
      return api.call('transfers:uploadPaths', paths, remoteDir);
    },
  };
  return api;
}

contextBridge.exposeInMainWorld('ferry', tabApi());
