/**
 * Where a transfer goes, in its row of the transfers pane, once the window has several
 * tabs: "to alice@files.example:7070" (an upload) or "from …" (a download), named after
 * the session of the row's own tab (the one it still names after a disconnect).
 */
import { useTranslation } from 'react-i18next';
import type { TransferView } from '../../../shared/common/transfer-model.js';
import { useStores } from '../state/stores-context.js';
import { useSeveralTabs, useTabs } from '../state/tabs-context.js';

export function TransferWhere({ direction }: { readonly direction: TransferView['direction'] }) {
  const { t } = useTranslation('tabs');
  const stores = useStores();
  const several = useSeveralTabs();
  const where = useTabs((s) => {
    const tab = s.tabs.find((x) => x.stores === stores);
    return tab ? (s.titles.get(tab.id)?.where ?? null) : null;
  });
  if (!several || where === null) return null;
  return <div className="transfer-where muted small selectable">{t(direction === 'upload' ? 'where.upload' : 'where.download', { where })}</div>;
}
