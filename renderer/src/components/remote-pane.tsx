/**
 * The main pane: toolbar, breadcrumbs, column headers and the tree. It is also the drop
 * zone: files from the OS dropped on a folder row go into that folder, anywhere else into
 * the current folder; tree rows dragged onto a folder are moved there, and rows of the
 * local pane dropped here are uploaded (pane-transfers.ts).
 */
import { useEffect, useId, useMemo, useRef, useState, type DragEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { TREE_DRAG_TYPE, readDrop, readPicked, type DroppedFiles } from '../drop.js';
import { fileActions } from '../file-actions.js';
import { formatError } from '../logic/format.js';
import { displayPath, isInside, parentPath } from '../logic/remote-path.js';
import type { SortKey } from '../logic/tree-rows.js';
import { LOCAL_DRAG_TYPE, draggedPaths, uploadLocal } from '../pane-transfers.js';
import { currentSession } from '../state/session-store.js';
import { useEdits, useSession, useStores, useTransfers, useTree, useTreeStore, useUi } from '../state/stores-context.js';
import { BookmarkButtons } from './bookmarks.js';
import { ContextMenu } from './context-menu.js';
import { Icon } from './icons.js';
import { PathBar } from './path-bar.js';
import { SearchButton, SearchPanel } from './search-panel.js';
import { TreeView } from './tree-view.js';
import { PermissionsHeader } from './permissions-column.js';

export function RemotePane() {
  const stores = useStores();
  const { t } = useTranslation(['tree', 'transfers']);

  const { tree, transfers, ui } = stores;
  const connected = useSession((s) => currentSession(s) !== null);
  const reconnecting = useSession((s) => s.connection.state === 'reconnecting');
  const cwd = useTree((s) => s.cwd);
  const home = useTree((s) => s.home);
  const menuOpen = useUi((s) => s.menu !== null);
  const actions = useMemo(() => fileActions(stores), [stores]);
  const treeRef = useRef<HTMLDivElement>(null);
  const [dropTarget, setDropTarget] = useState<string | null>(null);
  /** Whether the drag over the pane is tree rows being moved (not files being uploaded). */
  const [dropMoves, setDropMoves] = useState(false);
  const dragged = useRef<readonly string[] | null>(null);

  const upload = async (read: Promise<DroppedFiles> | DroppedFiles, dir: string): Promise<void> => {
    // Walking a dropped folder takes a moment: say so (counted as one item until walked).
    transfers.getState().addPreparing(1);
    let dropped: DroppedFiles;
    try {
      dropped = await read;
    } finally {
      transfers.getState().addPreparing(-1);
    }
    if (dropped.unreadable.length > 0) {
      transfers.getState().refuse(t('transfers:refused.unreadable', { count: dropped.unreadable.length }), {
        code: 'EIO',
        message: dropped.unreadable.slice(0, 5).join(', ') + (dropped.unreadable.length > 5 ? ', …' : ''),
      });
    }
    if (dropped.files.length > 0 || dropped.folders.length > 0) await transfers.getState().upload(dropped, dir);
  };

  const targetOf = (e: DragEvent): { path: string; isFolderRow: boolean } => {
    const el = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-path]') : null;
    if (el?.dataset.dir === '1' && el.dataset.path) return { path: el.dataset.path, isFolderRow: true };
    return { path: cwd, isFolderRow: false };
  };

  const onDragOver = (e: DragEvent<HTMLElement>) => {
    if (!connected) return;
    const types = e.dataTransfer.types;
    const internal = types.includes(TREE_DRAG_TYPE);
    // Rows of the local pane are uploaded by their paths.
    const local = types.includes(LOCAL_DRAG_TYPE);
    if (!internal && !local && !types.includes('Files')) return;
    const { path } = targetOf(e);
    if (internal) {
      const paths = dragged.current ?? [];
      // Into itself or a folder inside it, or where it already is: there is nothing to move.
      if (paths.some((p) => isInside(p, path)) || (paths.length > 0 && paths.every((p) => parentPath(p) === path))) {
        e.dataTransfer.dropEffect = 'none';
        setDropTarget(null);
        return;
      }
    }
    e.preventDefault();
    e.dataTransfer.dropEffect = internal ? 'move' : 'copy';
    if (dropTarget !== path) setDropTarget(path);
    if (dropMoves !== internal) setDropMoves(internal);
  };

  const onDragLeave = (e: DragEvent<HTMLElement>) => {
    if (!(e.relatedTarget instanceof Node) || !e.currentTarget.contains(e.relatedTarget)) setDropTarget(null);
  };

  const onDrop = (e: DragEvent<HTMLElement>) => {
    setDropTarget(null);
    if (!connected) return;
    const { path } = targetOf(e);
    const internal = e.dataTransfer.types.includes(TREE_DRAG_TYPE);
    if (e.dataTransfer.types.includes(LOCAL_DRAG_TYPE)) {
      e.preventDefault();
      void uploadLocal(stores, draggedPaths(e.dataTransfer, LOCAL_DRAG_TYPE), path);
      return;
    }
    if (!internal && !e.dataTransfer.types.includes('Files')) return;
    e.preventDefault();
    if (internal) {
      let paths: string[] = [];
      try {
        paths = JSON.parse(e.dataTransfer.getData(TREE_DRAG_TYPE)) as string[];
      } catch {
        paths = [...(dragged.current ?? [])];
      }
      dragged.current = null;
      void tree.getState().moveInto(paths, path);
      return;
    }
    void upload(readDrop(e.dataTransfer), path);
  };

  return (
    <section
      className={`remote-pane${dropTarget !== null && dropTarget === cwd ? ' is-drop-target' : ''}`}
      aria-label={t('pane')}
      data-pane="remote"
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      <FileToolbar actions={actions} onUpload={(files) => void upload(files, tree.getState().cwd)} />
      <Breadcrumbs />
      <Notices />
      <SearchPanel />
      <ColumnHeaders />
      {connected ? (
        <div className="tree-wrap">
          <TreeView
            treeRef={treeRef}
            dropTarget={dropTarget}
            onDragPaths={(paths) => {
              dragged.current = paths;
              if (paths === null) setDropTarget(null);
            }}
            onMenu={(x, y) => ui.getState().openMenu({ x, y, paths: tree.getState().selectedPaths() })}
            label={displayPath(cwd, home)}
          />
          <TreeEmptyState />
          {dropTarget !== null && dropTarget === cwd && (
            <div className="drop-hint" aria-hidden="true">
              <Icon name={dropMoves ? 'folder' : 'upload'} /> {t(dropMoves ? 'dropMove' : 'dropUpload', { folder: displayPath(cwd, home) })}
            </div>
          )}
        </div>
      ) : reconnecting ? (
        // The connection dropped and the app is logging in again by itself: nothing to do.
        <div className="empty-state">
          <Icon name="server" className="big-icon" />
          <p className="empty-title">{t('lostTitle')}</p>
          <p className="muted">{t('lostText')}</p>
        </div>
      ) : (
        <div className="empty-state">
          <Icon name="server" className="big-icon" />
          <p className="empty-title">{t('notConnectedTitle')}</p>
          <p className="muted">{t('notConnectedText')}</p>
        </div>
      )}
      {menuOpen && <ContextMenu onClose={() => treeRef.current?.focus()} />}
    </section>
  );
}

function FileToolbar({ actions, onUpload }: { readonly actions: ReturnType<typeof fileActions>; readonly onUpload: (files: DroppedFiles) => void }) {
  const { tree } = useStores();
  const { t } = useTranslation('tree');
  const connected = useSession((s) => currentSession(s) !== null);
  const cwd = useTree((s) => s.cwd);
  const selectedCount = useTree((s) => s.selection.selected.size);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    // Not in React's attribute list; the standard name is not supported anywhere yet.
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);

  const picked = (input: HTMLInputElement | null) => {
    if (!input) return;
    const files = readPicked(input.files);
    input.value = '';
    if (files.files.length > 0) onUpload(files);
  };
  const selected = () => tree.getState().selectedPaths();
  const singleSelected = selectedCount === 1;

  return (
    <div className="toolbar" role="toolbar" aria-label={t('toolbar.label')}>
      <button type="button" className="tool" onClick={actions.up} disabled={!connected || cwd === '/'} aria-label={t('toolbar.up')} title={t('toolbar.upTitle')}>
        <Icon name="up" />
      </button>
      <button type="button" className="tool" onClick={actions.refresh} disabled={!connected} aria-label={t('toolbar.refresh')} title={t('toolbar.refreshTitle')}>
        <Icon name="refresh" />
      </button>
      <SearchButton />
      <span className="tool-sep" />
      <button type="button" className="tool" onClick={() => actions.askNewFolder()} disabled={!connected}>
        <Icon name="newFolder" />
        {t('toolbar.newFolder')}
      </button>
      <button type="button" className="tool" onClick={() => filesInput.current?.click()} disabled={!connected}>
        <Icon name="upload" />
        {t('toolbar.uploadFiles')}
      </button>
      <button type="button" className="tool" onClick={() => folderInput.current?.click()} disabled={!connected}>
        <Icon name="upload" />
        {t('toolbar.uploadFolder')}
      </button>
      <button type="button" className="tool" onClick={() => actions.download(selected())} disabled={!connected || selectedCount === 0}>
        <Icon name="download" />
        {t('toolbar.download')}
      </button>
      <button
        type="button"
        className="tool"
        onClick={() => {
          const [path] = selected();
          if (singleSelected && path) actions.askRename(path);
        }}
        disabled={!connected || !singleSelected}
      >
        <Icon name="rename" />
        {t('toolbar.rename')}
      </button>
      <button type="button" className="tool" onClick={() => actions.askDelete(selected())} disabled={!connected || selectedCount === 0}>
        <Icon name="trash" />
        {t('toolbar.delete')}
      </button>
      <input ref={filesInput} type="file" multiple hidden aria-label={t('toolbar.filesInput')} data-testid="upload-files-input" onChange={(e) => picked(e.currentTarget)} />
      <input ref={folderInput} type="file" multiple hidden aria-label={t('toolbar.folderInput')} data-testid="upload-folder-input" onChange={(e) => picked(e.currentTarget)} />
    </div>
  );
}

function Breadcrumbs() {
  const { t } = useTranslation('tree');
  return (
    <div className="location-bar">
      <PathBar emptyText={t('noFolder')} />
      <BookmarkButtons />
      <FilterField />
    </div>
  );
}

/** The filter of the pane around it (remote, or the local pane's own). */
export function FilterField() {
  const tree = useTreeStore();
  const { t } = useTranslation('tree');
  const cwd = useTree((s) => s.cwd);
  const filter = useTree((s) => s.filter);
  const id = useId();
  return (
      <div className="filter">
        <label htmlFor={id}>{t('filter')}</label>
        <input
          id={id}
          type="search"
          value={filter}
          placeholder={t('filterPlaceholder')}
          disabled={cwd === ''}
          onChange={(e) => tree.getState().setFilter(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && filter !== '') {
              e.preventDefault();
              e.stopPropagation();
              tree.getState().setFilter('');
            }
          }}
          spellCheck={false}
          autoComplete="off"
        />
      </div>
  );
}

const COLUMNS: ReadonlyArray<{ key: SortKey; label: 'column.name' | 'column.size' | 'column.mtime'; sortBy: 'column.sortByName' | 'column.sortBySize' | 'column.sortByMtime'; className: string }> = [
  { key: 'name', label: 'column.name', sortBy: 'column.sortByName', className: 'cell-name' },
  { key: 'size', label: 'column.size', sortBy: 'column.sortBySize', className: 'cell-size' },
  { key: 'mtime', label: 'column.mtime', sortBy: 'column.sortByMtime', className: 'cell-mtime' },
];

export function ColumnHeaders() {
  const tree = useTreeStore();
  const { t } = useTranslation('tree');
  const sort = useTree((s) => s.sort);
  const connected = useTree((s) => s.cwd !== '');
  return (
    <div className="columns">
      {COLUMNS.map((c) => {
        const active = sort.key === c.key;
        return (
          <button
            key={c.key}
            type="button"
            className={`column ${c.className}${active ? ' is-sorted' : ''}`}
            aria-label={t(c.sortBy)}
            aria-pressed={active}
            title={active ? t(sort.dir === 'asc' ? 'column.sortedAsc' : 'column.sortedDesc') : t(c.sortBy)}
            disabled={!connected}
            onClick={() => tree.getState().setSort(c.key)}
          >
            {t(c.label)}
            {active && <span className="sort-arrow" aria-hidden="true">{sort.dir === 'asc' ? '▲' : '▼'}</span>}
          </button>
        );
      })}
      <PermissionsHeader />
    </div>
  );
}

function TreeEmptyState() {
  const { t } = useTranslation('tree');
  const cwd = useTree((s) => s.cwd);
  const folder = useTree((s) => s.folders.get(s.cwd));
  const count = useTree((s) => s.rows.length);
  const filter = useTree((s) => s.filter);
  if (count > 0 || !folder) return null;
  let body: ReactNode;
  if (folder.status === 'loading' && folder.entries === null) body = <p className="muted">{t('loading')}</p>;
  else if (folder.status === 'error')
    body = (
      <p className="form-error selectable" role="alert">
        {t('listFailed', { path: cwd, error: formatError(folder.error) })}
      </p>
    );
  else if (filter.trim() !== '') body = <p className="muted">{t('noMatch', { filter: filter.trim() })}</p>;
  else
    body = (
      <>
        <p className="empty-title">{t('emptyTitle')}</p>
        <p className="muted">{t('emptyText')}</p>
      </>
    );
  return <div className="empty-overlay">{body}</div>;
}

function Notices() {
  const { tree, transfers, edits } = useStores();
  const { t } = useTranslation(['tree', 'common']);
  const editRefusal = useEdits((s) => s.refusal);
  const notice = useTree((s) => s.notice);
  const refusal = useTransfers((s) => s.refusal);
  const preparing = useTransfers((s) => s.preparing);
  return (
    <div className="notices">
      {preparing > 0 && (
        <div className="notice info" role="status">
          {preparing > 1 ? t('preparingMany', { count: preparing }) : t('preparing')}
        </div>
      )}
      {refusal && (
        <div className="notice error" role="alert">
          <div className="notice-text selectable">
            <strong>{t('common:sentence', { text: refusal.text })}</strong> {formatError(refusal.error)}
          </div>
          <button type="button" className="icon-button subtle" aria-label={t('common:button.dismiss')} onClick={() => transfers.getState().dismissRefusal()}>
            <Icon name="close" />
          </button>
        </div>
      )}
      {editRefusal && (
        <div className="notice error" role="alert">
          <div className="notice-text selectable">
            <strong>{t('cannotEdit', { name: editRefusal.path.slice(editRefusal.path.lastIndexOf('/') + 1) })}</strong> {formatError(editRefusal.error)}
          </div>
          {editRefusal.systemApp && (
            <button type="button" className="button small" onClick={() => void edits.getState().open(editRefusal.path, 'system')}>
              {t('editInApp')}
            </button>
          )}
          <button type="button" className="icon-button subtle" aria-label={t('common:button.dismiss')} onClick={() => edits.getState().dismissRefusal()}>
            <Icon name="close" />
          </button>
        </div>
      )}
      {notice && (
        <div className="notice error" role="alert">
          <div className="notice-text selectable">
            <strong>{t('common:sentence', { text: notice.text })}</strong> {formatError(notice.error)}
          </div>
          <button type="button" className="icon-button subtle" aria-label={t('common:button.dismiss')} onClick={() => tree.getState().dismissNotice()}>

            <Icon name="close" />
          </button>
        </div>
      )}
    </div>
  );
}
