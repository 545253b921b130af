/** 简体中文：搜索面板（在远程文件树中按名称搜索）。 */
import type { search as en } from '../en/search.js';
import type { Translation } from '../translation.js';

export const search: Translation<typeof en> = {
  button: '搜索…',
  buttonTitle: '在此文件夹及其所有子文件夹中按名称搜索（Ctrl+Shift+F 或 F3）',
  panel: '搜索',
  where: '{{folder}} 下的名称',
  pattern: '名称',
  placeholder: '名称的一部分，或 *.log 这样的模式',
  caseSensitive: '区分大小写',
  start: '搜索',
  stop: '停止',
  close: '关闭搜索',
  results: '搜索结果',
  found: '找到 {{number}} 项',
  searching: '正在搜索…',
  done: '已完成',
  stopped: '已停止',
  firstShown: '仅显示前 {{number}} 项',
  visitedBound: '已查看 {{number}} 个条目后停止：请在更深一层的文件夹中搜索',
  timeBound: '搜索 60 秒后停止：请在更深一层的文件夹中搜索',
  failed: '无法搜索：{{error}}',
  nothing: '此文件夹下没有匹配的名称。',
  help: '输入文字可找到包含它的名称；*、? 和 [abc] 匹配完整名称。按 Enter 或双击打开结果。',
  kind: {
    dir: '文件夹',
    symlink: '链接',
  },
};
