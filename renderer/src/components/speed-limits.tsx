/**
 * Speed limits in the window: the two fields of the Settings dialog (an amount and a unit
 * each) and the status bar's indicator of the limits that are on (a button to Settings).
 * The engine holds the limits (settings:set); this only edits and shows them.
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Settings } from '../../../shared/common/contract.js';
import { formatSpeed } from '../logic/format.js';
import { LIMIT_UNITS, draftOf, limitOf, type LimitDraft, type LimitUnit } from '../logic/speed-limit.js';
import { useSession, useStores } from '../state/stores-context.js';
import './speed-limits.css';

type Direction = 'upload' | 'download';
const DIRECTIONS: readonly Direction[] = ['upload', 'download'];

/** The two drafts of the Settings dialog, and the limits they say (null while one is not a number). */
export function useLimitDrafts(settings: Settings | null) {
  const [drafts, setDrafts] = useState<Record<Direction, LimitDraft>>(() => ({
    upload: draftOf(settings?.uploadLimit ?? 0),
    download: draftOf(settings?.downloadLimit ?? 0),
  }));
  const edit = (direction: Direction, change: Partial<LimitDraft>) => setDrafts((d) => ({ ...d, [direction]: { ...d[direction], ...change } }));
  const values = (): { uploadLimit: number; downloadLimit: number } | null => {
    const uploadLimit = limitOf(drafts.upload);
    const downloadLimit = limitOf(drafts.download);
    return uploadLimit === null || downloadLimit === null ? null : { uploadLimit, downloadLimit };
  };
  return { drafts, edit, values };
}

export type LimitDrafts = ReturnType<typeof useLimitDrafts>;

/** "Upload limit" and "Download limit": a number and its unit each, and what they mean. */
export function SpeedLimitFields({ limits, onEdit }: { readonly limits: LimitDrafts; readonly onEdit: () => void }) {
  const { t } = useTranslation('limits');
  return (
    <div className="speed-limits">
      <div className="speed-limit-row">
        {DIRECTIONS.map((direction) => {
          const draft = limits.drafts[direction];
          const invalid = limitOf(draft) === null;
          return (
            <div className="field" key={direction}>
              <label htmlFor={`settings-${direction}-limit`}>{t(`${direction}.label`)}</label>
              <div className="speed-limit-input">
                <input
                  id={`settings-${direction}-limit`}
                  type="number"
                  min={0}
                  step="any"
                  inputMode="decimal"
                  value={draft.amount}
                  aria-invalid={invalid}
                  aria-describedby="settings-limits-help"
                  onChange={(e) => {
                    limits.edit(direction, { amount: e.target.value });
                    onEdit();
                  }}
                />
                <select
                  aria-label={t(`${direction}.unit`)}
                  value={draft.unit}
                  onChange={(e) => {
                    limits.edit(direction, { unit: e.target.value as LimitUnit });
                    onEdit();
                  }}
                >
                  {(Object.keys(LIMIT_UNITS) as LimitUnit[]).map((unit) => (
                    <option key={unit} value={unit}>
                      {t(`units.${unit}`)}
                    </option>
                  ))}
                </select>
              </div>
            </div>
          );
        })}
      </div>
      <p id="settings-limits-help" className="muted small">
        {t('help')}
      </p>
    </div>
  );
}

/** The status bar's "↑ 1.0 MiB/s limit" and "↓ …" while a limit is on; each opens Settings. */
export function SpeedLimitIndicator() {
  const { t } = useTranslation('limits');
  const { ui } = useStores();
  const settings = useSession((s) => s.settings);
  if (!settings) return null;
  const on = DIRECTIONS.map((direction) => ({ direction, limit: direction === 'upload' ? settings.uploadLimit : settings.downloadLimit })).filter((l) => l.limit > 0);
  return (
    <>
      {on.map(({ direction, limit }) => (
        <button
          type="button"
          key={direction}
          className="status-item speed-limit-indicator"
          aria-label={t(`${direction}.indicatorName`, { rate: formatSpeed(limit) })}
          title={t(`${direction}.indicatorName`, { rate: formatSpeed(limit) })}
          onClick={() => ui.getState().openDialog({ kind: 'settings' })}
        >
          {t(`${direction}.indicator`, { rate: formatSpeed(limit) })}
        </button>
      ))}
    </>
  );
}

