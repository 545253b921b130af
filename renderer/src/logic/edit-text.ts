/** How an edited file's state and its save rows read in the UI. The engine decides them; this only words them. */
import type { EditState, SaveRow } from '../../../shared/common/edit-model.js';
import { i18n } from '../i18n/i18n.js';
import { CHECK_LABEL, formatBytes, formatError } from './format.js';

/** The editor's status line and the file's row in Edited files. */
export function editStateText(state: EditState): string {
  switch (state.kind) {
    case 'opening':
      return i18n.t('edit:state.opening');
    case 'saved':
      return i18n.t('edit:state.saved');
    case 'saving':
      return i18n.t('edit:state.saving');
    case 'waiting':
      return i18n.t('edit:state.waiting');
    case 'failed':
      return i18n.t('edit:state.failed', { error: formatError(state.error) });
    case 'conflict':
      return state.theirs === null
        ? i18n.t('edit:state.deleted')
        : i18n.t('edit:state.changed', { size: formatBytes(state.theirs.size) });
  }
}

/** One save's row: "Saved · SHA-256 verified", "Saving…", "Failed: EQUOTA: …". */
export function saveRowText(row: SaveRow): string {
  const outcome = row.outcome;
  switch (outcome.kind) {
    case 'saving':
      return i18n.t('edit:row.saving');
    case 'waiting':
      return i18n.t('edit:row.waiting');
    case 'saved':
      return i18n.t('edit:row.saved', { check: CHECK_LABEL[outcome.check] });
    case 'failed':
      return i18n.t('edit:row.failed', { error: formatError(outcome.error) });
    case 'conflict':
      return i18n.t('edit:row.conflict');

  }
}
