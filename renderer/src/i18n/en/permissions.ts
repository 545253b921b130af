/** English: the permissions column of the remote tree and the chmod dialog. */
export const permissions = {
  column: 'Permissions',
  octalTitle: 'Octal {{octal}}',
  menuItem: 'Permissions…',
  titleOne: 'Permissions of “{{name}}”',
  titleMany: 'Permissions of {{count}} items',
  bitsGroup: 'Permission bits',
  who: {
    owner: 'Owner',
    group: 'Group',
    others: 'Others',
  },
  what: {
    read: 'Read',
    write: 'Write',
    execute: 'Execute',
  },
  checkbox: '{{who}}: {{what}}',
  octal: 'Octal',
  octalHint: 'Three or four octal digits, e.g. 0755',
  badOctal: 'Give three or four octal digits, at most 0777 (e.g. 0755 or 644).',
  recursive: 'Apply to everything inside',
  recursiveHint: 'Files and folders below get the same bits; links are skipped.',
  ok: 'OK',
  cancel: 'Cancel',
  failed: 'Could not change the permissions of “{{name}}”: {{error}}',
} as const;
