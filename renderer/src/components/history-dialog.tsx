/**
 * The transfer history: every file that finished (this app's and the CLI's), newest first,
 * searchable by name, path or server, in a virtualised table; exported as CSV or JSON (the
 * engine writes the text, the page saves it as a file). Opened by its button in the
 * transfers pane, which this file also holds.
 */
import { PROTOCOL_NAME } from './status-bar.js';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { HistoryExportFormat, TransferLogEntry } from '../../../shared/common/transfer-log.js';
import { formatBytes, formatDate, formatError, formatSpeed } from '../logic/format.js';
import { useStores } from '../state/stores-context.js';
import { Modal } from './modal.js';
import './history.css';

/** The most the table shows (the engine keeps 10,000). */
const LIMIT = 10_000;
const ROW_HEIGHT = 30;
const SEARCH_DELAY_MS = 200;

export function HistoryButton() {
  const { t } = useTranslation('history');
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="button small" onClick={() => setOpen(true)}>
        {t('dialog.open')}
      </button>
      {open && <HistoryDialog onClose={() => setOpen(false)} />}
    </>
  );
}

export function HistoryDialog({ onClose }: { readonly onClose: () => void }) {
  const { t } = useTranslation('history');
  const { api } = useStores();
  const [search, setSearch] = useState('');
  const [entries, setEntries] = useState<readonly TransferLogEntry[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    const timer = setTimeout(
      () =>
        void api.call('transfers:history', { search: search.trim() || undefined, limit: LIMIT }).then((r) => {
          if (!current) return;
          if (r.ok) {
            setEntries(r.value);
            setProblem(null);
          } else setProblem(formatError(r.error));
        }),
      entries === null ? 0 : SEARCH_DELAY_MS,
    );
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // `entries` only decides the first delay.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, search]);

  const save = async (format: HistoryExportFormat) => {
    setStatus(null);
    const r = await api.call('transfers:exportHistory', format, search.trim() || undefined);
    if (!r.ok) return setProblem(formatError(r.error));
    const file = `ferry-history.${format}`;
    saveText(r.value, file, format === 'csv' ? 'text/csv' : 'application/json');
    setStatus(t('dialog.exported', { file }));
  };

  return (
    <Modal title={t('dialog.title')} onCancel={onClose} className="history-dialog">
      <div className="history-toolbar">
        <input
          type="search"
          className="history-search"
          aria-label={t('dialog.search')}
          placeholder={t('dialog.searchPlaceholder')}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          data-autofocus
        />
        <span className="muted small" aria-live="polite">
          {entries !== null && t('dialog.count', { count: entries.length })}
        </span>
      </div>
      <HistoryTable entries={entries ?? []} empty={entries === null ? '' : search.trim() ? t('dialog.noMatch', { search: search.trim() }) : t('dialog.empty')} />
      {problem && (
        <p className="form-error selectable" role="alert">
          {problem}
        </p>
      )}
      <div className="button-row history-actions">
        <span className="muted small history-status" role="status">
          {status}
        </span>
        <button type="button" className="button" disabled={!entries?.length} onClick={() => void save('csv')}>
          {t('dialog.exportCsv')}
        </button>
        <button type="button" className="button" disabled={!entries?.length} onClick={() => void save('json')}>
          {t('dialog.exportJson')}
        </button>
        <button type="button" className="button primary" onClick={onClose}>
          {t('dialog.close')}
        </button>
      </div>
    </Modal>
  );
}

function HistoryTable({ entries, empty }: { readonly entries: readonly TransferLogEntry[]; readonly empty: string }) {
  const { t } = useTranslation('history');
  const { t: tc } = useTranslation('checks');
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: entries.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const columns = ['when', 'direction', 'name', 'server', 'size', 'time', 'speed', 'check'] as const;
  return (
    <div ref={scrollRef} className="history-table" role="table" aria-label={t('dialog.table')} aria-rowcount={entries.length + 1}>
      <div role="rowgroup" className="history-head">
        <div role="row" aria-rowindex={1} className="history-row">
          {columns.map((c) => (
            <span key={c} role="columnheader" className={`history-${c}`}>
              {t(`dialog.${c}`)}
            </span>
          ))}
        </div>
      </div>
      {entries.length === 0 ? (
        <p className="muted empty-state">{empty}</p>
      ) : (
        <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const e = entries[item.index]!;
            const up = e.direction === 'upload';
            const name = e.remotePath.slice(e.remotePath.lastIndexOf('/') + 1) || e.remotePath;
            return (
              <div
                key={item.key}
                role="row"
                aria-rowindex={item.index + 2}
                className="history-row history-body-row"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                <span role="cell" className="history-when" title={new Date(e.finishedAt).toLocaleString()}>
                  {formatDate(e.finishedAt)}
                </span>
                <span role="cell" className={`history-direction ${up ? 'up' : 'down'}`}>
                  {up ? t('dialog.upload') : t('dialog.download')}
                </span>
                <span role="cell" className="history-name selectable" title={up ? `${e.localPath} → ${e.remotePath}` : `${e.remotePath} → ${e.localPath}`}>
                  {name}
                </span>
                <span role="cell" className="history-server muted selectable" title={`${PROTOCOL_NAME[e.protocol]} · ${e.server}`}>
                  {e.server}
                </span>
                <span role="cell" className="history-size">
                  {formatBytes(e.size)}
                </span>
                <span role="cell" className="history-time muted">
                  {t('dialog.seconds', { value: (e.durationMs / 1000).toFixed(1) })}
                </span>
                <span role="cell" className="history-speed muted">
                  {formatSpeed(e.speed)}
                </span>
                <span role="cell" className="history-check">
                  {e.xxh128 ? (
                    <code className="selectable history-hash" title={tc('history.xxh128Title', { hash: e.xxh128 })}>
                      {tc('history.xxh128')} {e.xxh128.slice(0, 8)}…
                    </code>
                  ) : e.sha256 ? (
                    <code className="selectable history-hash" title={t('dialog.hashTitle', { hash: e.sha256 })}>
                      {t('dialog.sha256')} {e.sha256.slice(0, 8)}…
                    </code>
                  ) : (
                    <span className="muted" title={t('dialog.sizeTitle')}>
                      {t('dialog.sizeOnly')}
                    </span>
                  )}
                </span>
              </div>
            );
          })}
        </div>
      )}
    </div>
  );
}

/** Save text as a file the way a page can: a Blob behind a download link (Electron does the same). */
function saveText(text: string, file: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
