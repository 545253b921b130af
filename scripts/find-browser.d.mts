// Types of find-browser.mjs, for the tests that import it.
export type BrowserFound = { readonly path: string; readonly source: 'CHROMIUM_PATH' | 'system' | 'playwright'; readonly problem?: undefined };
export type BrowserMissing = { readonly problem: string; readonly path?: undefined };

export interface FindBrowserOptions {
  readonly platform?: NodeJS.Platform;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly exists?: (file: string) => boolean;
  readonly playwrightPath?: string | undefined;
}

export function browserCandidates(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>): string[];
export function installHint(platform: NodeJS.Platform, exists: (file: string) => boolean): string;
export function findBrowser(options?: FindBrowserOptions): BrowserFound | BrowserMissing;
export function playwrightChromiumPath(): Promise<string | undefined>;
export const BROWSER_ARGS: readonly string[];
export function browserOrExit(who: string): Promise<string>;
