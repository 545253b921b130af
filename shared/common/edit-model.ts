/**
 * Edit in place as the front ends see it: one edited remote file (EditView), its state
 * and a row per save. The engine (engine/app/edit/) owns every transition; the UI only
 * shows these values and sends intents (edit:open, edit:write, edit:resolve, …).
 */
import type { ErrorInfo } from './errors.js';
import type { TransferCheck } from './transfer-model.js';

declare const editIdBrand: unique symbol;
export type EditId = string & { readonly [editIdBrand]: true };

/** The built-in editor opens text files (UTF-8, no NUL byte) up to this size; bigger ones go to a system app. */
export const EDIT_TEXT_MAX = 5 * 1024 * 1024;

/** Where an edited file opens: the built-in text editor, the system's app for its type, or one the person picks. */
export const EDIT_OPENERS = ['builtin', 'system', 'choose'] as const;
export type EditOpener = (typeof EDIT_OPENERS)[number];

/** The three answers to a conflict (the server's file changed since it was opened). */
export const EDIT_CHOICES = ['overwrite', 'copy', 'compare'] as const;
export type EditChoice = (typeof EDIT_CHOICES)[number];

/** What the server's file is now, when it is not the one that was opened (null: it was deleted). */
export interface TheirVersion {
  readonly size: number;
  readonly mtime: number;
}

/**
 * The one state of an edited file. Its transitions are in engine/app/edit/edit-state.ts.
 *   opening   downloading the file into the working folder
 *   saved     the working copy is what the server holds
 *   saving    a save is being uploaded (`again`: the file changed meanwhile, save once more)
 *   waiting   a save waits for the connection; it is sent when the connection returns
 *   failed    the last save failed (`error` says why); the working copy is kept, retry sends it
 *   conflict  the server's file changed since it was opened: nothing was replaced; the person chooses
 */
export type EditState =
  | { readonly kind: 'opening' }
  | { readonly kind: 'saved' }
  | { readonly kind: 'saving'; readonly again: boolean }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'failed'; readonly error: ErrorInfo }
  | {
      readonly kind: 'conflict';
      readonly theirs: TheirVersion | null;
      /** Set once "download theirs to compare" fetched the server's file (a local path). */
      readonly theirsCopy?: string;
    };

/** How one save ended (or where it is). */
export type SaveOutcome =
  | { readonly kind: 'saving' }
  | { readonly kind: 'waiting' }
  /** Committed whole and checked: by XXH3-128 or SHA-256 on both ends, or (SFTP without a hash) by size. */
  | { readonly kind: 'saved'; readonly check: TransferCheck; readonly path: string }
  | { readonly kind: 'failed'; readonly error: ErrorInfo }
  | { readonly kind: 'conflict' };

/** One row per save, newest last. */
export interface SaveRow {
  readonly id: number;
  /** When the save started (ms since the epoch). */
  readonly at: number;
  readonly size: number;
  readonly outcome: SaveOutcome;
}

export interface EditView {
  readonly id: EditId;
  /** The remote file saves go to (after "save as a copy", the copy). */
  readonly remotePath: string;
  readonly name: string;
  /** The server it belongs to, as user@host:port: saves wait for a session to it. */
  readonly target: string;
  readonly opener: EditOpener;
  /** The working copy, in the private working folder (docs/SECURITY.md). */
  readonly localPath: string;
  readonly state: EditState;
  readonly saves: readonly SaveRow[];
}

/** States in which the working copy holds something the server does not have yet. */
export function unsaved(view: Pick<EditView, 'state'>): boolean {
  return view.state.kind !== 'saved' && view.state.kind !== 'opening';
}
