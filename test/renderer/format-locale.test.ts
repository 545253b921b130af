/**
 * Sizes, speeds, times left, dates and counted phrases in the UI's language: English as the
 * UI always printed them, Simplified Chinese with its own words and date order, and a
 * language change taking effect at the next call (no reload).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { applyLanguage, currentLocale, resolveLanguage, systemLanguage } from '../../renderer/src/i18n/i18n.js';
import { STATE_LABEL, formatBytes, formatCount, formatDate, formatEta, formatSpeed } from '../../renderer/src/logic/format.js';
import { editStateText } from '../../renderer/src/logic/edit-text.js';
import { displayPath } from '../../renderer/src/logic/remote-path.js';
import { selectionSummary } from '../../renderer/src/logic/sync-preview.js';
import type { SyncPlan } from '../../shared/common/sync-model.js';

afterEach(() => applyLanguage('en'));

const now = new Date(2025, 5, 15, 12, 0).getTime();

const plan = {
  id: 'p',
  localRoot: '/l',
  remoteRoot: '/r',
  direction: 'up',
  deleteExtras: false,
  compare: 'sha256',
  hasBase: false,
  actions: [
    { id: 1, kind: 'upload', path: 'a', reason: '', local: { type: 'file', size: 2048, mtime: 1 } },
    { id: 2, kind: 'upload', path: 'b', reason: '', local: { type: 'file', size: 2048, mtime: 1 } },
    { id: 3, kind: 'mkdir', side: 'remote', path: 'c', reason: '' },
  ],
} as unknown as SyncPlan;

describe('English', () => {
  it('prints sizes, speeds and times left as before', () => {
    applyLanguage('en');
    expect(currentLocale([])).toBe('en');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1000 * 1024)).toBe('1000 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatSpeed(3.4 * 1024 * 1024)).toBe('3.4 MiB/s');
    expect(formatEta(185)).toBe('3 min 05 s left');
    expect(formatEta(0.2)).toBe('under 1 s left');
    expect(formatCount(12345)).toBe('12,345');
    expect(STATE_LABEL.active).toBe('Transferring');
    expect(displayPath('/', '/')).toBe('Home');
    expect(selectionSummary(plan, new Set([1, 2, 3]))).toBe('2 uploads (4.0 KiB), 1 folder to create');
    expect(selectionSummary(plan, new Set([1]))).toBe('1 upload (2.0 KiB)');
  });

  it('reads dates in the system’s English (British or American)', () => {
    applyLanguage('en');
    const today = new Date(2025, 5, 15, 14, 3).getTime();
    expect(currentLocale(['en-GB'])).toBe('en-GB');
    expect(formatDate(today, now)).toMatch(/^Today \d{1,2}:03/);
    expect(formatDate(new Date(2025, 2, 12, 14, 3).getTime(), now)).toMatch(/Mar/);
    expect(formatDate(new Date(2021, 2, 12).getTime(), now)).toMatch(/2021/);
  });
});

describe('Simplified Chinese', () => {
  it('prints sizes, speeds and times left in Chinese', () => {
    applyLanguage('zh-CN');
    expect(currentLocale(['en-GB'])).toBe('zh-CN');
    expect(formatBytes(1023)).toBe('1023 字节');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatSpeed(3.4 * 1024 * 1024)).toBe('3.4 MiB/秒');
    expect(formatEta(42)).toBe('剩余 42 秒');
    expect(formatEta(185)).toBe('剩余 3 分 05 秒');
    expect(formatEta(3 * 3600 + 7 * 60)).toBe('剩余 3 小时 07 分');
    expect(formatEta(0.2)).toBe('剩余不到 1 秒');
    expect(STATE_LABEL.active).toBe('传输中');
    expect(displayPath('/', '/')).toBe('主目录');
    expect(editStateText({ kind: 'conflict', theirs: { size: 2048, mtime: 1 } } as never)).toBe('冲突：自你打开以来，该文件已在服务器上被修改（现在为 2.0 KiB）');
    expect(selectionSummary(plan, new Set([1, 2, 3]))).toBe('2 个上传（4.0 KiB），1 个要创建的文件夹');
  });

  it('reads dates the Chinese way: 今天 14:03, 3月12日, 2021年3月12日', () => {
    applyLanguage('zh-CN');
    expect(formatDate(new Date(2025, 5, 15, 14, 3).getTime(), now)).toBe('今天 14:03');
    expect(formatDate(new Date(2025, 2, 12, 14, 3).getTime(), now)).toMatch(/^3月12日.*14:03$/);
    expect(formatDate(new Date(2021, 2, 12).getTime(), now)).toBe('2021年3月12日');
  });

  it('switches back to English at the next call', () => {
    applyLanguage('zh-CN');
    expect(formatEta(42)).toBe('剩余 42 秒');
    applyLanguage('en');
    expect(formatEta(42)).toBe('42 s left');
  });
});

describe('the language chosen', () => {
  it('follows the system’s preferred languages until one is chosen', () => {
    expect(systemLanguage(['zh-TW', 'en'])).toBe('zh-CN');
    expect(systemLanguage(['fr-FR', 'en-US'])).toBe('en');
    expect(systemLanguage(['fr-FR'])).toBe('en');
    expect(resolveLanguage('zh-CN')).toBe('zh-CN');
    expect(resolveLanguage('en')).toBe('en');
  });
});
