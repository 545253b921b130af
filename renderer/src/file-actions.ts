/** What the toolbar, the context menu and the keyboard do to remote files: one place. */
import type { EditOpener } from '../../shared/common/edit-model.js';
import { parentPath } from './logic/remote-path.js';
import type { Stores } from './state/stores.js';

export interface FileActions {
  /** A folder: go into it. A file: download it. */
  open(path: string): void;
  download(paths: readonly string[]): void;
  /** Edit a file in place: the built-in editor, or (desktop app) the system's app or one the person picks. */
  edit(path: string, opener?: EditOpener): void;
  askDelete(paths: readonly string[]): void;
  askRename(path: string): void;
  askNewFolder(parent?: string): void;
  /** The chmod dialog for these paths (Alt+Enter, or the context menu's Permissions…). */
  askPermissions(paths: readonly string[]): void;
  /** Sync a remote folder (default: the one shown) with a local one: the dialog, then its preview. */
  askSync(remoteRoot?: string): void;
  refresh(): void;
  up(): void;
}

export function fileActions({ session, tree, transfers, ui, edits }: Stores): FileActions {
  return {
    open(path) {
      const index = tree.getState().rowIndex.get(path);
      const row = index === undefined ? undefined : tree.getState().rows[index];
      if (row?.isDir) void tree.getState().navigate(path);
      else if (row) void transfers.getState().download([path]);
    },
    download(paths) {
      if (paths.length > 0) void transfers.getState().download(paths);
    },
    edit(path, opener = 'builtin') {
      const index = tree.getState().rowIndex.get(path);
      const row = index === undefined ? undefined : tree.getState().rows[index];
      if (row && !row.isDir) void edits.getState().open(path, opener);
    },
    askDelete(paths) {
      if (paths.length > 0) ui.getState().openDialog({ kind: 'delete', paths });
    },
    askRename(path) {
      ui.getState().openDialog({ kind: 'rename', path });
    },
    askNewFolder(parent) {
      const cwd = tree.getState().cwd;
      if (cwd !== '') ui.getState().openDialog({ kind: 'mkdir', parent: parent ?? cwd });
    },
    askPermissions(paths) {
      if (paths.length > 0) ui.getState().openDialog({ kind: 'chmod', paths });
    },
    askSync(remoteRoot) {
      const cwd = tree.getState().cwd;
      if (cwd !== '') ui.getState().openDialog({ kind: 'sync', remoteRoot: remoteRoot ?? cwd });
    },
    refresh() {
      void tree.getState().refresh();
      // Others (another tab, a console command, another client) may have changed the usage too.
      void session.getState().refreshDf();
    },
    up() {
      const cwd = tree.getState().cwd;
      if (cwd !== '' && cwd !== '/') void tree.getState().navigate(parentPath(cwd));
    },
  };
}
