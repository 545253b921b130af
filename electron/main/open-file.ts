/**
 * Opening an edited file's working copy in an app of the system's, for edit in place: the
 * engine cannot (it never imports electron), so the backend is given this function. The
 * default app for the file's type is the OS's (shell.openPath); "Edit with…" lets the
 * person pick the app in the system's open dialog, shown here in main, so the page never
 * names a program to run.
 */
import { spawn } from 'node:child_process';
import { BrowserWindow, dialog, shell, type OpenDialogOptions } from 'electron';
import { FerryError } from '../../shared/common/errors.js';

/** The OpenFile of BackendOptions (engine/app/edit/edit-desk.ts). */
export async function openInSystemApp(file: string, choose: boolean): Promise<void> {
  if (!choose) {
    const error = await shell.openPath(file);
    if (error) throw new FerryError('EIO', `The system could not open ${file}: ${error}`);
    return;
  }
  const options: OpenDialogOptions = {
    title: 'Choose the app to edit with',
    buttonLabel: 'Edit with this app',
    defaultPath: process.platform === 'darwin' ? '/Applications' : process.platform === 'win32' ? (process.env.ProgramFiles ?? 'C:\\Program Files') : '/usr/bin',
    properties: ['openFile', 'dontAddToRecent'],
  };
  const window = BrowserWindow.getFocusedWindow();
  const picked = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  const app = picked.canceled ? undefined : picked.filePaths[0];
  if (!app) throw new FerryError('ECANCELED', 'No app was chosen.');
  // macOS apps are bundles `open -a` starts; elsewhere the chosen program gets the file.
  const [command, args]: [string, string[]] = process.platform === 'darwin' ? ['open', ['-a', app, file]] : [app, [file]];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.once('error', (err) => reject(new FerryError('EIO', `Could not start ${app}: ${err.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
