/** 简体中文：本地窗格、窗格之间的拖放、路径栏与书签。 */
import type { panes as en } from '../en/panes.js';
import type { Translation } from '../translation.js';

export const panes: Translation<typeof en> = {
  toggle: {
    show: '显示本地文件',
    title: '在服务器文件旁边显示本机的文件',
  },
  local: {
    pane: '本地文件',
    toolbar: '本地文件操作',
    up: '上一级文件夹',
    refresh: '刷新',
    upload: '上传',
    uploadTitle: '把选中的项目上传到 {{folder}}',
    empty: '此文件夹为空',
    emptyHint: '把服务器上的文件或文件夹拖到这里即可下载。',
    loading: '正在加载…',
    noMatch: '这里没有与“{{filter}}”匹配的项目。',
    couldNotList: '无法列出 {{path}}：',
    dismiss: '关闭',
    hostFolder: '位于运行 Ferry 的机器上，限于它启动时指定的文件夹之内',
  },
  drop: {
    uploadRefused: '上传到 {{folder}} 被拒绝',
    downloadRefused: '下载到 {{folder}} 被拒绝',
    uploadHint: '松开即可上传到 {{folder}}',
    downloadHint: '松开即可下载到 {{folder}}',
  },
  pathBar: {
    breadcrumbs: '路径导航',
    edit: '输入路径（Ctrl+L）',
    field: '路径',
    folders: '文件夹',
    couldNotOpen: '无法打开 {{path}}。',
    hint: 'Enter：前往 · Tab：补全 · Esc：取消',
  },
  bookmarks: {
    add: '将此文件夹加入书签',
    remove: '移除此文件夹的书签',
    menu: '书签',
    list: '已加入书签的文件夹',
    none: '还没有书签：点击星标即可添加当前文件夹。',
    removeOne: '移除书签 {{path}}',
    setStart: '设为起始文件夹',
    startIs: '起始文件夹：{{path}}',
    noStart: '未设置起始文件夹：此连接将在主目录中打开。',
    clearStart: '清除起始文件夹',
    unsaved: '保存此连接后才能保留书签',
    failed: '无法更改书签',
  },
  start: {
    field: '起始文件夹',
    placeholder: '主目录，或如 /srv/www 的路径',
    missing: '无法打开起始文件夹 {{path}}，因此连接在主目录中打开',
  },
};
