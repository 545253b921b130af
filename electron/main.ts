/**
 * The desktop app's main process: one sandboxed window per app instance showing the
 * built renderer (dist/renderer), the engine behind it through IPC (ipc-main.ts), a native
 * menu, and the usual hardening: context isolation, sandbox, no Node in the page, a strict
 * CSP, no navigation, no new windows, no permissions beyond writing to the clipboard.
 */
import { app, BrowserWindow, Menu, session, type MenuItemConstructorOptions } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createBackend } from './engine/backend.js';
import { defaultConfigDir } from './engine/known-hosts.js';
import { FerryIpc } from './ipc-main.js';
import { safeStorageSecretStore } from './safe-storage.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/electron
const INDEX_HTML = path.join(here, '..', 'renderer', 'index.html');
const PRELOAD = path.join(here, 'preload.cjs');
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

const log = (line: string): void => {
  if (!app.isPackaged) process.stderr.write(`ferry: ${line}\n`);
};

let mainWindow: BrowserWindow | null = null;
let ipc: FerryIpc | undefined;

function harden(): void {
  // Every renderer is sandboxed, whatever a window's options say.
  app.enableSandbox();
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (e) => e.preventDefault());
    contents.on('will-redirect', (e) => e.preventDefault());
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    title: 'Ferry',
    show: false,
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
  ipc!.attach(window);
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    if (mainWindow === window) mainWindow = null;
  });
  void window.loadFile(INDEX_HTML);
  return window;
}

function menu(): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' } as const] : []),
    { label: '&File', submenu: [isMac ? { role: 'close' } : { role: 'quit' }] },
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
    { role: 'help', submenu: [{ role: 'about' }] },
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

  void app.whenReady().then(() => {
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_contents, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
    ses.setPermissionCheckHandler((_contents, permission) => permission === 'clipboard-sanitized-write');
    ses.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });

    const secretStore = safeStorageSecretStore();
    const configDir = defaultConfigDir();
    const downloadDir = path.join(app.getPath('downloads'), 'Ferry');
    ipc = new FerryIpc({ indexUrl: INDEX_URL, createBackend: () => createBackend({ configDir, downloadDir, secretStore, log }), log });
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
    // Close sessions cleanly (transfers cancelled, partials kept for a resume) before leaving.
    event.preventDefault();
    quitting = true;
    void Promise.race([ipc.dispose(), new Promise((r) => setTimeout(r, 3000))]).finally(() => app.quit());
  });
}
