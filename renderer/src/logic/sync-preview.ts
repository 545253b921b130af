/**
 * The sync preview's table, as pure functions: which lines are shown, which are ticked
 * at first (every change; never a conflict or an unchanged file), and the one-line
 * summary of what a run would do with the lines that are ticked.
 */
import type { SyncAction, SyncActionKind, SyncPlan } from '../../../shared/common/sync-model.js';
import { i18n } from '../i18n/i18n.js';
import { formatBytes } from './format.js';

/** How each kind reads in the table (a delete says on which side). */
export function actionLabel(a: SyncAction): string {
  switch (a.kind) {
    case 'upload':
      return i18n.t('sync:action.upload');
    case 'download':
      return i18n.t('sync:action.download');
    case 'mkdir':
      return a.side === 'remote' ? i18n.t('sync:action.mkdirRemote') : i18n.t('sync:action.mkdirLocal');
    case 'delete':
      return a.side === 'remote' ? i18n.t('sync:action.deleteRemote') : i18n.t('sync:action.deleteLocal');
    case 'conflict':
      return i18n.t('sync:action.conflict');
    case 'same':
      return i18n.t('sync:action.same');
    case 'keep':
      return a.side === 'remote' ? i18n.t('sync:action.keepRemote') : i18n.t('sync:action.keepLocal');
  }
}

const CHANGES: ReadonlySet<SyncActionKind> = new Set(['upload', 'download', 'mkdir', 'delete']);

/** A line that can be ticked: it would change something. */
export function isChange(a: SyncAction): boolean {
  return CHANGES.has(a.kind);
}

/** Ticked when the preview opens: every change. */
export function defaultSelection(plan: SyncPlan): Set<number> {
  return new Set(plan.actions.filter(isChange).map((a) => a.id));
}

/** The lines shown: everything but unchanged files, unless asked (a big tree is mostly "same"). */
export function shownActions(plan: SyncPlan, showSame: boolean): SyncAction[] {
  return showSame ? [...plan.actions] : plan.actions.filter((a) => a.kind !== 'same');
}

export function countKinds(plan: SyncPlan): Record<SyncActionKind, number> {
  const counts: Record<SyncActionKind, number> = { upload: 0, download: 0, mkdir: 0, delete: 0, conflict: 0, same: 0, keep: 0 };
  for (const a of plan.actions) counts[a.kind]++;
  return counts;
}

/** "3 uploads (2.1 MiB), 1 deletion on the server" for the ticked lines, or that nothing is ticked. */
export function selectionSummary(plan: SyncPlan, selected: ReadonlySet<number>): string {
  let up = 0;
  let down = 0;
  let upBytes = 0;
  let downBytes = 0;
  let folders = 0;
  let deletes = 0;
  for (const a of plan.actions) {
    if (!selected.has(a.id)) continue;
    if (a.kind === 'upload') (up++, (upBytes += a.local?.size ?? 0));
    else if (a.kind === 'download') (down++, (downBytes += a.remote?.size ?? 0));
    else if (a.kind === 'mkdir') folders++;
    else if (a.kind === 'delete') deletes++;
  }
  const parts: string[] = [];
  if (up > 0) parts.push(i18n.t('sync:summary.upload', { count: up, size: formatBytes(upBytes) }));
  if (down > 0) parts.push(i18n.t('sync:summary.download', { count: down, size: formatBytes(downBytes) }));
  if (folders > 0) parts.push(i18n.t('sync:summary.mkdir', { count: folders }));
  if (deletes > 0) parts.push(i18n.t('sync:summary.delete', { count: deletes }));
  return parts.length > 0 ? parts.join(i18n.t('sync:summary.separator')) : i18n.t('sync:summary.nothing');
}

/** How the plan compared files, said plainly. */
export function compareText(plan: SyncPlan): string {
  if (plan.compare === 'xxh128') return i18n.t('checks:sync.xxh128');
  return plan.compare === 'sha256' ? i18n.t('sync:compare.sha256') : i18n.t('sync:compare.size');

}
