/** English: the console pane, its command line and the lines it adds to the output. */
export const console = {
  title: 'Console',
  clear: 'Clear console',
  command: 'Command',
  placeholderReconnecting: 'Reconnecting…',
  placeholderConnect: 'Connect to run commands',
  placeholderDenied: 'Not allowed for this account',
  placeholderRunning: 'Running… (Ctrl+C cancels)',
  placeholder: 'Type a command and press Enter',
  cancelling: 'Cancelling…',
  cancel: 'Cancel command',
  run: 'Run',
  denied:
    'This account may not run commands. Commands are allowed per user by the server’s administrator (ferryd user set --exec); ask them if you need it. Browsing and transfers work as usual.',
  line: {
    cancelled: '[cancelled]',
    error: '[error {{code}}: {{message}}]',
    exit: '[exit {{code}}]',
    disconnected: '[disconnected]',
    unknown: 'unknown',
    couldNotCancel: '[could not cancel: {{code}}: {{message}}]',
    connected: '── connected to {{where}} ──',
  },
  link: {
    refused: 'This link cannot be opened (only web pages can)',
    hint: '{{url}} ({{key}}+click to open)',
  },
} as const;
