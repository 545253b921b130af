/**
 * Links in the console's output (OSC 8 hyperlinks printed by a command): one opens only
 * when the person Ctrl+clicks it (⌘+click on a Mac), like a terminal in an editor, and
 * only if it is a web page (shared/common/links.ts). A plain click selects text, as
 * everywhere else in the console; hovering shows where the link really goes.
 */
import { openableLink } from '../../../shared/common/links.js';
import { i18n } from '../i18n/i18n.js';

export interface LinkClick {
  readonly ctrlKey: boolean;
  readonly metaKey: boolean;
}

/** The URL a click on the link `uri` opens, or null (no modifier, or not a web page). */
export function linkToOpen(click: LinkClick, uri: string): string | null {
  if (!click.ctrlKey && !click.metaKey) return null;
  return openableLink(uri);
}

/** What hovering the link says: its real address and how to open it. */
export function linkHint(uri: string, mac: boolean): string {
  const url = openableLink(uri);
  return url === null ? i18n.t('console:link.refused') : i18n.t('console:link.hint', { url, key: mac ? '⌘' : 'Ctrl' });

}
