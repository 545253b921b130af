/**
 * Every language's strings, one namespace per part of the UI (each feature keeps its own
 * file, so they do not grow into one list). English is the original: its keys type-check
 * every t() call and every other language.
 */
import { common as enCommon } from './en/common.js';
import { common as zhCommon } from './zh-CN/common.js';
import { search as enSearch } from './en/search.js';
import { search as zhSearch } from './zh-CN/search.js';

export const en = {
  common: enCommon,
  search: enSearch,
};

export const zhCN: { readonly [N in keyof typeof en]: import('./translation.js').Translation<(typeof en)[N]> } = {
  common: zhCommon,
  search: zhSearch,
};

export const RESOURCES = { en, 'zh-CN': zhCN } as const;
