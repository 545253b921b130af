/** 简体中文：限速（设置中的输入框和状态栏的提示）。 */
import type { limits as en } from '../en/limits.js';
import type { Translation } from '../translation.js';

export const limits: Translation<typeof en> = {
  upload: {
    label: '上传限速',
    unit: '上传限速单位',
    indicator: '↑ 限速 {{rate}}',
    indicatorName: '上传限速 {{rate}}：打开设置',
  },
  download: {
    label: '下载限速',
    unit: '下载限速单位',
    indicator: '↓ 限速 {{rate}}',
    indicatorName: '下载限速 {{rate}}：打开设置',
  },
  units: {
    KiB: 'KiB/s',
    MiB: 'MiB/s',
  },
  help: '对所有传输合计生效，所有窗口共用；留空或填 0 表示不限速。修改立即生效，正在进行的传输也一样。',
  invalid: '限速须为数字（留空表示不限速），最大 1024 GiB/s。',
};
