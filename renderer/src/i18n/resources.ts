/**
 * Every language's strings, one namespace per part of the UI (each feature keeps its own
 * file, so they do not grow into one list). English is the original: its keys type-check
 * every t() call and every other language.
 */
import { common as enCommon } from './en/common.js';
import { common as zhCommon } from './zh-CN/common.js';
import { tabs as enTabs } from './en/tabs.js';
import { tabs as zhTabs } from './zh-CN/tabs.js';

export const en = {
  common: enCommon,
  tabs: enTabs,
};

export const zhCN: { readonly [N in keyof typeof en]: import('./translation.js').Translation<(typeof en)[N]> } = {
  common: zhCommon,
  tabs: zhTabs,
};

export const RESOURCES = { en, 'zh-CN': zhCN } as const;
