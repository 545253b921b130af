/**
 * The one state of an edited file (EditState, shared/common/edit-model.ts) and every
 * transition it may take, in one place. Pure: edited-file.ts feeds it events and does
 * what the answer says (start a save or not).
 */
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { EditState, TheirVersion } from '../../../shared/common/edit-model.js';

export type EditEvent =
  /** The download is in the working folder: nothing to save yet. */
  | { readonly kind: 'opened' }
  /** The working copy now differs from what the server holds (an editor saved it). */
  | { readonly kind: 'changed' }
  /** The session to the file's server is usable again. */
  | { readonly kind: 'online' }
  /** A save could not reach the server (no session, or the connection dropped). */
  | { readonly kind: 'offline' }
  /** A save is on the server (or there was nothing to send). */
  | { readonly kind: 'saved' }
  | { readonly kind: 'failed'; readonly error: ErrorInfo }
  /** The server's file is not the one that was opened: nothing was replaced. */
  | { readonly kind: 'conflict'; readonly theirs: TheirVersion | null }
  /** "Download theirs to compare" fetched their file: still a conflict. */
  | { readonly kind: 'compared'; readonly theirsCopy: string }
  /** The person answered a conflict with overwrite or copy, or asked to retry a failed save. */
  | { readonly kind: 'retry' };

export interface Step {
  readonly state: EditState;
  /** Start a save of the working copy as it is now. */
  readonly save: boolean;
}

const stay = (state: EditState): Step => ({ state, save: false });
const save = (): Step => ({ state: { kind: 'saving', again: false }, save: true });

/** What `event` does to an edited file in `state`. */
export function transition(state: EditState, event: EditEvent): Step {
  switch (state.kind) {
    case 'opening':
      return event.kind === 'opened' ? stay({ kind: 'saved' }) : stay(state);
    case 'saved':
      // A change while connected is sent at once; offline it waits for the connection.
      return event.kind === 'changed' ? save() : stay(state);
    case 'saving':
      switch (event.kind) {
        case 'changed':
          return stay({ kind: 'saving', again: true });
        case 'saved':
          // Changed while this save ran: send the newer content too.
          return state.again ? save() : stay({ kind: 'saved' });
        case 'offline':
          return stay({ kind: 'waiting' });
        case 'failed':
          return stay({ kind: 'failed', error: event.error });
        case 'conflict':
          return stay({ kind: 'conflict', theirs: event.theirs });
        default:
          return stay(state);
      }
    case 'waiting':
      return event.kind === 'online' ? save() : stay(state);
    case 'failed':
      // A new save of the editor's, or the person's retry, sends the working copy again.
      return event.kind === 'changed' || event.kind === 'retry' ? save() : stay(state);
    case 'conflict':
      // Only the person's answer ends a conflict; later saves wait for it.
      if (event.kind === 'retry') return save();
      if (event.kind === 'compared') return stay({ ...state, theirsCopy: event.theirsCopy });
      return stay(state);
  }
}
