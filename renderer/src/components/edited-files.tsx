/**
 * Edited files: one entry per file being edited in place, with its state and a row per
 * save ("Saved · SHA-256 verified", "Failed: EQUOTA: …"), so a save that did not reach
 * the server stays in sight until it does (or is discarded on purpose).
 */
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EditView } from '../../../shared/common/edit-model.js';
import { unsaved } from '../../../shared/common/edit-model.js';
import { editStateText, saveRowText } from '../logic/edit-text.js';
import { formatBytes, formatDate } from '../logic/format.js';
import { useEdits, useStores } from '../state/stores-context.js';

/** Save rows shown per file (the newest). */
const ROWS_SHOWN = 5;

export function EditedFiles() {
  const edits = useEdits((s) => s.edits);
  const { t } = useTranslation('edit');
  if (edits.length === 0) return null;
  return (
    <section className="edited-files" aria-labelledby="edited-files-heading">
      <h3 id="edited-files-heading" className="edited-title small">
        {t('edited')}
      </h3>
      <ul className="edited-list" aria-labelledby="edited-files-heading">
        {edits.map((e) => (
          <EditedFile key={e.id} edit={e} />
        ))}
      </ul>
    </section>
  );
}

function EditedFile({ edit }: { readonly edit: EditView }) {
  const { edits } = useStores();
  const { t } = useTranslation('edit');
  const s = edits.getState();
  const pending = unsaved(edit);
  /** Discarding a save the server does not have asks once more. */
  const [confirming, setConfirming] = useState(false);
  return (
    <li className={`edited-file state-${edit.state.kind}`} aria-label={edit.name}>
      <div className="edited-head">
        <span className="edited-name" title={edit.remotePath}>
          {edit.name}
        </span>
        <span className="edited-state small" role="status">
          {editStateText(edit.state)}
        </span>
        <span className="edited-actions">
          {edit.opener === 'builtin' && (
            <button type="button" className="button small subtle" onClick={() => s.show(edit.id)}>
              {t('open')}
            </button>
          )}
          {edit.state.kind === 'failed' && (
            <button type="button" className="button small" onClick={() => void s.retry(edit.id)}>
              {t('retry')}
            </button>
          )}
          {edit.state.kind === 'conflict' && (
            <>
              <button type="button" className="button small" onClick={() => void s.resolve(edit.id, 'overwrite')}>
                {t('conflict.overwrite')}
              </button>
              <button type="button" className="button small" onClick={() => void s.resolve(edit.id, 'copy')}>
                {t('saveCopy')}
              </button>
              <button type="button" className="button small" onClick={() => void s.resolve(edit.id, 'compare')}>
                {t('downloadTheirs')}
              </button>
            </>
          )}
          {confirming && pending ? (
            <>
              <button type="button" className="button small danger" onClick={() => void s.close(edit.id, true)}>
                {t('discardSave')}
              </button>
              <button type="button" className="button small" onClick={() => setConfirming(false)}>
                {t('keep')}
              </button>
            </>
          ) : (
            <button
              type="button"
              className={`button small${pending ? ' danger-outline' : ' subtle'}`}
              onClick={() => (pending ? setConfirming(true) : void s.close(edit.id, false))}
              title={pending ? t('discardTitle') : t('doneTitle')}
            >
              {pending ? t('discard') : t('done')}
            </button>
          )}
        </span>
      </div>
      {edit.saves.length > 0 && (
        <ol className="save-rows" aria-label={t('saves', { name: edit.name })}>

          {edit.saves.slice(-ROWS_SHOWN).map((row) => (
            <li key={row.id} className={`save-row outcome-${row.outcome.kind}`}>
              <span className="save-text">{saveRowText(row)}</span>
              <span className="muted small">
                {formatBytes(row.size)} · {formatDate(row.at)}
              </span>
            </li>
          ))}
        </ol>
      )}
    </li>
  );
}
