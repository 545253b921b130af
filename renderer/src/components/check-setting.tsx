/**
 * The Settings dialog's choice of transfer check: XXH3-128 by default (fast, catches
 * corruption), or SHA-256 on every transfer (Settings.checkSha256).
 */
import { useTranslation } from 'react-i18next';

export function CheckSetting({ checked, onChange }: { readonly checked: boolean; readonly onChange: (checked: boolean) => void }) {
  const { t } = useTranslation('checks');
  return (
    <div className="field">
      <label className="check">
        <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-describedby="settings-check-help" />
        {t('settings.sha256')}
      </label>
      <p id="settings-check-help" className="muted small">
        {t('settings.sha256Help')}
      </p>
    </div>
  );
}
