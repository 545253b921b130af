/** English: what every part of the window shares (buttons, the header, the status bar, the welcome, numbers and dates). */
export const common = {
  language: {
    system: 'Follow the system',
  },
  /** A message as a sentence (its full stop). */
  sentence: '{{text}}.',
  button: {
    cancel: 'Cancel',
    save: 'Save',
    close: 'Close',
    dismiss: 'Dismiss',
  },
  format: {
    bytes: '{{n}} B',
    speed: '{{size}}/s',
    etaUnder1s: 'under 1 s left',
    etaSeconds: '{{s}} s left',
    etaMinutes: '{{m}} min {{ss}} s left',
    etaHours: '{{h}} h {{mm}} min left',
    today: 'Today {{time}}',
  },
  connection: {
    connected: 'Connected',
    connecting: 'Connecting…',
    reconnecting: 'Reconnecting…',
    reconnectingAttempt: 'Reconnecting… (attempt {{attempt}})',
    disconnected: 'Disconnected',
  },
  app: {
    connections: 'Connections',
    resize: 'Resize transfers and console',
  },
  header: {
    hideConnections: 'Hide connections',
    showConnections: 'Show connections',
    sync: 'Sync…',
    settings: 'Settings',
    disconnect: 'Disconnect',
  },
  status: {
    protocol: 'Protocol',
    userServerPort: 'User, server and port',
    currentFolder: 'Current folder',
    quota: 'Quota',
    quotaUnknown: 'quota …',
    usedNoQuota: '{{used}} used · no quota',
    usedFreeOf: '{{used}} used · {{free}} free of {{quota}}',
    keyTitle: 'Server key fingerprint (pinned)',
    key: 'Key {{fingerprint}}',
    noEncryption: 'No encryption',
  },
  fatal: {
    title: 'Ferry cannot reach its engine',
    hint: 'Start Ferry from the desktop app, or open the address the browser host printed.',
  },
  welcome: {
    title: 'Welcome to Ferry',
    intro:
      'Ferry moves files between this computer and your servers: drop files on the list to upload them, double-click folders to open them, and run commands in the console. Every file is checked end to end.',
    local:
      'You are connected to the <strong>Local server</strong>, a Ferry server on this computer that keeps its files in Ferry’s data folder. Try it here.',
    addTitle: 'Add a remote server',
    add: 'Disconnect, then enter its host, port (7070 unless told otherwise), user and password, and choose Save profile.',
    runTitle: 'Run ferryd on another machine',
    run: 'In a copy of Ferry there (Node 20 or later, after npm install):',
    fingerprint: 'It prints its key fingerprint: compare it with the one Ferry shows when it asks you to trust that server.',
    gotIt: 'Got it',
  },
} as const;
