/** English: the tab strip, closing a tab, and where each transfer goes (several sessions in one window). */
export const tabs = {
  strip: 'Sessions',
  newTab: 'New tab',
  newTabHint: 'New tab (Ctrl+T)',
  untitled: 'New tab',
  close: 'Close tab {{name}}',
  closeHint: 'Close tab (Ctrl+W)',
  state: {
    connected: 'Connected',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    disconnected: 'Disconnected',
  },
  attention: 'Waiting for your answer',
  full: 'A window holds at most {{count}} tabs: close one to open another.',
  confirm: {
    title: 'Close “{{name}}”?',
    transfers_one: '{{count}} transfer of this tab is not finished: closing the tab stops it (what reached the server is kept for a resume).',
    transfers_other: '{{count}} transfers of this tab are not finished: closing the tab stops them (what reached the server is kept for a resume).',
    edits_one: '{{count}} edited file is not saved to the server yet: its working copy is kept on this computer, but the server does not get the save.',
    edits_other: '{{count}} edited files are not saved to the server yet: their working copies are kept on this computer, but the server does not get the saves.',
    cancel: 'Keep the tab',
    close: 'Close tab',
  },
  where: {
    upload: 'to {{where}}',
    download: 'from {{where}}',
  },
} as const;
