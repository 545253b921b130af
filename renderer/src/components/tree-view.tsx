/**
 * The remote tree: one focusable role="tree" whose rows (role="treeitem", named by the
 * file name) are virtualized, so a folder of 100,000 entries opens and scrolls smoothly.
 * The keyboard focus is a row tracked with aria-activedescendant, so it survives rows
 * being recycled by the virtualizer.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useId, type DragEvent, type KeyboardEvent, type MouseEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { TREE_DRAG_TYPE } from '../drop.js';
import { fileActions } from '../file-actions.js';
import { formatBytes, formatDate, formatFullDate } from '../logic/format.js';
import type { Row } from '../logic/tree-rows.js';
import { LOCAL_DRAG_TYPE } from '../pane-transfers.js';
import { usePane, useTree } from '../state/stores-context.js';
import { Icon } from './icons.js';
import { PermissionsCell } from './permissions-column.js';

export const ROW_HEIGHT = 28;

export interface TreeViewProps {
  readonly treeRef: RefObject<HTMLDivElement | null>;
  /** Folder (or the current folder) a drag is over, highlighted. */
  readonly dropTarget: string | null;
  /** Paths being dragged inside the tree (set on drag start). */
  readonly onDragPaths: (paths: readonly string[] | null) => void;
  readonly onMenu: (x: number, y: number) => void;
  readonly label: string;
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

export function TreeView({ treeRef, dropTarget, onDragPaths, onMenu, label }: TreeViewProps) {
  // The pane around it (remote or local) decides the tree and what keys and buttons do.
  const { tree, source, actions } = usePane();
  const rows = useTree((s) => s.rows);
  const selection = useTree((s) => s.selection);
  const expanded = useTree((s) => s.expanded);
  const folders = useTree((s) => s.folders);
  const idPrefix = useId();

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => treeRef.current,
    estimateSize: () => ROW_HEIGHT,
    // Small folders are drawn whole (cheap, and every row is reachable); big ones by window.
    overscan: rows.length <= 400 ? rows.length : 16,
    getItemKey: (i) => rows[i]?.path ?? i,
  });

  const focusIndex = selection.focus === null ? -1 : (tree.getState().rowIndex.get(selection.focus) ?? -1);
  useEffect(() => {
    if (focusIndex >= 0) virtualizer.scrollToIndex(focusIndex, { align: 'auto' });
  }, [focusIndex, virtualizer]);

  const rowAt = (target: EventTarget | null): Row | undefined => {
    const el = target instanceof Element ? target.closest<HTMLElement>('[data-index]') : null;
    return el ? rows[Number(el.dataset.index)] : undefined;
  };
  const mods = (e: { ctrlKey: boolean; metaKey: boolean; shiftKey: boolean }) => ({
    toggle: isMac ? e.metaKey : e.ctrlKey,
    range: e.shiftKey,
  });
  const focusedRow = (): Row | undefined => (focusIndex >= 0 ? rows[focusIndex] : undefined);
  const targets = (): string[] => {
    const selected = tree.getState().selectedPaths();
    const focused = focusedRow();
    return selected.length > 0 ? selected : focused ? [focused.path] : [];
  };
  const menuAtFocus = () => {
    const row = focusedRow();
    const el = row ? treeRef.current?.querySelector<HTMLElement>(`[data-index="${focusIndex}"]`) : null;
    if (row && !tree.getState().selection.selected.has(row.path)) tree.getState().selectOnly(row.path);
    const box = (el ?? treeRef.current)?.getBoundingClientRect();
    if (box) onMenu(box.left + 24, box.top + (el ? box.height : 8));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const s = tree.getState();
    const row = focusedRow();
    const page = Math.max(1, Math.floor((treeRef.current?.clientHeight ?? 300) / ROW_HEIGHT) - 1);
    const m = mods(e);
    const handled = (): void => {
      e.preventDefault();
      e.stopPropagation();
    };
    switch (e.key) {
      case 'ArrowDown':
        if (e.altKey) return;
        handled();
        return s.moveFocus('down', m, page);
      case 'ArrowUp':
        handled();
        if (e.altKey) return actions.up();
        return s.moveFocus('up', m, page);
      case 'Home':
        handled();
        return s.moveFocus('home', m, page);
      case 'End':
        handled();
        return s.moveFocus('end', m, page);
      case 'PageDown':
        handled();
        return s.moveFocus('pagedown', m, page);
      case 'PageUp':
        handled();
        return s.moveFocus('pageup', m, page);
      case 'ArrowRight': {
        if (!row) return;
        handled();
        if (!row.isDir) return;
        if (!s.expanded.has(row.path)) return s.expand(row.path);
        const child = rows[focusIndex + 1];
        if (child && child.parent === row.path) s.selectOnly(child.path);
        return;
      }
      case 'ArrowLeft': {
        if (!row) return;
        handled();
        if (row.isDir && s.expanded.has(row.path)) return s.collapse(row.path);
        if (row.depth > 0) s.selectOnly(row.parent);
        return;
      }
      case 'Enter':
        if (!row) return;
        handled();
        // Alt+Enter: the entry's properties, as in file managers (here its permissions).
        if (e.altKey) return actions.askPermissions(targets());
        return actions.open(row.path);
      case ' ':
        if (!row) return;
        handled();
        return m.toggle ? s.click(row.path, { toggle: true, range: false }) : s.click(row.path, { toggle: false, range: m.range });
      case 'Delete':
        handled();
        return actions.askDelete(targets());
      case 'Backspace':
        handled();
        if (isMac && e.metaKey) return actions.askDelete(targets());
        return actions.up();
      case 'F2':
        if (!row) return;
        handled();
        return actions.askRename(row.path);
      case 'F4':
        if (!row || row.isDir) return;
        handled();
        return actions.edit(row.path);
      case 'F5':
        handled();
        return actions.refresh();
      case 'ContextMenu':
        handled();
        return menuAtFocus();
      case 'F10':
        if (!e.shiftKey) return;
        handled();
        return menuAtFocus();
      case 'a':
      case 'A':
        if (!(isMac ? e.metaKey : e.ctrlKey)) return;
        handled();
        return s.selectAll();
      case 'Escape':
        if (s.selection.selected.size === 0) return;
        handled();
        return s.clearSelection();
      default:
        return;
    }
  };

  const onClick = (e: MouseEvent<HTMLDivElement>) => {
    const row = rowAt(e.target);
    if (!row) return;
    if (e.target instanceof Element && e.target.closest('[data-chevron]')) {
      tree.getState().toggle(row.path);
      tree.getState().setFocus(row.path);
      return;
    }
    tree.getState().click(row.path, mods(e));
  };

  const onContextMenu = (e: MouseEvent<HTMLDivElement>) => {
    e.preventDefault();
    const row = rowAt(e.target);
    const s = tree.getState();
    if (row && !s.selection.selected.has(row.path)) s.selectOnly(row.path);
    if (!row) s.clearSelection();
    onMenu(e.clientX, e.clientY);
  };

  const onDragStart = (e: DragEvent<HTMLDivElement>) => {
    const row = rowAt(e.target);
    if (!row) return;
    const s = tree.getState();
    if (!s.selection.selected.has(row.path)) s.selectOnly(row.path);
    const paths = tree.getState().selectedPaths();
    // Remote rows are moved within their tree or downloaded onto the local one; local rows uploaded.
    e.dataTransfer.setData(source.side === 'local' ? LOCAL_DRAG_TYPE : TREE_DRAG_TYPE, JSON.stringify(paths));
    e.dataTransfer.setData('text/plain', paths.join('\n'));
    e.dataTransfer.effectAllowed = source.side === 'local' ? 'copy' : 'copyMove';
    onDragPaths(paths);
  };

  const activeId = focusIndex >= 0 ? `${idPrefix}-${focusIndex}` : undefined;
  return (
    <div
      ref={treeRef}
      className="tree"
      role="tree"
      aria-label={label}
      aria-multiselectable="true"
      aria-activedescendant={activeId}
      tabIndex={0}
      onKeyDown={onKeyDown}
      onClick={onClick}
      onDoubleClick={(e) => {
        const row = rowAt(e.target);
        if (row && !(e.target instanceof Element && e.target.closest('[data-chevron]'))) actions.open(row.path);
      }}
      onContextMenu={onContextMenu}
      onDragStart={onDragStart}
      onDragEnd={() => onDragPaths(null)}
      onFocus={(e) => {
        if (e.target !== e.currentTarget) return;
        const s = tree.getState();
        if (s.selection.focus === null && s.rows.length > 0) s.setFocus(s.selectedPaths()[0] ?? s.rows[0]!.path);
      }}
    >
      <div className="tree-canvas" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index]!;
          const folder = row.isDir ? folders.get(row.path) : undefined;
          return (
            <TreeRow
              key={item.key}
              id={`${idPrefix}-${item.index}`}
              index={item.index}
              start={item.start}
              row={row}
              selected={selection.selected.has(row.path)}
              focused={item.index === focusIndex}
              expanded={row.isDir ? expanded.has(row.path) : undefined}
              loading={folder?.status === 'loading' && expanded.has(row.path)}
              failed={folder?.status === 'error'}
              dropTarget={dropTarget === row.path}
            />
          );
        })}
      </div>
    </div>
  );
}

interface TreeRowProps {
  readonly id: string;
  readonly index: number;
  readonly start: number;
  readonly row: Row;
  readonly selected: boolean;
  readonly focused: boolean;
  readonly expanded: boolean | undefined;
  readonly loading: boolean;
  readonly failed: boolean;
  readonly dropTarget: boolean;
}

const TreeRow = memo(function TreeRow({ id, index, start, row, selected, focused, expanded, loading, failed, dropTarget }: TreeRowProps) {
  const { entry } = row;
  // Rows are memoized: the hook re-renders them when the language changes.
  const { t } = useTranslation('tree');
  const className = [
    'tree-row',
    selected && 'is-selected',
    focused && 'is-focused',
    dropTarget && 'is-drop-target',
    row.isDir && 'is-dir',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      id={id}
      role="treeitem"
      aria-label={row.name}
      aria-level={row.depth + 1}
      aria-posinset={row.pos}
      aria-setsize={row.setSize}
      aria-selected={selected}
      aria-expanded={expanded}
      aria-busy={loading || undefined}
      data-index={index}
      data-path={row.path}
      data-dir={row.isDir ? '1' : undefined}
      className={className}
      draggable
      style={{ transform: `translateY(${start}px)` }}
    >
      <span className="cell-name" style={{ paddingInlineStart: 6 + row.depth * 18 }}>
        {row.isDir ? (
          <span className={`chevron${expanded ? ' is-open' : ''}${loading ? ' is-loading' : ''}`} data-chevron aria-hidden="true">
            <Icon name="chevron" />
          </span>
        ) : (
          <span className="chevron-space" aria-hidden="true" />
        )}
        <Icon name={row.isDir ? 'folder' : entry.type === 'symlink' ? 'link' : 'file'} className={row.isDir ? 'folder-icon' : 'file-icon'} />
        <span className="name">{row.name}</span>
        {failed && (
          <span className="row-warning" title={t('notListed')}>
            <Icon name="warning" />
          </span>
        )}
      </span>
      <span className="cell-size">{row.isDir ? '' : formatBytes(entry.size)}</span>
      <span className="cell-mtime" title={entry.mtime > 0 ? formatFullDate(entry.mtime) : undefined}>

        {formatDate(entry.mtime)}
      </span>
      <PermissionsCell entry={entry} />
    </div>
  );
});
