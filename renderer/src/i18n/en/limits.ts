/** English: speed limits (the Settings fields and the status bar's indicator). */
export const limits = {
  upload: {
    label: 'Upload limit',
    unit: 'Upload limit unit',
    indicator: '↑ {{rate}} limit',
    indicatorName: 'Upload limit {{rate}}: open Settings',
  },
  download: {
    label: 'Download limit',
    unit: 'Download limit unit',
    indicator: '↓ {{rate}} limit',
    indicatorName: 'Download limit {{rate}}: open Settings',
  },
  units: {
    KiB: 'KiB/s',
    MiB: 'MiB/s',
  },
  help: 'For all transfers together, in every window; empty or 0 means no limit. A change applies at once, to transfers already running too.',
  invalid: 'A speed limit is a number (or empty for none), at most 1024 GiB/s.',
} as const;
