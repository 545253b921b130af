/** English: the strings of the window's existing parts (header, tree, transfers, console, dialogs). */
export const common = {
  language: {
    system: 'Follow the system',
    en: 'English',
    'zh-CN': '简体中文',
  },
} as const;
