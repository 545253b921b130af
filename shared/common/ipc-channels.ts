/**
 * The desktop app's IPC channels besides the calls (each call travels on a channel named
 * after it, from CALLS in contract.ts): defined once for the main process
 * (electron/main/ipc-main.ts) and the preload (electron/preload/preload.ts).
 */

/** Main → page: every event of the contract, as (name, payload). The preload fans them out. */
export const EVENT_CHANNEL = 'ferry:event';
/** Page → main, sent (not invoked) from a dragstart: drag these finished downloads out to the OS. */
export const DRAG_OUT_CHANNEL = 'ferry:drag-out';
/** Page → main, invoked: the SFTP key-file picker (a native open dialog); answers a path or null. */
export const PICK_KEY_FILE_CHANNEL = 'ferry:pick-key-file';
