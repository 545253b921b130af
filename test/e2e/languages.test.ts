/**
 * In a real Chromium whose language is Simplified Chinese, against a real ferryd: the UI
 * speaks Chinese before anything is chosen (the connect form, the host-key question, the
 * tree, a transfer's row, sizes and dates the Chinese way); Settings switches it to English
 * without a reload, and the choice, kept by the engine, holds after a reload.
 */
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, tempDir, type TestUser } from '../helpers/harness.js';
import { checkAfterEach, screenshot, setupE2E, type E2E } from './e2e.js';

const mei: TestUser = { name: 'mei', password: 'mei pass phrase' };

let e2e: E2E;
let page: Page;
let local: string;

beforeAll(async () => {
  e2e = await setupE2E([mei], { locale: 'zh-CN' });
  const home = e2e.home(mei);
  local = await tempDir('ferry-e2e-local-');
  await mkdir(path.join(home, '照片'), { recursive: true });
  await writeFile(path.join(home, 'notes.txt'), 'x'.repeat(100));
  const old = new Date(2021, 2, 12, 9, 30);
  await utimes(path.join(home, 'notes.txt'), old, old);
  await writeFile(path.join(home, 'plan.md'), 'y'.repeat(3 * 1024 + 512));
  await writeFile(path.join(local, '报告.txt'), 'z'.repeat(2048));
  await writeFile(path.join(local, 'data.bin'), Buffer.alloc(1536 * 1024, 7));
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

/** The text of a tree row's cells (name, size, modified). */
const rowText = (name: string) => page.getByRole('treeitem', { name, exact: true }).textContent();

describe('languages', () => {
  it('speaks Chinese when the system does, before any choice', async () => {
    page = await e2e.openTab('连接到服务器');
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    const form = page.getByRole('form', { name: '连接到服务器' });
    await form.getByLabel('主机', { exact: true }).fill(e2e.server.host);
    await form.getByLabel('端口', { exact: true }).fill(String(e2e.server.port));
    await form.getByLabel('用户名', { exact: true }).fill(mei.name);
    await form.getByLabel('密码', { exact: true }).fill(mei.password);
    await form.getByRole('button', { name: '连接', exact: true }).click();

    const trust = page.getByRole('dialog', { name: '信任此服务器？' });
    await trust.waitFor();
    expect(await trust.getByText(/^SHA256:/).textContent()).toBe(e2e.server.fingerprint);
    await trust.getByRole('button', { name: '信任', exact: true }).click();

    await page.getByRole('tree', { name: '主目录', exact: true }).waitFor();
    await page.getByRole('contentinfo').getByText('已连接', { exact: true }).waitFor();
    await page.getByRole('toolbar', { name: '文件操作' }).getByRole('button', { name: '新建文件夹' }).waitFor();
    // Sizes and dates the Chinese way: bytes as 字节, an old date with its year first.
    await expect.poll(() => rowText('notes.txt')).toContain('100 字节');
    expect(await rowText('notes.txt')).toContain('2021年3月12日');
    expect(await rowText('plan.md')).toContain('3.5 KiB');
    expect(await rowText('plan.md')).toMatch(/今天 \d{1,2}:\d\d/);
    // Nothing of the English UI is left.
    expect(await page.getByRole('button', { name: 'Settings' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Transfers' }).count()).toBe(0);
  });

  it('shows a transfer’s row in Chinese', async () => {
    await page.getByTestId('upload-files-input').setInputFiles([path.join(local, '报告.txt'), path.join(local, 'data.bin')]);
    const list = page.getByRole('list', { name: '传输列表', exact: true });
    for (const name of ['报告.txt', 'data.bin']) {
      const row = list.getByRole('listitem').filter({ has: page.getByRole('progressbar', { name: `${name} 的进度`, exact: true }) });
      await row.getByText('XXH3-128 已校验').waitFor();
      expect(await row.getByText('已完成', { exact: true }).count()).toBe(1);
    }
    const report = list.getByRole('listitem').filter({ hasText: '报告.txt' });
    expect(await report.textContent()).toContain('2.0 KiB');
    await page.getByRole('treeitem', { name: '报告.txt', exact: true }).waitFor();
    expect(await page.getByRole('region', { name: '传输' }).getByText(/^已完成 2\/2$/).count()).toBe(1);
    await screenshot(page, 'chinese');
  });

  it('switches to English in Settings without a reload, and keeps it', async () => {
    await page.evaluate('window.__sameDocument = true');
    await page.getByRole('button', { name: '设置', exact: true }).click();
    const settings = page.getByRole('dialog', { name: '设置', exact: true });
    const language = settings.getByRole('combobox', { name: '语言', exact: true });
    expect(await language.inputValue()).toBe('system');
    await language.selectOption('en');
    await settings.getByRole('button', { name: '保存', exact: true }).click();
    await settings.waitFor({ state: 'detached' });

    await page.getByRole('tree', { name: 'Home', exact: true }).waitFor();
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await page.getByRole('button', { name: 'Settings', exact: true }).waitFor();
    await page.getByRole('contentinfo').getByText('Connected', { exact: true }).waitFor();
    const row = page.getByRole('list', { name: 'Transfers', exact: true }).getByRole('listitem').filter({ hasText: '报告.txt' });
    await row.getByText('XXH3-128 checked').waitFor();
    expect(await row.getByText('Done', { exact: true }).count()).toBe(1);
    expect(await rowText('notes.txt')).toContain('100 B');
    expect(await rowText('notes.txt')).not.toContain('年');
    expect(await rowText('plan.md')).toMatch(/Today \d{1,2}:\d\d/);
    const saved = JSON.parse(await readFile(path.join(e2e.configDir, 'settings.json'), 'utf8')) as { language?: string };
    expect(saved.language).toBe('en');

    await page.reload();
    await page.getByRole('button', { name: 'Settings', exact: true }).waitFor();
    await expect.poll(() => page.evaluate('document.documentElement.lang')).toBe('en');
    await page.getByRole('region', { name: 'Transfers' }).getByRole('heading', { name: 'Transfers' }).waitFor();
    expect(await page.getByRole('button', { name: '设置' }).count()).toBe(0);
  });
});
