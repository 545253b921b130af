/** How an edited file's state and its save rows read in the UI. The engine decides them; this only words them. */
import type { EditState, SaveRow } from '../../../shared/common/edit-model.js';
import { CHECK_LABEL, formatBytes, formatError } from './format.js';

/** The editor's status line and the file's row in Edited files. */
export function editStateText(state: EditState): string {
  switch (state.kind) {
    case 'opening':
      return 'Opening…';
    case 'saved':
      return 'Saved';
    case 'saving':
      return 'Saving…';
    case 'waiting':
      return 'Waiting for the connection: the save is sent when it is back';
    case 'failed':
      return `Not saved: ${formatError(state.error)}`;
    case 'conflict':
      return state.theirs === null
        ? 'Conflict: the file was deleted on the server since you opened it'
        : `Conflict: the file changed on the server since you opened it (now ${formatBytes(state.theirs.size)})`;
  }
}

/** One save's row: "Saved · SHA-256 verified", "Saving…", "Failed: EQUOTA: …". */
export function saveRowText(row: SaveRow): string {
  const outcome = row.outcome;
  switch (outcome.kind) {
    case 'saving':
      return 'Saving…';
    case 'waiting':
      return 'Waiting for the connection';
    case 'saved':
      return `Saved · ${CHECK_LABEL[outcome.check]}`;
    case 'failed':
      return `Failed: ${formatError(outcome.error)}`;
    case 'conflict':
      return 'Not saved: changed on the server';
  }
}
