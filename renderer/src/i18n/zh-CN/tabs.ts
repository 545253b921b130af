/** 简体中文：标签栏、关闭标签，以及每个传输的去向（一个窗口里的多个会话）。 */
import type { tabs as en } from '../en/tabs.js';
import type { Translation } from '../translation.js';

export const tabs: Translation<typeof en> = {
  strip: '会话',
  newTab: '新建标签',
  newTabHint: '新建标签（Ctrl+T）',
  untitled: '新标签',
  close: '关闭标签 {{name}}',
  closeHint: '关闭标签（Ctrl+W）',
  state: {
    connected: '已连接',
    connecting: '正在连接…',
    reconnecting: '正在重新连接…',
    disconnected: '未连接',
  },
  attention: '正在等待你的回答',
  full: '一个窗口最多 {{count}} 个标签：请先关闭一个再打开新的。',
  confirm: {
    title: '关闭“{{name}}”？',
    transfers_one: '此标签有 {{count}} 个传输尚未完成：关闭标签会停止它（已到达服务器的部分会保留，以便续传）。',
    transfers_other: '此标签有 {{count}} 个传输尚未完成：关闭标签会停止它们（已到达服务器的部分会保留，以便续传）。',
    edits_one: '有 {{count}} 个编辑过的文件尚未保存到服务器：工作副本会保留在这台电脑上，但服务器收不到这次保存。',
    edits_other: '有 {{count}} 个编辑过的文件尚未保存到服务器：工作副本会保留在这台电脑上，但服务器收不到这些保存。',
    cancel: '保留标签',
    close: '关闭标签',
  },
  where: {
    upload: '上传到 {{where}}',
    download: '下载自 {{where}}',
  },
};
