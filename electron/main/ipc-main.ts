/**
 * The main process's end of the UI contract: one handler per call of CALLS (a generic
 * wrapper; the arguments are validated by the backend, because the renderer is untrusted),
 * one backend per tab of a window (tab-backends.ts routes by the tab id each call and
 * event carries), and each backend's events sent to its tab. Only our own page may call:
 * the sending frame must be the top frame showing our index.html.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { BrowserWindow, dialog, ipcMain, nativeImage, type IpcMainEvent, type IpcMainInvokeEvent, type OpenDialogOptions, type WebContents } from 'electron';
import { z } from 'zod';
import { CALLS, type CallName, type Result } from '../../shared/common/contract.js';
import { DRAG_OUT_CHANNEL, EVENT_CHANNEL, PICK_KEY_FILE_CHANNEL, TAB_CLOSE_CHANNEL } from '../../shared/common/ipc-channels.js';
import type { Backend } from '../../engine/app/backend.js';
import type { EditView } from '../../shared/common/edit-model.js';
import { TabBackends } from './tab-backends.js';

const DragOutIds = z.array(z.string().max(64)).min(1).max(1000);

export interface IpcOptions {
  /** file:// URL of our index.html: the only page allowed to call. */
  readonly indexUrl: string;
  /** A backend for a new tab. */
  readonly createBackend: () => Backend;
  readonly log?: (line: string) => void;
  /** The picture under the pointer while files are dragged out (a PNG). */
  readonly dragIcon: string;
}

export class FerryIpc {
  private readonly backends: TabBackends<Backend>;
  /** Our windows' web contents by id (events go to them). */
  private readonly contents = new Map<number, WebContents>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: IpcOptions) {
    this.log = options.log ?? (() => undefined);
    this.backends = new TabBackends({
      create: options.createBackend,
      send: (windowId, tabId, name, payload) => {
        const contents = this.contents.get(windowId);
        if (contents && !contents.isDestroyed()) contents.send(EVENT_CHANNEL, tabId, name, payload);
      },
    });
    for (const name of Object.keys(CALLS) as CallName[]) {
      ipcMain.handle(name, (event, tabId: unknown, ...args: unknown[]) => this.handle(name, event, tabId, args));
    }
    ipcMain.on(TAB_CLOSE_CHANNEL, (event, tabId: unknown) => {
      if (this.trusted(event)) void this.backends.closeTab(event.sender.id, tabId);
    });
    ipcMain.on(DRAG_OUT_CHANNEL, (event, tabId: unknown, ids: unknown) => void this.dragOut(event, tabId, ids));
    ipcMain.handle(PICK_KEY_FILE_CHANNEL, (event) => this.pickKeyFile(event));
  }

  /**
   * The SFTP key-file picker: the system's open dialog over the window, in ~/.ssh. The path
   * goes back to the page, which sends it with a connect (checked again there): the page
   * learns only what the person chose.
   */
  private async pickKeyFile(event: IpcMainInvokeEvent): Promise<string | null> {
    if (!this.trusted(event)) {
      this.log(`refused a key-file picker from ${event.senderFrame?.url ?? 'an unknown frame'}`);
      return null;
    }
    const options: OpenDialogOptions = {
      title: 'Choose a private key',
      buttonLabel: 'Use this key',
      defaultPath: path.join(homedir(), '.ssh'),
      properties: ['openFile', 'showHiddenFiles', 'dontAddToRecent'],
    };
    const window = BrowserWindow.fromWebContents(event.sender);
    const picked = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
    return picked.canceled ? null : (picked.filePaths[0] ?? null);
  }

  /**
   * A native drag of local files must start while the DOM drag starts, from the main
   * process (webContents.startDrag). Only files the window's backend downloaded qualify:
   * Electron cannot drag a file that does not exist yet, so remote files are dragged out
   * once downloaded, and the renderer can never name an arbitrary path.
   */
  private async dragOut(event: IpcMainEvent, tabId: unknown, ids: unknown): Promise<void> {
    if (!this.trusted(event)) return this.log(`refused a drag from ${event.senderFrame?.url ?? 'an unknown frame'}`);
    const parsed = DragOutIds.safeParse(ids);
    const backend = this.backends.existing(event.sender.id, tabId);
    if (!parsed.success || !backend) return;
    const files = await backend.downloadedFiles(parsed.data);
    if (files.length === 0 || event.sender.isDestroyed()) return;
    event.sender.startDrag({ file: files[0]!, files, icon: nativeImage.createFromPath(this.options.dragIcon) });
  }

  /** A window may have tabs, each made on its first call; they all end with the window. */
  attach(window: BrowserWindow): void {
    const contents = window.webContents;
    const id = contents.id;
    this.contents.set(id, contents);
    this.backends.openWindow(id);
    contents.once('destroyed', () => {
      this.contents.delete(id);
      void this.backends.closeWindow(id);
    });
  }

  /** Edited files of every tab of every window with a save not on the server yet (quitting asks first). */
  unsavedEdits(): EditView[] {
    return this.backends.unsavedEdits();
  }

  async dispose(): Promise<void> {
    for (const name of Object.keys(CALLS)) ipcMain.removeHandler(name);
    ipcMain.removeAllListeners(DRAG_OUT_CHANNEL);
    ipcMain.removeAllListeners(TAB_CLOSE_CHANNEL);
    ipcMain.removeHandler(PICK_KEY_FILE_CHANNEL);
    this.contents.clear();
    await this.backends.dispose();
  }

  private async handle(name: CallName, event: IpcMainInvokeEvent, tabId: unknown, args: unknown[]): Promise<Result<unknown>> {
    if (!this.trusted(event)) {
      this.log(`refused ${name} from ${event.senderFrame?.url ?? 'an unknown frame'}`);
      return { ok: false, error: { code: 'EPERM', message: 'Only the Ferry window may use the engine.' } };
    }
    return this.backends.call(event.sender.id, tabId, name, args);
  }

  private trusted(event: IpcMainInvokeEvent | IpcMainEvent): boolean {
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    try {
      const url = new URL(frame.url);
      url.hash = '';
      url.search = '';
      return url.href === this.options.indexUrl;
    } catch {
      return false;
    }
  }
}
