/** The engine asks what to do when a file is already there (transfers:conflict). */
import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { ConflictDecision } from '../../../shared/common/transfer-model.js';
import { formatBytes, formatDate } from '../logic/format.js';
import { useStores, useTransfers } from '../state/stores-context.js';
import { Modal } from './modal.js';

const CHOICES: readonly ConflictDecision[] = ['overwrite', 'skip', 'rename', 'resume'];

export function ConflictDialog() {
  const { transfers } = useStores();
  const { t } = useTranslation('transfers');
  const prompt = useTransfers((s) => s.conflicts[0]);
  const waiting = useTransfers((s) => s.conflicts.length);
  const [applyToAll, setApplyToAll] = useState(false);
  if (!prompt) return null;
  const { transfer, existing } = prompt;
  const upload = transfer.direction === 'upload';
  const answer = (decision: ConflictDecision) => {
    void transfers.getState().resolveConflict(decision, applyToAll);
    setApplyToAll(false);
  };
  return (
    <Modal key={prompt.conflictId} title={t('conflict.title', { name: transfer.name })} onCancel={() => answer('skip')} describedBy="conflict-text">
      <p id="conflict-text">
        {upload ? (
          <Trans<'conflict.textUpload', 'transfers'> t={t} i18nKey="conflict.textUpload" values={{ path: transfer.remotePath }} components={{ path: <span className="selectable mono small" /> }} />
        ) : (
          <Trans<'conflict.textDownload', 'transfers'> t={t} i18nKey="conflict.textDownload" values={{ path: transfer.localPath }} components={{ path: <span className="selectable mono small" /> }} />
        )}
      </p>
      <dl className="compare">
        <dt>{t('conflict.thereNow')}</dt>
        <dd>
          {formatBytes(existing.size)}
          {existing.mtime > 0 ? t('conflict.modified', { date: formatDate(existing.mtime) }) : ''}
        </dd>
        <dt>{upload ? t('conflict.uploading') : t('conflict.downloading')}</dt>
        <dd>{formatBytes(transfer.size)}</dd>
      </dl>
      <div className="choice-list">
        {CHOICES.map((c, i) => (
          <button key={c} type="button" className={`choice${i === 0 ? ' primary' : ''}`} data-autofocus={i === 0 ? true : undefined} onClick={() => answer(c)} aria-label={t(`conflict.${c}`)} aria-describedby={`conflict-help-${c}`}>
            <span className="choice-label">{t(`conflict.${c}`)}</span>
            <span id={`conflict-help-${c}`} className="choice-help">
              {t(`conflict.${c}Help`)}
            </span>
          </button>
        ))}
      </div>
      <label className="check">
        <input type="checkbox" checked={applyToAll} onChange={(e) => setApplyToAll(e.target.checked)} />
        {waiting > 1 ? t('conflict.applyToAllWaiting', { count: waiting - 1 }) : t('conflict.applyToAll')}

      </label>
    </Modal>
  );
}
