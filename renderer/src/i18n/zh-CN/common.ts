/** 简体中文：窗口原有部分的文字（标题栏、文件树、传输、控制台、对话框）。 */
import type { common as en } from '../en/common.js';
import type { Translation } from '../translation.js';

export const common: Translation<typeof en> = {
  language: {
    system: '跟随系统',
    en: 'English',
    'zh-CN': '简体中文',
  },
};
