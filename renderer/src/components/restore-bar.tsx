/**
 * The saved queue, offered again: after a login, the engine is asked for the transfers left
 * unfinished when this connection was last left ('transfers:saved'); a bar offers to resume
 * them (each continues from its partial) or discard them, with their list on request.
 */
import { useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SavedQueueOffer } from '../../../shared/common/transfer-log.js';
import { formatBytes, formatError } from '../logic/format.js';
import { useSession, useStores } from '../state/stores-context.js';
import './history.css';

export function RestoreBar() {
  const { t } = useTranslation('history');
  const { api } = useStores();
  const connected = useSession((s) => s.connection.state === 'connected');
  const [offer, setOffer] = useState<SavedQueueOffer | null>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const listId = useId();

  // Asked once per login (a change of folder re-sends the session, not a new login).
  useEffect(() => {
    if (!connected) {
      setOffer(null);
      return;
    }
    let current = true;
    void api.call('transfers:saved').then((r) => {
      if (current && r.ok) setOffer(r.value);
    });
    return () => {
      current = false;
    };
  }, [api, connected]);

  if (!offer || (offer.transfers.length === 0 && offer.leftOut === 0)) return null;

  const act = async (call: 'transfers:restore' | 'transfers:discardSaved') => {
    setBusy(true);
    setProblem(null);
    const r = await api.call(call);
    setBusy(false);
    if (!r.ok) return setProblem(formatError(r.error));
    setOffer(null);
    setOpen(false);
  };

  const count = offer.transfers.length;
  return (
    <div className="restore-bar" role="region" aria-label={t('restore.region')}>
      <div className="restore-head">
        <span className="restore-text">
          {count > 0 && t('restore.summary', { count })}
          {offer.leftOut > 0 && <span className="muted"> {t('restore.leftOut', { count: offer.leftOut })}</span>}
        </span>
        {count > 0 && (
          <>
            <button type="button" className="button small primary" disabled={busy} onClick={() => void act('transfers:restore')}>
              {t('restore.resume')}
            </button>
            <button type="button" className="link-button small" aria-expanded={open} aria-controls={listId} onClick={() => setOpen(!open)}>
              {open ? t('restore.hide') : t('restore.show')}
            </button>
          </>
        )}
        <button type="button" className="button small subtle" disabled={busy} onClick={() => void act('transfers:discardSaved')}>
          {t('restore.discard')}
        </button>
      </div>
      {problem && (
        <p className="form-error selectable" role="alert">
          {problem}
        </p>
      )}
      {open && (
        <ul id={listId} className="restore-list" aria-label={t('restore.list')}>
          {offer.transfers.map((s) => (
            <li key={`${s.direction}:${s.localPath}:${s.remotePath}`} className="restore-item">
              <span className="restore-dir muted">{s.direction === 'upload' ? t('restore.up') : t('restore.down')}</span>
              <span className="restore-name selectable" title={s.direction === 'upload' ? `${s.localPath} → ${s.remotePath}` : `${s.remotePath} → ${s.localPath}`}>
                {s.name}
              </span>
              <span className="restore-state muted">
                {s.state === 'failed' ? t('restore.failed', { error: s.error ? `${s.error.code}: ${s.error.message}` : '' }) : t(`restore.${s.state}`)}
                {' · '}
                {t('restore.progress', { bytes: formatBytes(s.bytes), size: formatBytes(s.size) })}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
