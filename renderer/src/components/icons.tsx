/** Small line icons (decorative: every control that uses one also has a text name). */
import type { ReactElement } from 'react';

const PATHS = {
  folder: 'M2.5 4.5a1 1 0 0 1 1-1h3.2l1.5 1.5h4.3a1 1 0 0 1 1 1v6.5a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1z',
  file: 'M4.5 2.5h4.8l2.7 2.7v8.3a.5.5 0 0 1-.5.5h-7a.5.5 0 0 1-.5-.5v-10.5a.5.5 0 0 1 .5-.5zM9.3 2.5v2.7h2.7',
  link: 'M6.5 9.5l3-3M7 4.5l1-1a2.5 2.5 0 0 1 3.5 3.5l-1 1M9 11.5l-1 1A2.5 2.5 0 0 1 4.5 9l1-1',
  chevron: 'M6 4l4 4-4 4',
  up: 'M8 13V3M4 7l4-4 4 4',
  refresh: 'M13 8a5 5 0 1 1-1.5-3.6M13 2.5v3h-3',
  newFolder: 'M2.5 4.5a1 1 0 0 1 1-1h3.2l1.5 1.5h4.3a1 1 0 0 1 1 1v6.5a1 1 0 0 1-1 1h-9a1 1 0 0 1-1-1zM8 7.5v4M6 9.5h4',
  upload: 'M8 11V3M4.5 6.5L8 3l3.5 3.5M3 13h10',
  download: 'M8 3v8M4.5 7.5L8 11l3.5-3.5M3 13h10',
  rename: 'M3 13l.8-3.2L10.5 3.1l2.4 2.4-6.7 6.7zM9.3 4.3l2.4 2.4',
  edit: 'M2.5 14h11M4 11.5V9.8l6.3-6.3 1.7 1.7-6.3 6.3z',
  trash: 'M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.6 8.5h5.8l.6-8.5',
  pause: 'M5.5 3.5v9M10.5 3.5v9',
  play: 'M5 3.5l7 4.5-7 4.5z',
  stop: 'M4 4h8v8H4z',
  retry: 'M3 8a5 5 0 1 0 1.5-3.6M3 2.5v3h3',
  close: 'M4 4l8 8M12 4l-8 8',
  settings: 'M8 10a2 2 0 1 0 0-4 2 2 0 0 0 0 4zM8 1.5v2M8 12.5v2M1.5 8h2M12.5 8h2M3.4 3.4l1.4 1.4M11.2 11.2l1.4 1.4M3.4 12.6l1.4-1.4M11.2 4.8l1.4-1.4',
  sidebar: 'M2.5 3.5h11v9h-11zM6 3.5v9',
  check: 'M3.5 8.5l3 3 6-7',
  warning: 'M8 2l6.5 11.5h-13zM8 6.5v3.5M8 11.8v.2',
  server: 'M3 3h10v4H3zM3 9h10v4H3zM5 5h.01M5 11h.01',
  sync: 'M3 6.5h9.5l-2.5-2.5M13 9.5H3.5L6 12',
  terminal: 'M2.5 3.5h11v9h-11zM5 6.5l2 1.5-2 1.5M8.5 10h2.5',
  plus: 'M8 3v10M3 8h10',
  lock: 'M4 7.5h8v6H4zM5.5 7.5V5.5a2.5 2.5 0 0 1 5 0v2',
  star: 'M8 2.2l1.8 3.7 4 .6-2.9 2.8.7 4L8 11.4l-3.6 1.9.7-4L2.2 6.5l4-.6z',
  bookmarks: 'M4.5 2.5h7v11L8 11l-3.5 2.5z',
  computer: 'M2.5 3.5h11v7.5h-11zM6 13.5h4M8 11v2.5',
  search: 'M7 11.5a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zM10.3 10.3l3.2 3.2',
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, className }: { readonly name: IconName; readonly className?: string }): ReactElement {
  return (
    <svg className={`icon${className ? ` ${className}` : ''}`} viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
