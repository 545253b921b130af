/**
 * A file tree: the current folder, the folders expanded below it (loaded lazily from its
 * source: the server's fs:list or this computer's local:list, tree-source.ts), sort,
 * filter and selection, flattened into the rows the virtualized view draws. File
 * operations on the remote tree (new folder, rename, move, delete) are sent to the engine;
 * the folders they touch are listed again only when the engine's change feed
 * ('fs:changed') names them, which it does before it answers the operation.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FerryApi } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { i18n } from '../i18n/i18n.js';
import type { Entry } from '../../../shared/common/messages.js';
import { baseName, displayPath, isInside, joinPath, parentPath } from '../logic/remote-path.js';
import {
  EMPTY_SELECTION,
  clickSelect,
  focusOnly,
  moveFocus,
  pruneSelection,
  selectAll,
  type Modifiers,
  type Move,
  type Selection,
} from '../logic/selection.js';
import { flattenTree, indexRows, type FolderState, type Row, type SortKey, type SortOrder } from '../logic/tree-rows.js';
import { remoteSource, type TreeSource } from './tree-source.js';

export interface Notice {
  /** What failed, in words ("Could not rename “a.txt”"). */
  readonly text: string;
  readonly error: ErrorInfo;
}

export interface TreeState {
  /** '' until connected. */
  readonly cwd: string;
  /** The session's home, named "Home" ('/' for Ferry, the account's home over SFTP). */
  readonly home: string;
  /** The folder the tree cannot go above ('/'; browser mode's local pane: its one folder). */
  readonly top: string;
  readonly folders: ReadonlyMap<string, FolderState>;
  readonly expanded: ReadonlySet<string>;
  readonly sort: SortOrder;
  readonly filter: string;
  readonly rows: readonly Row[];
  readonly rowIndex: ReadonlyMap<string, number>;
  readonly rowPaths: readonly string[];
  readonly selection: Selection;
  readonly notice: Notice | null;

  reset(cwd: string, home?: string, top?: string): void;
  clear(): void;
  /** Open a folder: the source goes there (the remote session: fs:cd) and the tree shows it. */
  navigate(path: string): Promise<boolean>;
  /** navigate() that answers why it could not, and leaves the notices alone (the path bar says it in place). */
  open(path: string): Promise<ErrorInfo | null>;
  /** The session moved (a `cd` in the console): show where it is now (its changes come by 'fs:changed'). */
  follow(cwd: string): Promise<void>;
  load(path: string, force?: boolean): Promise<void>;
  toggle(path: string): void;
  expand(path: string): void;
  collapse(path: string): void;
  /** List again the current folder and every expanded folder (the user asked, or the session came back). */
  refresh(): Promise<void>;
  /** The engine says these folders changed ('fs:changed'). */
  changed(paths: readonly string[]): void;
  setSort(key: SortKey): void;
  setFilter(text: string): void;
  click(path: string, mods: Modifiers): void;
  selectAll(): void;
  selectOnly(path: string): void;
  clearSelection(): void;
  setFocus(path: string): void;
  moveFocus(move: Move, mods: Modifiers, page?: number): void;
  /** Selected paths in the order they are shown. */
  selectedPaths(): string[];
  mkdir(parent: string, name: string): Promise<boolean>;
  rename(path: string, newName: string): Promise<boolean>;
  remove(paths: readonly string[]): Promise<boolean>;
  moveInto(paths: readonly string[], folder: string): Promise<boolean>;
  /** Say something went wrong above the tree (e.g. the start folder is missing). */
  notify(text: string, error: ErrorInfo): void;
  dismissNotice(): void;
}

export type TreeStore = StoreApi<TreeState>;

const normalize = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') || '/' : p);

type Structure = Pick<TreeState, 'cwd' | 'folders' | 'expanded' | 'sort' | 'filter' | 'selection'>;

/** Rows, their index and a selection without rows that are gone. */
function derive(s: Structure): Pick<TreeState, 'rows' | 'rowIndex' | 'rowPaths' | 'selection'> {
  const rows = flattenTree(s);
  const rowIndex = indexRows(rows);
  return { rows, rowIndex, rowPaths: rows.map((r) => r.path), selection: pruneSelection(s.selection, rowIndex) };
}

export function createTreeStore(api: FerryApi, source: TreeSource = remoteSource(api)): TreeStore {
  const inflight = new Map<string, Promise<void>>();
  const again = new Set<string>();
  /** A row to select once a listing shows it (the folder just made or renamed). */
  let reveal: string | null = null;
  // Bumped on every new session or navigation, so late listings of an old view are dropped.
  let generation = 0;

  const store = createStore<TreeState>()((set, get) => {
    const update = (patch: Partial<Structure> & Partial<Pick<TreeState, 'notice'>>): void => {
      const next = { ...get(), ...patch };
      set({ ...patch, ...derive(next) });
    };
    const setFolder = (path: string, folder: FolderState): void => {
      const folders = new Map(get().folders);
      folders.set(path, folder);
      update({ folders });
      if (reveal !== null && get().rowIndex.has(reveal)) {
        get().selectOnly(reveal);
        reveal = null;
      }
    };
    /** Select `path` now if it is shown, else as soon as a listing shows it. */
    const select = (path: string): void => {
      reveal = null;
      if (get().rowIndex.has(path)) get().selectOnly(path);
      else reveal = path;
    };
    /** The listing of `path` under way, if any (never starts one: 'fs:changed' does). */
    const listed = (path: string): Promise<void> => inflight.get(path) ?? Promise.resolve();
    const fail = (text: string, error: ErrorInfo): void => set({ notice: { text, error } });
    const list = () => ({ paths: get().rowPaths, index: get().rowIndex });

    const show = async (cwd: string, focusAfter: string | null, entries?: Entry[]): Promise<void> => {
      generation++;
      reveal = null;
      const before = get().folders.get(cwd);
      const folders = new Map<string, FolderState>();
      if (entries) folders.set(cwd, { status: 'loaded', entries });
      else if (before) folders.set(cwd, before);
      update({ cwd, folders, expanded: new Set(), filter: '', selection: EMPTY_SELECTION });
      if (!entries) await get().load(cwd, true);
      if (focusAfter !== null && get().rowIndex.has(focusAfter)) set({ selection: focusOnly(get().selection, focusAfter) });
    };

    return {
      cwd: '',
      home: '/',
      top: '/',
      folders: new Map(),
      expanded: new Set(),
      sort: { key: 'name', dir: 'asc' },
      filter: '',
      rows: [],
      rowIndex: new Map(),
      rowPaths: [],
      selection: EMPTY_SELECTION,
      notice: null,

      reset(cwd, home = '/', top = '/') {
        generation++;
        reveal = null;
        inflight.clear();
        again.clear();
        set({ home: normalize(home), top: normalize(top) });
        update({ cwd: normalize(cwd), folders: new Map(), expanded: new Set(), filter: '', selection: EMPTY_SELECTION, notice: null });
        void get().load(get().cwd, true);
      },

      clear() {
        generation++;
        reveal = null;
        inflight.clear();
        again.clear();
        update({ cwd: '', folders: new Map(), expanded: new Set(), filter: '', selection: EMPTY_SELECTION, notice: null });
      },

      async navigate(path) {
        const target = normalize(path);
        const error = await get().open(target);
        if (error) fail(i18n.t('tree:notice.open', { folder: displayPath(target, get().home) }), error);
        return error === null;
      },

      async open(path) {
        const r = await source.open(normalize(path));
        if (!r.ok) return r.error;
        const from = get().cwd;
        const cwd = normalize(r.value.path);
        // Going up: put the keyboard on the folder we came out of.
        let focusAfter: string | null = null;
        if (from !== cwd && isInside(cwd, from)) {
          focusAfter = from;
          while (parentPath(focusAfter) !== cwd && focusAfter !== '/') focusAfter = parentPath(focusAfter);
        }
        set({ notice: null });
        await show(cwd, focusAfter, r.value.entries);
        return null;
      },

      async follow(cwd) {
        const target = normalize(cwd);
        if (target === get().cwd) return;
        await show(target, null);
      },

      load(path, force = false) {
        const existing = get().folders.get(path);
        if (!force && existing && existing.status === 'loaded') return Promise.resolve();
        const running = inflight.get(path);
        if (running) {
          if (force) again.add(path);
          return running;
        }
        const gen = generation;
        setFolder(path, { status: 'loading', entries: existing?.entries ?? null });
        const task = (async () => {
          const r = await source.list(path);
          if (gen !== generation) return;
          const entries = get().folders.get(path)?.entries ?? null;
          if (r.ok) setFolder(path, { status: 'loaded', entries: r.value.entries });
          else {
            setFolder(path, { status: 'error', entries, error: r.error });
            if (path !== get().cwd) fail(i18n.t('tree:notice.list', { path }), r.error);
          }
        })().finally(() => {
          if (inflight.get(path) === task) inflight.delete(path);
          if (again.delete(path)) void get().load(path, true);
        });
        inflight.set(path, task);
        return task;
      },

      toggle(path) {
        if (get().expanded.has(path)) get().collapse(path);
        else get().expand(path);
      },

      expand(path) {
        if (get().expanded.has(path)) return;
        const expanded = new Set(get().expanded);
        expanded.add(path);
        update({ expanded });
        void get().load(path);
      },

      collapse(path) {
        if (!get().expanded.has(path)) return;
        const expanded = new Set(get().expanded);
        expanded.delete(path);
        // Keep the keyboard on a visible row.
        const focus = get().selection.focus;
        const selection = focus !== null && focus !== path && isInside(path, focus) ? focusOnly(get().selection, path) : get().selection;
        update({ expanded, selection });
      },

      async refresh() {
        const { cwd, expanded } = get();
        if (cwd === '') return;
        set({ notice: null });
        await Promise.all([cwd, ...[...expanded].filter((p) => isInside(cwd, p))].map((p) => get().load(p, true)));
      },

      changed(paths) {
        const { cwd, expanded, folders } = get();
        if (cwd === '') return;
        const stale: string[] = [];
        for (const raw of paths) {
          const p = normalize(raw);
          if (p === cwd || (expanded.has(p) && isInside(cwd, p))) void get().load(p, true);
          else if (folders.has(p)) stale.push(p);
        }
        if (stale.length > 0) {
          const next = new Map(get().folders);
          for (const p of stale) next.delete(p);
          update({ folders: next });
        }
      },

      setSort(key) {
        const { sort } = get();
        const dir = sort.key === key ? (sort.dir === 'asc' ? 'desc' : 'asc') : key === 'name' ? 'asc' : 'desc';
        update({ sort: { key, dir } });
      },

      setFilter(text) {
        update({ filter: text });
      },

      click(path, mods) {
        set({ selection: clickSelect(get().selection, list(), path, mods) });
      },

      selectAll() {
        set({ selection: selectAll(list(), get().selection) });
      },

      selectOnly(path) {
        set({ selection: { selected: new Set([path]), anchor: path, focus: path } });
      },

      clearSelection() {
        const { selection } = get();
        if (selection.selected.size > 0) set({ selection: { selected: new Set(), anchor: selection.focus, focus: selection.focus } });
      },

      setFocus(path) {
        set({ selection: focusOnly(get().selection, path) });
      },

      moveFocus(move, mods, page) {
        set({ selection: moveFocus(get().selection, list(), move, mods, page) });
      },

      selectedPaths() {
        const { selection, rowPaths } = get();
        if (selection.selected.size === 0) return [];
        return rowPaths.filter((p) => selection.selected.has(p));
      },

      async mkdir(parent, name) {
        const path = joinPath(parent, name);
        const r = await api.call('fs:mkdir', path);
        if (!r.ok) {
          fail(i18n.t('tree:notice.mkdir', { name }), r.error);
          return false;
        }
        if (parent !== get().cwd) get().expand(parent);
        await listed(parent);
        select(path);
        return true;
      },

      async rename(path, newName) {
        const parent = parentPath(path);
        const to = joinPath(parent, newName);
        if (to === path) return true;
        const r = await api.call('fs:rename', path, to);
        if (!r.ok) {
          fail(i18n.t('tree:notice.rename', { name: baseName(path) }), r.error);
          return false;
        }
        // Keep expanded folders expanded under their new name.
        const expanded = new Set<string>();
        for (const p of get().expanded) expanded.add(isInside(path, p) ? to + p.slice(path.length) : p);
        update({ expanded });
        await listed(parent);
        select(to);
        return true;
      },

      async remove(paths) {
        if (paths.length === 0) return true;
        const r = await api.call('fs:delete', [...paths]);
        const gone = (p: string): boolean => paths.some((d) => isInside(d, p));
        const expanded = new Set([...get().expanded].filter((p) => !gone(p)));
        const folders = new Map([...get().folders].filter(([p]) => !gone(p)));
        update({ expanded, folders });
        await Promise.all([...new Set(paths.map(parentPath))].map(listed));
        if (!r.ok) {
          fail(paths.length === 1 ? i18n.t('tree:notice.deleteOne', { name: baseName(paths[0]!) }) : i18n.t('tree:notice.deleteMany', { count: paths.length }), r.error);
          return false;
        }
        return true;
      },

      async moveInto(paths, folder) {
        const moves = paths.filter((p) => p !== folder && !isInside(p, folder) && parentPath(p) !== folder);
        if (moves.length === 0) return false;
        let ok = true;
        for (const from of moves) {
          const r = await api.call('fs:rename', from, joinPath(folder, baseName(from)));
          if (!r.ok) {
            fail(i18n.t('tree:notice.move', { name: baseName(from), folder: displayPath(folder, get().home) }), r.error);

            ok = false;
            break;
          }
        }
        const touched = new Set([folder, ...moves.map(parentPath)]);
        await Promise.all([...touched].map(listed));
        return ok;
      },

      notify(text, error) {
        fail(text, error);
      },

      dismissNotice() {
        set({ notice: null });
      },
    };
  });

  source.watch((paths) => store.getState().changed(paths));
  return store;
}
