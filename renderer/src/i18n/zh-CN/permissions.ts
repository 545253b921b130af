/** 简体中文：远程文件树的权限列与修改权限（chmod）对话框。 */
import type { permissions as en } from '../en/permissions.js';
import type { Translation } from '../translation.js';

export const permissions: Translation<typeof en> = {
  column: '权限',
  octalTitle: '八进制 {{octal}}',
  menuItem: '权限…',
  titleOne: '“{{name}}”的权限',
  titleMany: '{{count}} 个项目的权限',
  bitsGroup: '权限位',
  who: {
    owner: '所有者',
    group: '所属组',
    others: '其他人',
  },
  what: {
    read: '读取',
    write: '写入',
    execute: '执行',
  },
  checkbox: '{{who}}：{{what}}',
  octal: '八进制',
  octalHint: '三位或四位八进制数字，例如 0755',
  badOctal: '请输入三位或四位八进制数字，最大为 0777（例如 0755 或 644）。',
  recursive: '应用到其中的所有内容',
  recursiveHint: '其下的文件和文件夹将获得相同的权限位；链接会被跳过。',
  ok: '确定',
  cancel: '取消',
  failed: '无法修改“{{name}}”的权限：{{error}}',
};
