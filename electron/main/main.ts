/**
 * The desktop app's main process: one sandboxed window per app instance showing the
 * built renderer (dist/renderer), the engine behind it through IPC (ipc-main.ts), native
 * menus, and the usual hardening: context isolation, sandbox, no Node in the page, a strict
 * CSP, no navigation, no new windows (web links go to the system browser), no permissions
 * beyond writing to the clipboard.
 *
 * It also runs the local server (engine/app/local-server/local-server.ts): the app's own ferryd on
 * 127.0.0.1, listed as the "Local server" profile, started with the app and stopped when
 * it quits (its files stay in the data folder). The window remembers its size and place;
 * logs go to the app's log folder (Help → Open Logs Folder).
 */
import { app, BrowserWindow, dialog, Menu, session, shell, type MenuItemConstructorOptions } from 'electron';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openAppLog, type AppLog } from './app-log.js';
import { openableLink } from '../../shared/common/links.js';
import { createBackend } from '../../engine/app/backend.js';
import { createAppStores } from '../../engine/app/app-stores.js';
import { defaultConfigDir } from '../../engine/app/stores/known-hosts.js';
import { LocalServer, defaultDataDir } from '../../engine/app/local-server/local-server.js';
import { FerryIpc } from './ipc-main.js';
import { openInSystemApp } from './open-file.js';
import { safeStorageSecretStore } from './safe-storage.js';
import { loadWindowState, trackWindowState } from './window-state.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/electron/main
const INDEX_HTML = path.join(here, '..', '..', 'renderer', 'index.html');
const PRELOAD = path.join(here, '..', 'preload.cjs');
const INDEX_URL = pathToFileURL(INDEX_HTML).href;

/** Also in renderer/index.html as a meta tag (headers may not reach file:// pages). */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

let appLog: AppLog | undefined;
const log = (line: string): void => {
  if (appLog) appLog.write(line);
  else if (!app.isPackaged) process.stderr.write(`ferry: ${line}\n`);
};

let mainWindow: BrowserWindow | null = null;
let ipc: FerryIpc | undefined;
let localServer: LocalServer | undefined;

/** The app's own files (package.json's folder); its icons are next to it. */
function appFile(...parts: string[]): string {
  return path.join(app.getAppPath(), ...parts);
}

function harden(): void {
  // Every renderer is sandboxed, whatever a window's options say.
  app.enableSandbox();
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (e) => e.preventDefault());
    contents.on('will-redirect', (e) => e.preventDefault());
    contents.on('will-attach-webview', (e) => e.preventDefault());
    // No new windows. A web link Ctrl+clicked in the console (console-pane.tsx) opens in
    // the system browser, checked again here: http(s) only, never file: or an app's scheme.
    contents.setWindowOpenHandler(({ url }) => {
      const link = openableLink(url);
      if (link !== null) void shell.openExternal(link);
      return { action: 'deny' };
    });
  });
}

function createWindow(): BrowserWindow {
  const stateDir = app.getPath('userData');
  const saved = loadWindowState(stateDir);
  const icon = appFile('icons', 'png', '512x512.png');
  const window = new BrowserWindow({
    ...(saved.x !== undefined && saved.y !== undefined ? { x: saved.x, y: saved.y } : {}),
    width: saved.width,
    height: saved.height,
    minWidth: 720,
    minHeight: 480,
    title: 'Ferry',
    show: false,
    ...(process.platform === 'linux' && existsSync(icon) ? { icon } : {}),
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  });
  if (saved.maximized) window.maximize();
  trackWindowState(window, stateDir, log);
  ipc!.attach(window);
  window.once('ready-to-show', () => window.show());
  // Closing the window ends its session: edits the server does not have yet ask first
  // (again for each new window, whatever an earlier one was told).
  leavingUnsaved = false;
  window.on('close', (event) => {
    if (!mayLeaveUnsavedEdits(window)) event.preventDefault();
  });
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  window.webContents.on('render-process-gone', (_event, details) => log(`the window's renderer stopped: ${details.reason}`));
  void window.loadFile(INDEX_HTML);
  return window;
}

function versions(): string {
  return `Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node ${process.versions.node}`;
}

async function showAbout(): Promise<void> {
  const local = localServer?.describe();
  const options = {
    type: 'info' as const,
    title: 'About Ferry',
    message: `Ferry ${app.getVersion()}`,
    detail: [
      'Fast, safe file transfer: the Ferry desktop client for ferryd servers.',
      '',
      versions(),
      local?.port ? `Local server: ${local.user}@127.0.0.1:${local.port}` : 'Local server: not running',
      `Logs: ${appLog?.file ?? app.getPath('logs')}`,
    ].join('\n'),
    buttons: ['OK'],
  };
  if (mainWindow) await dialog.showMessageBox(mainWindow, options);
  else await dialog.showMessageBox(options);
}

/** Set once the person agreed to leave unsaved edits behind (a close, then the quit it causes, ask once). */
let leavingUnsaved = false;

/**
 * Edited files whose save is not on the server yet (waiting for the connection, failed,
 * in conflict), in any tab: ask before the window or the app goes. Their working copies
 * are kept. (Closing one tab asks in the page, tabs-root.tsx.)
 */
function mayLeaveUnsavedEdits(window: BrowserWindow | null): boolean {
  const pending = ipc?.unsavedEdits() ?? [];
  if (pending.length === 0 || leavingUnsaved) return true;
  const names = pending.slice(0, 5).map((e) => `• ${e.name} (${e.target})`);
  const options = {
    type: 'warning' as const,
    title: 'Unsaved edits',
    message: `${pending.length === 1 ? 'An edited file is' : `${pending.length} edited files are`} not saved to the server yet.`,
    detail: [...names, ...(pending.length > 5 ? ['…'] : []), '', 'If you quit now, the working copies are kept on this computer, but the server does not get these saves.'].join('\n'),
    buttons: ['Keep Ferry open', 'Quit anyway'],
    defaultId: 0,
    cancelId: 0,
  };
  const choice = window && !window.isDestroyed() ? dialog.showMessageBoxSync(window, options) : dialog.showMessageBoxSync(options);
  leavingUnsaved = choice === 1;
  return leavingUnsaved;
}

function openFolder(folder: string): void {
  void shell.openPath(folder).then((error) => {
    if (error) log(`could not open ${folder}: ${error}`);
  });
}

function menu(): Menu {
  const isMac = process.platform === 'darwin';
  const localFiles = (): string | undefined => {
    const user = localServer?.describe().user;
    return localServer && user ? path.join(localServer.root, 'homes', user) : undefined;
  };
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' } as const] : []),
    {
      label: '&File',
      submenu: [
        {
          label: 'Open Local Server Folder',
          click: () => {
            const folder = localFiles();
            if (folder) openFolder(folder);
          },
        },
        { type: 'separator' },
        // Ctrl+W and Ctrl+T belong to the page's tabs (renderer/src/components/tabs-root.tsx).
        { role: 'close', label: 'Close Window', accelerator: 'CmdOrCtrl+Shift+W' },
        ...(isMac ? [] : ([{ role: 'quit', accelerator: 'CmdOrCtrl+Q' }] as const)),
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : ([{ role: 'toggleDevTools' }] as const)),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Open Logs Folder', click: () => openFolder(path.dirname(appLog?.file ?? app.getPath('logs'))) },
        ...(isMac ? [] : ([{ type: 'separator' }, { label: 'About Ferry', click: () => void showAbout() }] as const)),
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  harden();
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  process.on('uncaughtException', (err) => log(`uncaught exception: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));

  void app.whenReady().then(() => {
    appLog = openAppLog(app.getPath('logs'), !app.isPackaged);
    log(`Ferry ${app.getVersion()} starting (${versions()})`);
    app.setAboutPanelOptions({
      applicationName: 'Ferry',
      applicationVersion: app.getVersion(),
      version: versions(),
      iconPath: appFile('icons', 'png', '256x256.png'),
    });

    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_contents, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
    ses.setPermissionCheckHandler((_contents, permission) => permission === 'clipboard-sanitized-write');
    ses.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });

    const secretStore = safeStorageSecretStore();
    const configDir = defaultConfigDir();
    const downloadDir = path.join(app.getPath('downloads'), 'Ferry');
    localServer = new LocalServer({ dataDir: defaultDataDir(), configDir, log });
    // Started now, so it is up by the time the window asks for it.
    localServer.start().catch(() => undefined);
    const local = localServer;
    // One set of stores for every window (app-stores.ts).
    const appStores = createAppStores({ configDir, downloadDir, log });
    ipc = new FerryIpc({
      indexUrl: INDEX_URL,
      createBackend: () => createBackend({ configDir, downloadDir, app: appStores, secretStore, log, localServer: local, openFile: openInSystemApp }),
      log,
      dragIcon: appFile('icons', 'png', '32x32.png'),
    });
    Menu.setApplicationMenu(menu());
    mainWindow = createWindow();

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting || !ipc) return;
    if (!mayLeaveUnsavedEdits(mainWindow)) {
      event.preventDefault();
      return;
    }
    // Close sessions cleanly (the queue saved for the next start, then its transfers
    // stopped with their partials kept for the resume), then stop
    // the local server, before leaving.
    event.preventDefault();
    quitting = true;
    const bounded = <T,>(work: Promise<T> | undefined, ms: number): Promise<unknown> =>
      Promise.race([work ?? Promise.resolve(), new Promise((r) => setTimeout(r, ms))]);
    void (async () => {
      await bounded(ipc.dispose(), 3000);
      await bounded(localServer?.stop(), 7000);
      log('Ferry stopped');
      await appLog?.close();
    })().finally(() => app.quit());
  });
}
