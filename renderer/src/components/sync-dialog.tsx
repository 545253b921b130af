/**
 * Sync a local folder with a remote one: choose the folders, the direction and whether
 * extras are deleted, preview the plan (every action with its reason; untick what should
 * not happen), then run it: its copies join the transfer queue like any other.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { SyncAction, SyncDirection, SyncOutcome, SyncPlan } from '../../../shared/common/sync-model.js';
import { formatBytes, formatError } from '../logic/format.js';
import { actionLabel, compareText, countKinds, defaultSelection, isChange, selectionSummary, shownActions } from '../logic/sync-preview.js';
import { useSession, useStores } from '../state/stores-context.js';
import type { DialogState } from '../state/ui-store.js';
import { Modal } from './modal.js';

type Phase =
  | { readonly kind: 'form' }
  | { readonly kind: 'planning' }
  | { readonly kind: 'preview'; readonly plan: SyncPlan }
  | { readonly kind: 'running'; readonly plan: SyncPlan }
  | { readonly kind: 'finished'; readonly plan: SyncPlan; readonly outcome: SyncOutcome };

const DIRECTIONS: readonly SyncDirection[] = ['up', 'down', 'both'];

export function SyncDialog({ dialog }: { readonly dialog: Extract<DialogState, { kind: 'sync' }> }) {
  const { api, ui } = useStores();
  const { t } = useTranslation(['sync', 'common']);
  const settings = useSession((s) => s.settings);
  const [localRoot, setLocalRoot] = useState(settings?.downloadDir ?? '');
  const [remoteRoot, setRemoteRoot] = useState(dialog.remoteRoot);
  const [direction, setDirection] = useState<SyncDirection>('up');
  const [deleteExtras, setDeleteExtras] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [problem, setProblem] = useState<ErrorInfo | string | null>(null);
  const close = () => {
    if (phase.kind === 'preview') void api.call('sync:cancel', phase.plan.id);
    ui.getState().closeDialog();
  };

  const preview = async (e: FormEvent) => {
    e.preventDefault();
    if (localRoot.trim() === '') return setProblem(t('enterLocal'));
    setProblem(null);
    setPhase({ kind: 'planning' });
    const r = await api.call('sync:plan', { localRoot: localRoot.trim(), remoteRoot: remoteRoot.trim() || '/', direction, deleteExtras });
    if (!r.ok) {
      setProblem(r.error);
      return setPhase({ kind: 'form' });
    }
    setSelected(defaultSelection(r.value));
    setPhase({ kind: 'preview', plan: r.value });
  };

  const run = async (plan: SyncPlan) => {
    setPhase({ kind: 'running', plan });
    const r = await api.call('sync:run', plan.id, [...selected]);
    if (!r.ok) {
      setProblem(r.error);
      return setPhase({ kind: 'form' });
    }
    setPhase({ kind: 'finished', plan, outcome: r.value });
  };

  const error = problem === null ? null : typeof problem === 'string' ? problem : formatError(problem);
  return (
    <Modal title={t('title')} onCancel={close} className="sync-dialog">
      {phase.kind === 'form' || phase.kind === 'planning' ? (
        <form onSubmit={(e) => void preview(e)} noValidate>
          <div className="field">
            <label htmlFor="sync-local">{t('local')}</label>
            <input id="sync-local" data-autofocus value={localRoot} spellCheck={false} onChange={(e) => setLocalRoot(e.target.value)} aria-describedby="sync-local-help" />
            <p id="sync-local-help" className="muted small">
              {api.platform === 'browser' ? t('localHelpBrowser') : t('localHelp')}
            </p>
          </div>
          <div className="field">
            <label htmlFor="sync-remote">{t('remote')}</label>
            <input id="sync-remote" value={remoteRoot} spellCheck={false} onChange={(e) => setRemoteRoot(e.target.value)} />
          </div>
          <fieldset className="field sync-directions">
            <legend>{t('direction.legend')}</legend>
            {DIRECTIONS.map((d) => (
              <label key={d} className="check">
                <input type="radio" name="sync-direction" value={d} checked={direction === d} onChange={() => setDirection(d)} />
                <span>
                  <strong>{t(`direction.${d}`)}</strong> <span className="muted small">{t(`direction.${d}Help`)}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <label className="check">
            <input type="checkbox" checked={deleteExtras} onChange={(e) => setDeleteExtras(e.target.checked)} />
            <span>{t('deleteExtras')}</span>
          </label>
          {error && (
            <p className="form-error selectable" role="alert">
              {error}
            </p>
          )}
          <div className="button-row end">
            <button type="button" className="button" onClick={close}>
              {t('common:button.cancel')}
            </button>
            <button type="submit" className="button primary" disabled={phase.kind === 'planning'}>
              {phase.kind === 'planning' ? t('comparing') : t('preview')}
            </button>
          </div>
        </form>
      ) : (
        <PlanView
          plan={phase.plan}
          selected={selected}
          setSelected={setSelected}
          state={phase.kind}
          outcome={phase.kind === 'finished' ? phase.outcome : null}
          onBack={() => {
            void api.call('sync:cancel', phase.plan.id);
            setPhase({ kind: 'form' });
          }}
          onRun={() => void run(phase.plan)}
          onStop={() => void api.call('sync:cancel', phase.plan.id)}
          onClose={() => ui.getState().closeDialog()}
        />
      )}
    </Modal>
  );
}

interface PlanViewProps {
  readonly plan: SyncPlan;
  readonly selected: Set<number>;
  readonly setSelected: (s: Set<number>) => void;
  readonly state: 'preview' | 'running' | 'finished';
  readonly outcome: SyncOutcome | null;
  readonly onBack: () => void;
  readonly onRun: () => void;
  readonly onStop: () => void;
  readonly onClose: () => void;
}

const ROW_HEIGHT = 30;

function PlanView({ plan, selected, setSelected, state, outcome, onBack, onRun, onStop, onClose }: PlanViewProps) {
  const { t } = useTranslation(['sync', 'common']);
  const [showSame, setShowSame] = useState(false);
  const rows = useMemo(() => shownActions(plan, showSame), [plan, showSame]);
  const counts = useMemo(() => countKinds(plan), [plan]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const editable = state === 'preview';
  const toggle = (a: SyncAction) => {
    const next = new Set(selected);
    if (next.has(a.id)) next.delete(a.id);
    else next.add(a.id);
    setSelected(next);
  };
  const changes = plan.actions.filter(isChange);
  const allTicked = changes.length > 0 && changes.every((a) => selected.has(a.id));
  return (
    <div className="sync-plan">
      <p className="sync-roots selectable">
        <strong>{t(`direction.${plan.direction}`)}</strong>: {plan.localRoot} ⇄ {plan.remoteRoot}
        {plan.deleteExtras && t('deletingExtras')}
      </p>
      <p className="muted small" data-testid="sync-compare">
        {compareText(plan)}
        {plan.direction === 'both' && !plan.hasBase && t('firstSync')}
      </p>
      <div className="sync-toolbar">
        <label className="check">
          <input
            type="checkbox"
            aria-label={t('tickAll')}
            checked={allTicked}
            disabled={!editable || changes.length === 0}
            onChange={() => setSelected(allTicked ? new Set() : defaultSelection(plan))}
          />
          <span>
            {t('counts', {
              changes: t('change', { count: counts.upload + counts.download + counts.mkdir + counts.delete }),
              conflicts: t('conflict', { count: counts.conflict }),
              same: counts.same,
            })}
          </span>
        </label>
        <label className="check">
          <input type="checkbox" checked={showSame} onChange={(e) => setShowSame(e.target.checked)} />
          <span>{t('showSame')}</span>
        </label>
      </div>
      <div ref={scrollRef} className="sync-table" role="table" aria-label={t('table')} aria-rowcount={rows.length}>
        {rows.length === 0 ? (
          <p className="muted empty-state">{t('alike')}</p>
        ) : (
          <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((item) => {
              const a = rows[item.index]!;
              const size = a.kind === 'download' ? a.remote?.size : a.local?.size ?? a.remote?.size;
              return (
                <div
                  key={a.id}
                  role="row"
                  aria-rowindex={item.index + 1}
                  className={`sync-row sync-${a.kind}`}
                  style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                >
                  <span role="cell" className="sync-tick">
                    {isChange(a) && (
                      <input type="checkbox" aria-label={`${actionLabel(a)} ${a.path}`} checked={selected.has(a.id)} disabled={!editable} onChange={() => toggle(a)} />
                    )}
                  </span>
                  <span role="cell" className="sync-kind">
                    {actionLabel(a)}
                  </span>
                  <span role="cell" className="sync-path selectable" title={a.path}>
                    {a.path}
                  </span>
                  <span role="cell" className="sync-size muted">
                    {size !== undefined && (a.local?.type ?? a.remote?.type) === 'file' ? formatBytes(size) : ''}
                  </span>
                  <span role="cell" className="sync-reason muted" title={a.reason}>
                    {a.reason}
                  </span>
                </div>
              );
            })}
          </div>
        )}
      </div>
      {outcome ? (
        <p className="sync-result" role="status">
          {outcome.failed.length === 0
            ? t('done', { count: outcome.done })
            : t('doneFailed', {
                done: outcome.done,
                failed: outcome.failed.length,
                list: `${outcome.failed
                  .slice(0, 3)
                  .map((f) => `${f.path} (${f.code})`)
                  .join(', ')}${outcome.failed.length > 3 ? '…' : ''}`,
              })}
          {counts.conflict > 0 && t('conflictsLeft', { count: counts.conflict })}
        </p>
      ) : (
        <p className="muted small" role="status">
          {state === 'running' ? t('running') : selectionSummary(plan, selected)}
        </p>
      )}
      <div className="button-row end">
        {state === 'preview' && (
          <>
            <button type="button" className="button" onClick={onBack}>
              {t('back')}
            </button>
            <button type="button" className="button primary" disabled={selected.size === 0} onClick={onRun}>
              {t('sync')}
            </button>
          </>
        )}
        {state === 'running' && (
          <button type="button" className="button" onClick={onStop}>
            {t('stop')}
          </button>
        )}
        {state === 'finished' && (
          <button type="button" className="button primary" onClick={onClose}>
            {t('common:button.close')}
          </button>

        )}
      </div>
    </div>
  );
}
