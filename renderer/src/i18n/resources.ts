/**
 * Every language's strings, one namespace per part of the UI (each feature keeps its own
 * file, so they do not grow into one list). English is the original: its keys type-check
 * every t() call and every other language.
 */
import { checks as enChecks } from './en/checks.js';
import { common as enCommon } from './en/common.js';
import { connect as enConnect } from './en/connect.js';
import { console as enConsole } from './en/console.js';
import { edit as enEdit } from './en/edit.js';
import { history as enHistory } from './en/history.js';
import { limits as enLimits } from './en/limits.js';
import { panes as enPanes } from './en/panes.js';
import { permissions as enPermissions } from './en/permissions.js';
import { search as enSearch } from './en/search.js';
import { settings as enSettings } from './en/settings.js';
import { sync as enSync } from './en/sync.js';
import { tabs as enTabs } from './en/tabs.js';
import { transfers as enTransfers } from './en/transfers.js';
import { tree as enTree } from './en/tree.js';
import type { Translation } from './translation.js';
import { checks as zhChecks } from './zh-CN/checks.js';
import { common as zhCommon } from './zh-CN/common.js';
import { connect as zhConnect } from './zh-CN/connect.js';
import { console as zhConsole } from './zh-CN/console.js';
import { edit as zhEdit } from './zh-CN/edit.js';
import { history as zhHistory } from './zh-CN/history.js';
import { limits as zhLimits } from './zh-CN/limits.js';
import { panes as zhPanes } from './zh-CN/panes.js';
import { permissions as zhPermissions } from './zh-CN/permissions.js';
import { search as zhSearch } from './zh-CN/search.js';
import { settings as zhSettings } from './zh-CN/settings.js';
import { sync as zhSync } from './zh-CN/sync.js';
import { tabs as zhTabs } from './zh-CN/tabs.js';
import { transfers as zhTransfers } from './zh-CN/transfers.js';
import { tree as zhTree } from './zh-CN/tree.js';

export const en = {
  checks: enChecks,
  common: enCommon,
  connect: enConnect,
  console: enConsole,
  edit: enEdit,
  history: enHistory,
  limits: enLimits,
  panes: enPanes,
  permissions: enPermissions,
  search: enSearch,
  settings: enSettings,
  sync: enSync,
  tabs: enTabs,
  transfers: enTransfers,
  tree: enTree,
};

export const zhCN: { readonly [N in keyof typeof en]: Translation<(typeof en)[N]> } = {
  checks: zhChecks,
  common: zhCommon,
  connect: zhConnect,
  console: zhConsole,
  edit: zhEdit,
  history: zhHistory,
  limits: zhLimits,
  panes: zhPanes,
  permissions: zhPermissions,
  search: zhSearch,
  settings: zhSettings,
  sync: zhSync,
  tabs: zhTabs,
  transfers: zhTransfers,
  tree: zhTree,
};

export const RESOURCES = { en, 'zh-CN': zhCN } as const;
