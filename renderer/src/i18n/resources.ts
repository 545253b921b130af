/**
 * Every language's strings, one namespace per part of the UI (each feature keeps its own
 * file, so they do not grow into one list). English is the original: its keys type-check
 * every t() call and every other language.
 */
import { common as enCommon } from './en/common.js';
import { common as zhCommon } from './zh-CN/common.js';
import { permissions as enPermissions } from './en/permissions.js';
import { permissions as zhPermissions } from './zh-CN/permissions.js';

export const en = {
  common: enCommon,
  permissions: enPermissions,
};

export const zhCN: { readonly [N in keyof typeof en]: import('./translation.js').Translation<(typeof en)[N]> } = {
  common: zhCommon,
  permissions: zhPermissions,
};

export const RESOURCES = { en, 'zh-CN': zhCN } as const;
