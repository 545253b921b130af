/** 简体中文：窗口各部分共用的文字（按钮、标题栏、状态栏、欢迎页、数字和日期）。 */
import type { common as en } from '../en/common.js';
import type { Translation } from '../translation.js';

export const common: Translation<typeof en> = {
  language: {
    system: '跟随系统',
  },
  /** A message as a sentence (its full stop). */
  sentence: '{{text}}。',
  button: {
    cancel: '取消',
    save: '保存',
    close: '关闭',
    dismiss: '关闭提示',
  },
  format: {
    bytes: '{{n}} 字节',
    speed: '{{size}}/秒',
    etaUnder1s: '剩余不到 1 秒',
    etaSeconds: '剩余 {{s}} 秒',
    etaMinutes: '剩余 {{m}} 分 {{ss}} 秒',
    etaHours: '剩余 {{h}} 小时 {{mm}} 分',
    today: '今天 {{time}}',
  },
  connection: {
    connected: '已连接',
    connecting: '正在连接…',
    reconnecting: '正在重新连接…',
    reconnectingAttempt: '正在重新连接…（第 {{attempt}} 次尝试）',
    disconnected: '未连接',
  },
  app: {
    connections: '连接',
    resize: '调整传输和控制台区域的高度',
  },
  header: {
    hideConnections: '隐藏连接',
    showConnections: '显示连接',
    sync: '同步…',
    settings: '设置',
    disconnect: '断开连接',
  },
  status: {
    protocol: '协议',
    userServerPort: '用户、服务器和端口',
    currentFolder: '当前文件夹',
    quota: '配额',
    quotaUnknown: '配额 …',
    usedNoQuota: '已用 {{used}} · 无配额',
    usedFreeOf: '已用 {{used}} · 剩余 {{free}}，共 {{quota}}',
    keyTitle: '服务器密钥指纹（已固定）',
    key: '密钥 {{fingerprint}}',
    noEncryption: '未加密',
  },
  fatal: {
    title: 'Ferry 无法连接到它的引擎',
    hint: '请从桌面应用启动 Ferry，或打开浏览器模式主机打印出的地址。',
  },
  welcome: {
    title: '欢迎使用 Ferry',
    intro:
      'Ferry 在这台计算机和你的服务器之间传输文件：把文件拖到列表上即可上传，双击文件夹即可打开，还可以在控制台中运行命令。每个文件都经过端到端校验。',
    local:
      '你已连接到<strong>本地服务器</strong>，这是运行在这台计算机上的 Ferry 服务器，文件保存在 Ferry 的数据文件夹中。可以先在这里试试。',
    addTitle: '添加远程服务器',
    add: '先断开连接，再填写它的主机、端口（除非另有说明，一般为 7070）、用户名和密码，然后选择“保存配置”。',
    runTitle: '在另一台机器上运行 ferryd',
    run: '在那台机器上的 Ferry 副本中（Node 20 或更高版本，执行 npm install 之后）：',
    fingerprint: '它会打印出自己的密钥指纹：当 Ferry 询问你是否信任该服务器时，请将两者进行比对。',
    gotIt: '知道了',
  },
};
