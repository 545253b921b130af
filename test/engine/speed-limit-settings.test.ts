/**
 * Speed limits as settings: one pair of limits for the whole app (app-stores.ts), which
 * 'settings:set' from any window changes at once, which the saved settings set at start,
 * and whose values are checked on the engine side.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { callBackend, createBackend } from '../../engine/app/backend.js';
import { createAppStores } from '../../engine/app/app-stores.js';
import { waitFor } from '../helpers/files.js';
import { cleanupAll, onCleanup, tempDir } from '../helpers/harness.js';

afterAll(cleanupAll);

async function twoWindows() {
  const configDir = await tempDir('ferry-config-');
  const app = createAppStores({ configDir, downloadDir: await tempDir('ferry-dl-') });
  const windows = [createBackend({ configDir, app }), createBackend({ configDir, app })];
  for (const w of windows) onCleanup(() => w.dispose());
  return { configDir, app, windows };
}

describe('speed limit settings', () => {
  it('one window’s change applies to the limits every window shares, at once', async () => {
    const { app, windows } = await twoWindows();
    const [one, two] = windows;
    expect(app.rateLimits.upload.limit).toBe(0);
    const r = await callBackend(one!, 'settings:set', { uploadLimit: 512 * 1024, downloadLimit: 2 * 1024 * 1024 });
    expect(r).toMatchObject({ ok: true, value: { uploadLimit: 512 * 1024, downloadLimit: 2 * 1024 * 1024 } });
    expect(app.rateLimits.upload.limit).toBe(512 * 1024);
    expect(app.rateLimits.download.limit).toBe(2 * 1024 * 1024);
    expect(await callBackend(two!, 'settings:get')).toMatchObject({ ok: true, value: { uploadLimit: 512 * 1024 } });
    await callBackend(two!, 'settings:set', { downloadLimit: 0 });
    expect(app.rateLimits.download.limit).toBe(0);
    expect(app.rateLimits.upload.limit).toBe(512 * 1024);
  });

  it('the saved limits hold from the start', async () => {
    const configDir = await tempDir('ferry-config-');
    await writeFile(path.join(configDir, 'settings.json'), JSON.stringify({ version: 1, uploadLimit: 1000, downloadLimit: 3000 }));
    const app = createAppStores({ configDir });
    await waitFor(() => app.rateLimits.download.limit === 3000, 5000, 'the saved limits');
    expect(app.rateLimits.upload.limit).toBe(1000);
  });

  it('refuses a limit that is not a whole number of bytes per second from 0 to 1 TiB/s', async () => {
    const { app, windows } = await twoWindows();
    for (const bad of [-1, 1.5, 2 ** 41, '1M']) {
      const r = await callBackend(windows[0]!, 'settings:set', { uploadLimit: bad as number });
      expect(r, String(bad)).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    }
    expect(app.rateLimits.upload.limit).toBe(0);
  });
});
