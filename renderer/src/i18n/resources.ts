/**
 * Every language's strings, one namespace per part of the UI (each feature keeps its own
 * file, so they do not grow into one list). English is the original: its keys type-check
 * every t() call and every other language.
 */
import { common as enCommon } from './en/common.js';
import { common as zhCommon } from './zh-CN/common.js';
import { panes as enPanes } from './en/panes.js';
import { panes as zhPanes } from './zh-CN/panes.js';

export const en = {
  common: enCommon,
  panes: enPanes,
};

export const zhCN: { readonly [N in keyof typeof en]: import('./translation.js').Translation<(typeof en)[N]> } = {
  common: zhCommon,
  panes: zhPanes,
};

export const RESOURCES = { en, 'zh-CN': zhCN } as const;
