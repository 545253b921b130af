/**
 * The browser for the UI tests (found by scripts/find-browser.mjs: CHROMIUM_PATH, the
 * usual Chromium/Chrome/Edge places, or Playwright's own), always with the same flags
 * (BROWSER_ARGS: headless, talking to nothing but 127.0.0.1).
 */
import { chromium, type Browser } from 'playwright-core';
import { BROWSER_ARGS, findBrowser, playwrightChromiumPath } from '../../scripts/find-browser.mjs';

export async function launchChromium(): Promise<Browser> {
  const found = findBrowser({ playwrightPath: await playwrightChromiumPath() });
  if (found.problem !== undefined) throw new Error(found.problem);
  return chromium.launch({ executablePath: found.path, args: [...BROWSER_ARGS] });
}
