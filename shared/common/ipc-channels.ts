/**
 * The desktop app's IPC channels besides the calls (each call travels on a channel named
 * after it, from CALLS in contract.ts, with its tab's id before its arguments): defined
 * once for the main process (electron/main/ipc-main.ts) and the preload
 * (electron/preload/preload.ts).
 */

/** Main → page: every event of the contract, as (tabId, name, payload). The preload fans them out to that tab's listeners. */
export const EVENT_CHANNEL = 'ferry:event';
/** Page → main, sent: (tabId) this tab closed; its backend ends and the id is never used again. */
export const TAB_CLOSE_CHANNEL = 'ferry:tab-close';
/** Page → main, sent (not invoked) from a dragstart: (tabId, ids) drag these finished downloads of that tab out to the OS. */
export const DRAG_OUT_CHANNEL = 'ferry:drag-out';
/** Page → main, invoked: the SFTP key-file picker (a native open dialog); answers a path or null. */
export const PICK_KEY_FILE_CHANNEL = 'ferry:pick-key-file';
