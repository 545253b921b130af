/** 简体中文：控制台面板、命令行，以及它写入输出的提示行。 */
import type { console as en } from '../en/console.js';
import type { Translation } from '../translation.js';

export const console: Translation<typeof en> = {
  title: '控制台',
  clear: '清空控制台',
  command: '命令',
  placeholderReconnecting: '正在重新连接…',
  placeholderConnect: '连接后即可运行命令',
  placeholderDenied: '此账户不允许运行命令',
  placeholderRunning: '正在运行…（Ctrl+C 取消）',
  placeholder: '输入命令后按 Enter',
  cancelling: '正在取消…',
  cancel: '取消命令',
  run: '运行',
  denied:
    '此账户不能运行命令。是否允许运行命令由服务器管理员按用户设置（ferryd user set --exec）；如有需要，请联系管理员。浏览和传输不受影响。',
  line: {
    cancelled: '[已取消]',
    error: '[错误 {{code}}：{{message}}]',
    exit: '[退出码 {{code}}]',
    disconnected: '[已断开连接]',
    unknown: '未知',
    couldNotCancel: '[无法取消：{{code}}：{{message}}]',
    connected: '── 已连接到 {{where}} ──',
  },
  link: {
    refused: '无法打开此链接（只能打开网页）',
    hint: '{{url}}（{{key}}+单击打开）',
  },
};
