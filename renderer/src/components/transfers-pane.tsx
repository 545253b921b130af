/**
 * Transfers: one row per file with its own progress bar, bytes, speed, ETA and state, as
 * the engine reports them. Rows subscribe to their own transfer, so a progress batch
 * re-renders only the rows it changed; the list is virtualized for long queues.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useRef } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { TransferId, TransferView } from '../../../shared/common/transfer-model.js';
import { CHECK_LABEL, STATE_LABEL, formatBytes, formatEta, formatSpeed, percent, verifyingLabel } from '../logic/format.js';
import { shownSession } from '../state/session-store.js';
import { StoresContext, useSession, useStores, useTransfers } from '../state/stores-context.js';
import { useQueueIntents, useQueueRows, useQueueTotals } from '../state/tabs-context.js';
import { EditedFiles } from './edited-files.js';
import { HistoryButton } from './history-dialog.js';
import { RestoreBar } from './restore-bar.js';
import { Icon } from './icons.js';
import { TransferWhere } from './transfer-where.js';

export function TransfersPane() {
  return (
    <section className="transfers-pane pane" aria-labelledby="transfers-heading">
      <TransfersHeader />
      <RestoreBar />
      <EditedFiles />
      <TransferList />
      <DownloadFolder />
    </section>
  );
}

function TransfersHeader() {
  const { t } = useTranslation('transfers');
  // Every tab's queue: the totals added up, and the pane-wide buttons act on each tab.
  const totals = useQueueTotals();
  const overall = percent(totals.bytes, totals.size);
  const finished = totals.done + totals.failed + totals.cancelled;
  const s = useQueueIntents();
  return (
    <header className="pane-header transfers-header">
      <div className="pane-title-row">
        <h2 id="transfers-heading" className="pane-title">
          {t('title')}
        </h2>
        <span className="muted small" aria-live="polite">
          {totals.count === 0
            ? t('none')
            : `${t('summary', { done: totals.done, count: totals.count })}${totals.failed ? t('summaryFailed', { count: totals.failed }) : ''}${totals.cancelled ? t('summaryCancelled', { count: totals.cancelled }) : ''}${totals.unfinished ? t('summaryBytes', { bytes: formatBytes(totals.bytes), size: formatBytes(totals.size) }) : ''}`}
        </span>
        {totals.count > 0 && (
        <div
          className="progress overall"
          role="progressbar"
          aria-label={t('overall')}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={overall}
          aria-valuetext={`${overall}%`}
        >
          <div className="progress-fill" style={{ width: `${overall}%` }} />
        </div>
        )}
      </div>
      <div className="pane-actions">
        <button type="button" className="button small" onClick={() => void s.pauseAll()} disabled={totals.queued + totals.active === 0}>
          {t('pauseAll')}
        </button>
        <button type="button" className="button small" onClick={() => void s.resumeAll()} disabled={totals.paused === 0}>
          {t('resumeAll')}
        </button>
        <button type="button" className="button small" onClick={() => void s.cancelAll()} disabled={totals.unfinished === 0}>
          {t('cancelAll')}
        </button>
        <button type="button" className="button small" onClick={() => void s.clearFinished()} disabled={finished === 0}>
          {t('clearFinished')}
        </button>
        <HistoryButton />
      </div>
    </header>
  );
}

function DownloadFolder() {
  const { ui } = useStores();
  const { t } = useTranslation('transfers');
  const downloadDir = useSession((s) => s.settings?.downloadDir ?? null);
  return (
    <footer className="pane-footer small">
      <span id="download-dir-text" className="download-dir muted">
        <Trans<'downloadsGoTo', 'transfers'> t={t} i18nKey="downloadsGoTo" values={{ dir: downloadDir ?? '…' }} components={{ dir: <span className="selectable mono" /> }} />
      </span>
      <button type="button" className="link-button" aria-describedby="download-dir-text" onClick={() => ui.getState().openDialog({ kind: 'settings' })}>
        {t('change')}
      </button>
    </footer>
  );
}

const ROW_ESTIMATE = 56;

function TransferList() {
  const { t } = useTranslation('transfers');
  // Every tab's transfers; each row is drawn with its own tab's stores (its controls use that tab's api).
  const order = useQueueRows();
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: order.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_ESTIMATE,
    overscan: order.length <= 200 ? order.length : 8,
    getItemKey: (i) => order[i]?.key ?? i,
  });
  if (order.length === 0) {
    return (
      <div className="pane-body empty-state small-empty">
        <p className="muted">{t('empty')}</p>
      </div>
    );
  }
  return (
    <div ref={scrollRef} className="pane-body transfer-scroll">
      <div role="list" aria-label={t('list')} className="transfer-list" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => (
          <StoresContext key={item.key} value={order[item.index]!.tab.stores}>
          <TransferRow
            id={order[item.index]!.id}
            index={item.index}
            setSize={order.length}
            start={item.start}
            measure={virtualizer.measureElement}
          />
          </StoresContext>
        ))}
      </div>
    </div>
  );
}

interface RowProps {
  readonly id: TransferId;
  readonly index: number;
  readonly setSize: number;
  readonly start: number;
  readonly measure: (el: Element | null) => void;
}

const TransferRow = memo(function TransferRow({ id, index, setSize, start, measure }: RowProps) {
  const view = useTransfers((s) => s.byId.get(id));
  const { api } = useStores();
  const { t } = useTranslation('transfers');
  if (!view) return null;
  // A finished download is a local file: where the platform can, it drags out to the OS.
  const dragOut = api.dragOut && view.direction === 'download' && view.state === 'done' ? api.dragOut : undefined;
  return (
    <div
      role="listitem"
      aria-posinset={index + 1}
      aria-setsize={setSize}
      ref={measure}
      draggable={dragOut !== undefined}
      onDragStart={
        dragOut &&
        ((e) => {
          e.preventDefault();
          dragOut([view.id]);
        })
      }
      title={dragOut && t('dragOut')}
      data-index={index} className={`transfer state-${view.state}`} style={{ transform: `translateY(${start}px)` }}>
      <TransferBody view={view} />
    </div>
  );
});

function TransferBody({ view }: { readonly view: TransferView }) {
  const { transfers } = useStores();
  const { t } = useTranslation('transfers');
  const s = transfers.getState();
  const pct = percent(view.bytes, view.size, view.state);
  const moving = view.state === 'active';
  // A row being checked says with what: the session's hash, or its size (SFTP without commands).
  const check = useSession((st) => shownSession(st)?.check ?? 'sha256');
  const label = view.state === 'verifying' ? verifyingLabel(check) : STATE_LABEL[view.state];
  return (
    <>
      <div className="transfer-line">
        <span className={`direction ${view.direction}`} title={view.direction === 'upload' ? t('upload') : t('download')}>
          <Icon name={view.direction === 'upload' ? 'upload' : 'download'} />
          <span className="visually-hidden">{view.direction === 'upload' ? t('upload') : t('download')}</span>
        </span>
        <span className="transfer-name" title={t('to', { path: view.direction === 'upload' ? view.remotePath : view.localPath })}>
          {view.name}
        </span>
        <span className={`state-badge state-${view.state}`}>{label}</span>
        <span className="row-actions">
          {(view.state === 'queued' || view.state === 'active') && (
            <button type="button" className="icon-button" aria-label={t('pauseName', { name: view.name })} title={t('pause')} onClick={() => void s.pause(view.id)}>
              <Icon name="pause" />
            </button>
          )}
          {view.state === 'paused' && (
            <button type="button" className="icon-button" aria-label={t('resumeName', { name: view.name })} title={t('resume')} onClick={() => void s.resume(view.id)}>
              <Icon name="play" />
            </button>
          )}
          {(view.state === 'failed' || view.state === 'cancelled') && (
            <button type="button" className="icon-button" aria-label={t('retryName', { name: view.name })} title={t('retry')} onClick={() => void s.retry(view.id)}>
              <Icon name="retry" />
            </button>
          )}
          {(view.state === 'queued' || view.state === 'active' || view.state === 'paused' || view.state === 'verifying') && (
            <button type="button" className="icon-button" aria-label={t('cancelName', { name: view.name })} title={t('cancel')} onClick={() => void s.cancel(view.id)}>
              <Icon name="close" />
            </button>
          )}
        </span>
      </div>
      <div className="transfer-line secondary">
        <div
          className="progress"
          role="progressbar"
          aria-label={t('progress', { name: view.name })}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          aria-valuetext={t('progressText', { percent: pct, state: label })}
        >
          <div className="progress-fill" style={{ width: `${pct}%` }} />
        </div>
        <span className="transfer-bytes">
          {view.state === 'done' ? formatBytes(view.size) : t('bytesOf', { bytes: formatBytes(view.bytes), size: formatBytes(view.size) })}
        </span>
        {moving && <span className="transfer-speed">{formatSpeed(view.speed)}</span>}
        {moving && <span className="transfer-eta">{formatEta(view.eta)}</span>}
        {view.state === 'done' && (view.check === 'sha256' || view.check === 'xxh128') && (
          <span className="verified">
            <Icon name="check" /> {CHECK_LABEL[view.check]}
          </span>
        )}
        {view.state === 'done' && view.check === 'size' && (
          <span className="muted" title={t('sizeOnly')}>
            {CHECK_LABEL.size}
          </span>
        )}
        {view.state === 'skipped' && <span className="muted">{t('alreadyThere')}</span>}
        {view.attempts > 1 && view.state !== 'done' && <span className="muted">{t('attempt', { n: view.attempts })}</span>}

      </div>
      <TransferWhere direction={view.direction} />
      {view.state === 'failed' && view.error && (
        <div className="transfer-error selectable">
          {view.error.code}: {view.error.message}
        </div>
      )}
    </>
  );
}
