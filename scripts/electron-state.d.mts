// Types of electron-state.mjs, for the tests that import it.
export type ElectronState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'no-binary'; readonly dir: string }
  | { readonly kind: 'ready'; readonly dir: string; readonly binary: string };

export function electronState(repo: string): ElectronState;
export function downloadFailure(output: string): string;
export const NOT_INSTALLED: string;
export function notDownloaded(why: string): string;
export function ensureElectron(
  repo: string,
  options?: { readonly env?: NodeJS.ProcessEnv; readonly onDownload?: () => void },
): { readonly ok: true; readonly binary: string } | { readonly ok: false; readonly message: string };
