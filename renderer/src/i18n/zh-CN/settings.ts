/** 简体中文：“设置”对话框。 */
import type { settings as en } from '../en/settings.js';
import type { Translation } from '../translation.js';

export const settings: Translation<typeof en> = {
  title: '设置',
  language: '语言',
  languageHelp: '日期、大小和数字的格式也会随之改变。来自引擎和服务器的消息仍为英文。',
  downloadDir: '下载文件夹',
  downloadHelpBrowser: '运行 Ferry 浏览器模式主机的计算机上的文件夹，且位于启动时指定的下载文件夹内。下载的文件保存在那里，每个文件都经过端到端校验。',
  downloadHelp: '这台计算机上的文件夹。下载的文件保存在那里，每个文件都经过端到端校验。',
  concurrency: '同时传输数',
  concurrencyProblem: '同时传输数必须是 1 到 16 之间的整数。',
  downloadProblem: '请输入下载文件保存到的文件夹。',
  notSaved: '无法保存设置。',
};
