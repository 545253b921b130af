/**
 * The remote tree's permissions column: each row's rwx bits as `ls -l` shows them, the
 * octal form in its title, and the column's header (not sortable).
 */
import { useTranslation } from 'react-i18next';
import { octalText, permissionText } from '../../../shared/common/permissions.js';
import type { Entry } from '../../../shared/common/messages.js';

export function PermissionsHeader() {
  const { t } = useTranslation('permissions');
  return <span className="column cell-perms">{t('column')}</span>;
}

export function PermissionsCell({ entry }: { readonly entry: Entry }) {
  const { t } = useTranslation('permissions');
  return (
    <span className="cell-perms" title={t('octalTitle', { octal: octalText(entry.mode) })}>
      {permissionText(entry.mode)}
    </span>
  );
}
