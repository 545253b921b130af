#!/usr/bin/env node
// Render icons/icon.svg to the PNG sizes the app and its installers use
// (icons/png/NxN.png: Linux takes the folder, Windows 256, macOS 1024), with Chromium
// (playwright-core driving the browser find-browser.mjs finds).
// The PNGs are committed; run this (`npm run icons`) after changing the SVG.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BROWSER_ARGS, browserOrExit } from './find-browser.mjs';

export const SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const svg = readFileSync(path.join(REPO, 'icons', 'icon.svg'), 'utf8');
const out = path.join(REPO, 'icons', 'png');
mkdirSync(out, { recursive: true });

const browser = await chromium.launch({
  executablePath: await browserOrExit('npm run icons'),
  args: [...BROWSER_ARGS],
});
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
  for (const size of SIZES) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent"><img src="${src}" width="${size}" height="${size}" style="display:block"></body></html>`);
    await page.locator('img').evaluate((img) => img.decode());
    const file = path.join(out, `${size}x${size}.png`);
    await page.screenshot({ path: file, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    console.log(`wrote ${path.relative(REPO, file)}`);
  }
} finally {
  await browser.close();
}
