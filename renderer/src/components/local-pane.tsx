/**
 * The local pane: this computer's files (in browser mode, the folder the web host was
 * started with on the machine it runs on) in the same tree, path bar, sort, filter and
 * keyboard as the remote pane. Its rows dragged onto the remote tree are uploaded; remote
 * rows dropped on it are downloaded into the folder dropped on. Enter on a file uploads it
 * to the remote folder shown.
 */
import { useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { TREE_DRAG_TYPE } from '../drop.js';
import type { FileActions } from '../file-actions.js';
import { formatError } from '../logic/format.js';
import { displayPath, parentPath } from '../logic/remote-path.js';
import { downloadInto, draggedPaths, uploadLocal } from '../pane-transfers.js';
import { currentSession } from '../state/session-store.js';
import { PaneContext, useSession, useStores, useTree, useUi, type Pane } from '../state/stores-context.js';
import type { Stores } from '../state/stores.js';
import { Icon } from './icons.js';
import { PathBar } from './path-bar.js';
import { ColumnHeaders, FilterField } from './remote-pane.js';
import { TreeView } from './tree-view.js';

/** Header toggle: show the local pane beside the remote one (remembered with the layout). */
export function LocalPaneToggle() {
  const { t } = useTranslation('panes');
  const { ui } = useStores();
  const shown = useUi((s) => s.showLocal);
  return (
    <button type="button" className="button subtle" aria-pressed={shown} title={t('toggle.title')} onClick={() => ui.getState().setShowLocal(!shown)}>
      <Icon name="computer" /> {t('toggle.show')}
    </button>
  );
}

/** What the keys and buttons do in the local pane: open folders, upload files; no edits here. */
function localActions(stores: Stores): FileActions {
  const tree = stores.localTree;
  const nothing = (): void => undefined;
  const toRemote = (paths: readonly string[]): void => {
    const remoteDir = stores.tree.getState().cwd;
    if (remoteDir !== '' && currentSession(stores.session.getState())) void uploadLocal(stores, paths, remoteDir);
  };
  return {
    open(path) {
      const row = tree.getState().rows[tree.getState().rowIndex.get(path) ?? -1];
      if (row?.isDir) void tree.getState().navigate(path);
      else if (row?.entry.type === 'file') toRemote([path]);
    },
    download: toRemote,
    edit: nothing,
    askDelete: nothing,
    askRename: nothing,
    askNewFolder: nothing,
    askSync: nothing,
    askPermissions: nothing,
    refresh: () => void tree.getState().refresh(),
    up() {
      const { cwd, top } = tree.getState();
      if (cwd !== '' && cwd !== top) void tree.getState().navigate(parentPath(cwd));
    },
  };
}

export function LocalPane() {
  const stores = useStores();
  const { t } = useTranslation('panes');
  const tree = stores.localTree;
  const pane = useMemo<Pane>(() => ({ tree, source: stores.sources.local, actions: localActions(stores) }), [stores, tree]);
  const treeRef = useRef<HTMLDivElement>(null);
  const [dropTarget, setDropTarget] = useState<string | null>(null);

  useEffect(() => {
    if (tree.getState().cwd !== '') return;
    void stores.api.call('local:home').then((r) => {
      if (r.ok) tree.getState().reset(r.value.home, r.value.home, r.value.top);
      else tree.getState().notify(t('local.couldNotList', { path: '~' }), r.error);
    });
  }, [stores, tree, t]);

  useEffect(() => {
    // Downloads that finish here show up: list the folders shown again, at most twice a second.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = new Set<string>();
    return stores.transfers.subscribe((s) => {
      const { cwd } = tree.getState();
      if (cwd === '') return;
      let landed = false;
      for (const id of s.order) {
        const v = s.byId.get(id);
        if (!v || v.direction !== 'download' || v.state !== 'done' || seen.has(id)) continue;
        seen.add(id);
        if (v.localPath.startsWith(`${cwd}/`)) landed = true;
      }
      if (landed && timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          void tree.getState().refresh();
        }, 500);
      }
    });
  }, [stores, tree]);

  const targetOf = (e: DragEvent): string => {
    const el = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-path]') : null;
    return el?.dataset.dir === '1' && el.dataset.path ? el.dataset.path : tree.getState().cwd;
  };
  const remoteRows = (e: DragEvent): boolean => e.dataTransfer.types.includes(TREE_DRAG_TYPE) && currentSession(stores.session.getState()) !== null;

  return (
    <PaneContext.Provider value={pane}>
      <section
        className={`file-pane local-pane${dropTarget !== null && dropTarget === tree.getState().cwd ? ' is-drop-target' : ''}`}
        aria-label={t('local.pane')}
        data-pane="local"
        onDragOver={(e) => {
          if (!remoteRows(e) || tree.getState().cwd === '') return;
          e.preventDefault();
          e.dataTransfer.dropEffect = 'copy';
          const target = targetOf(e);
          if (target !== dropTarget) setDropTarget(target);
        }}
        onDragLeave={(e) => {
          if (!(e.relatedTarget instanceof Node) || !e.currentTarget.contains(e.relatedTarget)) setDropTarget(null);
        }}
        onDrop={(e) => {
          setDropTarget(null);
          if (!remoteRows(e)) return;
          e.preventDefault();
          void downloadInto(stores, draggedPaths(e.dataTransfer, TREE_DRAG_TYPE), targetOf(e));
        }}
      >
        <LocalToolbar />
        <div className="location-bar">
          <PathBar emptyText={t('local.loading')} />
          <FilterField />
        </div>
        <LocalNotice />
        <ColumnHeaders />
        <div className="tree-wrap">
          <TreeView treeRef={treeRef} dropTarget={dropTarget} onDragPaths={(paths) => paths === null && setDropTarget(null)} onMenu={() => undefined} label={t('local.pane')} />
          <LocalEmptyState />
          {dropTarget !== null && dropTarget === tree.getState().cwd && (
            <div className="drop-hint" aria-hidden="true">
              <Icon name="download" /> {t('drop.downloadHint', { folder: displayPath(dropTarget, tree.getState().home) })}
            </div>
          )}
        </div>
      </section>
    </PaneContext.Provider>
  );
}

function LocalToolbar() {
  const { t } = useTranslation('panes');
  const stores = useStores();
  const tree = stores.localTree;
  const cwd = useTree((s) => s.cwd);
  const top = useTree((s) => s.top);
  const selected = useTree((s) => s.selection.selected.size);
  const connected = useSession((s) => currentSession(s) !== null);
  const actions = useMemo(() => localActions(stores), [stores]);
  const browser = stores.api.platform === 'browser';
  return (
    <div className="toolbar" role="toolbar" aria-label={t('local.toolbar')}>
      <Icon name="computer" className="pane-icon" />
      <button type="button" className="tool" onClick={actions.up} disabled={cwd === '' || cwd === top} aria-label={t('local.up')} title={t('local.up')}>
        <Icon name="up" />
      </button>
      <button type="button" className="tool" onClick={actions.refresh} disabled={cwd === ''} aria-label={t('local.refresh')} title={t('local.refresh')}>
        <Icon name="refresh" />
      </button>
      <span className="tool-sep" />
      <button
        type="button"
        className="tool"
        disabled={!connected || selected === 0}
        title={t('local.uploadTitle', { folder: displayPath(stores.tree.getState().cwd, stores.tree.getState().home) })}
        onClick={() => actions.download(tree.getState().selectedPaths())}
      >
        <Icon name="upload" />
        {t('local.upload')}
      </button>
      {browser && <span className="muted pane-note">{t('local.hostFolder')}</span>}
    </div>
  );
}

function LocalNotice() {
  const { t } = useTranslation('panes');
  const { localTree } = useStores();
  const notice = useTree((s) => s.notice);
  if (!notice) return null;
  return (
    <div className="notices">
      <div className="notice error" role="alert">
        <div className="notice-text selectable">
          <strong>{notice.text}.</strong> {formatError(notice.error)}
        </div>
        <button type="button" className="icon-button subtle" aria-label={t('local.dismiss')} onClick={() => localTree.getState().dismissNotice()}>
          <Icon name="close" />
        </button>
      </div>
    </div>
  );
}

function LocalEmptyState() {
  const { t } = useTranslation('panes');
  const cwd = useTree((s) => s.cwd);
  const folder = useTree((s) => s.folders.get(s.cwd));
  const count = useTree((s) => s.rows.length);
  const filter = useTree((s) => s.filter);
  if (count > 0 || !folder) return null;
  let body;
  if (folder.status === 'loading' && folder.entries === null) body = <p className="muted">{t('local.loading')}</p>;
  else if (folder.status === 'error')
    body = (
      <p className="form-error selectable" role="alert">
        {t('local.couldNotList', { path: cwd })} {formatError(folder.error)}
      </p>
    );
  else if (filter.trim() !== '') body = <p className="muted">{t('local.noMatch', { filter: filter.trim() })}</p>;
  else
    body = (
      <>
        <p className="empty-title">{t('local.empty')}</p>
        <p className="muted">{t('local.emptyHint')}</p>
      </>
    );
  return <div className="empty-overlay">{body}</div>;
}
