/**
 * The connection form's start folder (under More options): the folder a saved connection
 * opens in, saved with the profile ('' for none: its home). Also set from Bookmarks.
 */
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession, useStores } from '../state/stores-context.js';

export function StartFolderField() {
  const { t } = useTranslation('panes');
  const { session } = useStores();
  const value = useSession((s) => s.draft.startFolder);
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{t('start.field')}</label>
      <input id={id} value={value} placeholder={t('start.placeholder')} spellCheck={false} autoComplete="off" onChange={(e) => session.getState().setDraft({ startFolder: e.target.value })} />
    </div>
  );
}
