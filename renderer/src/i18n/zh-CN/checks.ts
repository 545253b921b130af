/** 简体中文：传输的校验方式（默认 XXH3-128，可选 SHA-256）：传输行、历史、同步、设置。 */
import type { checks as en } from '../en/checks.js';
import type { Translation } from '../translation.js';

export const checks: Translation<typeof en> = {
  row: {
    xxh128: 'XXH3-128 已校验',
    verifyingXxh128: '正在校验 XXH3-128…',
  },
  history: {
    xxh128: 'XXH3-128',
    xxh128Title: 'XXH3-128 {{hash}}（一种快速校验和，能发现数据损坏；不能防范恶意服务器）',
  },
  session: {
    xxh128: '两端均计算 XXH3-128（可在“设置”中改用 SHA-256）',
  },
  sync: {
    xxh128: '按内容比较文件（XXH3-128）。',
  },
  settings: {
    sha256: '使用 SHA-256 校验传输（较慢）',
    sha256Help:
      '默认情况下，每个文件都用 XXH3-128 校验：这是一种快速校验和，能发现数据损坏（服务器的身份已由 TLS 验证）。SHA-256 占用更多 CPU，但得到的摘要可以与在别处计算的结果对照。',
  },
};
