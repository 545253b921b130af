/**
 * Search by name through the remote tree: the toolbar's Search… button (and Ctrl+Shift+F
 * or F3), and the panel it opens above the tree: a pattern, Search and Stop, the results
 * as the engine finds them (virtualized, so ten thousand stay smooth) and a status line.
 * Enter or a double-click on a result opens its folder in the tree with it selected.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { SEARCH_VISITED_MAX, type SearchHit } from '../../../shared/common/search-model.js';
import { currentLocale } from '../i18n/i18n.js';
import { formatBytes, formatError } from '../logic/format.js';
import { displayPath, parentPath } from '../logic/remote-path.js';
import { currentSession } from '../state/session-store.js';
import type { SearchPhase } from '../state/search-store.js';
import { useSearch, useSession, useStores, useTree } from '../state/stores-context.js';
import { Icon } from './icons.js';

const RESULT_HEIGHT = 26;
/** The pattern field, focused whenever the panel is opened (by the button or a key). */
const PATTERN_ID = 'search-pattern';

const focusPattern = (): void => {
  requestAnimationFrame(() => {
    const input = document.getElementById(PATTERN_ID) as HTMLInputElement | null;
    input?.focus();
    input?.select();
  });
};

/** The toolbar button; it also owns the keys that open the panel anywhere in the window. */
export function SearchButton() {
  const { t } = useTranslation('search');
  const { search, tree } = useStores();
  const connected = useSession((s) => currentSession(s) !== null);
  const open = (): void => {
    search.getState().openPanel(tree.getState().cwd);
    focusPattern();
  };
  useEffect(() => {
    if (!connected) return;
    const onKey = (e: globalThis.KeyboardEvent): void => {
      const ctrl = e.ctrlKey || e.metaKey;
      if (e.key === 'F3' || (ctrl && e.shiftKey && e.key.toLowerCase() === 'f')) {
        e.preventDefault();
        open();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [connected, search, tree]);
  return (
    <button type="button" className="tool" onClick={open} disabled={!connected} title={t('buttonTitle')} aria-keyshortcuts="Control+Shift+F F3">
      <Icon name="search" />
      {t('button')}
    </button>
  );
}

export function SearchPanel() {
  const { t } = useTranslation('search');
  const { search, tree } = useStores();
  const open = useSearch((s) => s.open);
  const connected = useSession((s) => currentSession(s) !== null);
  const folder = useSearch((s) => s.folder);
  const pattern = useSearch((s) => s.pattern);
  const caseSensitive = useSearch((s) => s.caseSensitive);
  const phase = useSearch((s) => s.phase);
  const hits = useSearch((s) => s.hits);
  const refusal = useSearch((s) => s.refusal);
  const home = useTree((s) => s.home);
  const listRef = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState(-1);
  const idPrefix = useId();
  const running = phase.kind === 'running' || phase.kind === 'starting';

  const virtualizer = useVirtualizer({
    count: hits.length,
    getScrollElement: () => listRef.current,
    estimateSize: () => RESULT_HEIGHT,
    overscan: 12,
  });
  useEffect(() => {
    if (active >= 0 && active < hits.length) virtualizer.scrollToIndex(active, { align: 'auto' });
  }, [active, hits.length, virtualizer]);
  // A new search starts with no result chosen.
  useEffect(() => {
    if (hits.length === 0) setActive(-1);
  }, [hits.length]);

  if (!open || !connected) return null;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void search.getState().start();
  };

  /** Open the result's folder in the tree, with the result selected, and hand the keyboard to the tree. */
  const openHit = async (hit: SearchHit): Promise<void> => {
    const s = tree.getState();
    if (!(await s.navigate(parentPath(hit.path)))) return;
    tree.getState().selectOnly(hit.path);
    document.querySelector<HTMLElement>('.remote-pane [role="tree"]')?.focus();
  };

  const onListKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const last = hits.length - 1;
    const page = Math.max(1, Math.floor((listRef.current?.clientHeight ?? 200) / RESULT_HEIGHT) - 1);
    const move = (to: number): void => {
      e.preventDefault();
      setActive(Math.max(0, Math.min(last, to)));
    };
    switch (e.key) {
      case 'ArrowDown':
        return move(active + 1);
      case 'ArrowUp':
        return move(active - 1);
      case 'PageDown':
        return move(active + page);
      case 'PageUp':
        return move(active - page);
      case 'Home':
        return move(0);
      case 'End':
        return move(last);
      case 'Enter': {
        const hit = hits[active];
        if (!hit) return;
        e.preventDefault();
        void openHit(hit);
        return;
      }
      case 'Escape':
        e.preventDefault();
        search.getState().close();
        return;
    }
  };

  const relative = (path: string): string => {
    const rel = folder === '/' ? path.slice(1) : path.slice(folder.length + 1);
    return rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
  };
  const activeId = active >= 0 && active < hits.length ? `${idPrefix}-r${active}` : undefined;

  return (
    <section className="search-panel" aria-label={t('panel')}>
      <form className="search-form" onSubmit={submit} role="search">
        <label htmlFor={PATTERN_ID} className="search-label">
          {t('pattern')}
        </label>
        <input
          id={PATTERN_ID}
          type="search"
          value={pattern}
          placeholder={t('placeholder')}
          aria-describedby={`${idPrefix}-where`}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => search.getState().setPattern(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.preventDefault();
              e.stopPropagation();
              search.getState().close();
            } else if (e.key === 'ArrowDown' && hits.length > 0) {
              e.preventDefault();
              setActive(Math.max(0, active));
              listRef.current?.focus();
            }
          }}
        />
        <label className="search-check">
          <input type="checkbox" checked={caseSensitive} onChange={(e) => search.getState().setCaseSensitive(e.target.checked)} />
          {t('caseSensitive')}
        </label>
        <button type="submit" className="button primary small" disabled={pattern.trim() === ''}>
          {t('start')}
        </button>
        <button type="button" className="button small" disabled={!running} onClick={() => search.getState().stop()}>
          {t('stop')}
        </button>
        <span className="search-where muted" id={`${idPrefix}-where`} title={folder}>
          {t('where', { folder: displayPath(folder, home) })}
        </span>
        <button type="button" className="icon-button subtle" aria-label={t('close')} title={t('close')} onClick={() => search.getState().close()}>
          <Icon name="close" />
        </button>
      </form>
      <div
        ref={listRef}
        className="search-results"
        role="listbox"
        aria-label={t('results')}
        tabIndex={0}
        aria-activedescendant={activeId}
        onKeyDown={onListKey}
        onFocus={() => {
          if (active < 0 && hits.length > 0) setActive(0);
        }}
      >
        {hits.length === 0 ? (
          <p className="search-empty muted">{phase.kind === 'ended' && phase.end.kind === 'done' ? t('nothing') : t('help')}</p>
        ) : (
          <div className="search-canvas" style={{ height: virtualizer.getTotalSize() }}>
            {virtualizer.getVirtualItems().map((item) => {
              const hit = hits[item.index]!;
              const where = relative(hit.path);
              const kind = hit.entry.type === 'dir' || hit.entry.type === 'symlink' ? t(`kind.${hit.entry.type}`) : '';
              return (
                <div
                  key={item.key}
                  id={`${idPrefix}-r${item.index}`}
                  role="option"
                  aria-selected={item.index === active}
                  className={`search-row${item.index === active ? ' is-active' : ''}`}
                  style={{ transform: `translateY(${item.start}px)`, height: RESULT_HEIGHT }}
                  title={hit.path}
                  onClick={() => setActive(item.index)}
                  onDoubleClick={() => void openHit(hit)}
                >
                  <span className="search-name">
                    <Icon name={hit.entry.type === 'dir' ? 'folder' : hit.entry.type === 'symlink' ? 'link' : 'file'} className={hit.entry.type === 'dir' ? 'icon-folder' : undefined} />
                    <span className="search-name-text">{hit.entry.name}</span>
                  </span>
                  <span className="search-in muted">{where === '' ? '.' : where}</span>
                  <span className="search-size muted">{hit.entry.type === 'file' ? formatBytes(hit.entry.size) : kind}</span>
                </div>
              );
            })}
          </div>
        )}
      </div>
      <div className="search-status" role="status">
        {refusal ? <span className="form-error">{t('failed', { error: formatError(refusal) })}</span> : <StatusText phase={phase} count={hits.length} />}
      </div>
    </section>
  );
}

function StatusText({ phase, count }: { readonly phase: SearchPhase; readonly count: number }) {
  const { t } = useTranslation('search');
  const n = (value: number): string => value.toLocaleString(currentLocale());
  if (phase.kind === 'idle') return null;
  const found = t('found', { number: n(count) });
  if (phase.kind !== 'ended') return <>{`${found} · ${t('searching')}`}</>;
  const { end } = phase;
  switch (end.kind) {
    case 'done':
      return <>{`${found} · ${t('done')}`}</>;
    case 'stopped':
      return <>{`${found} · ${t('stopped')}`}</>;
    case 'truncated':
      if (end.bound === 'results') return <>{`${found} · ${t('firstShown', { number: n(count) })}`}</>;
      if (end.bound === 'visited') return <>{`${found} · ${t('visitedBound', { number: n(SEARCH_VISITED_MAX) })}`}</>;
      return <>{`${found} · ${t('timeBound')}`}</>;
    case 'error':
      return <span className="form-error">{t('failed', { error: formatError(end.error) })}</span>;
  }
}
