/**
 * Host keys are pinned on first use, over either protocol (an SFTP server's key is asked
 * about only when ~/.ssh/known_hosts does not already decide it). A new key is shown for
 * the person to compare with what their administrator gave them; a changed key is a
 * blocking warning, and replacing the pinned key takes an explicit, clearly worded choice
 * (never a default).
 */
import { useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { useSession, useStores } from '../state/stores-context.js';
import { Modal } from './modal.js';

export function HostKeyDialog() {
  const prompt = useSession((s) => s.hostKey);
  if (!prompt) return null;
  return prompt.kind === 'new' ? <NewKey /> : <ChangedKey />;
}

function NewKey() {
  const { session } = useStores();
  const { t } = useTranslation(['connect', 'common']);
  const prompt = useSession((s) => s.hostKey);
  const [busy, setBusy] = useState(false);
  if (!prompt) return null;
  const cancel = () => session.getState().dismissHostKey();
  // Where the administrator finds the fingerprint to compare.
  const sftp = prompt.input.protocol === 'sftp';
  return (
    <Modal title={t('hostKey.newTitle')} onCancel={cancel} describedBy="hostkey-new-text">
      <p id="hostkey-new-text">
        {sftp ? (
          <Trans<'hostKey.newTextSftp', 'connect'>
            t={t}
            i18nKey="hostKey.newTextSftp"
            values={{ hostPort: prompt.hostPort }}
            components={{ host: <strong className="selectable" />, code: <code /> }}
          />
        ) : (
          <Trans<'hostKey.newText', 'connect'>
            t={t}
            i18nKey="hostKey.newText"
            values={{ hostPort: prompt.hostPort, source: t('hostKey.sourceFerry') }}
            components={{ host: <strong className="selectable" /> }}
          />
        )}
      </p>
      <p className="field-caption">{t('hostKey.fingerprint')}</p>
      <div className="fingerprint selectable">{prompt.fingerprint}</div>
      <div className="button-row end">
        <button type="button" className="button" onClick={cancel}>
          {t('common:button.cancel')}
        </button>
        <button
          type="button"
          className="button primary"
          data-autofocus
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void session.getState().trustHostKey().finally(() => setBusy(false));
          }}
        >
          {t('hostKey.trust')}
        </button>
      </div>
    </Modal>
  );
}

function ChangedKey() {
  const { session } = useStores();
  const { t } = useTranslation(['connect', 'common']);
  const prompt = useSession((s) => s.hostKey);
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!prompt || prompt.kind !== 'changed') return null;
  const cancel = () => session.getState().dismissHostKey();
  return (
    <Modal title={t('hostKey.changedTitle')} tone="danger" onCancel={cancel} describedBy="hostkey-changed-text">
      <div id="hostkey-changed-text">
        <p>
          <Trans<'hostKey.changedText', 'connect'> t={t} i18nKey="hostKey.changedText" values={{ hostPort: prompt.hostPort }} components={{ host: <strong className="selectable" />, strong: <strong /> }} />
        </p>
        <p>{t('hostKey.changedRisk')}</p>
      </div>
      <dl className="key-compare">
        <dt>{t('hostKey.expected')}</dt>
        <dd className="fingerprint selectable">{prompt.expected}</dd>
        <dt>{t('hostKey.presented')}</dt>
        <dd className="fingerprint selectable danger-text">{prompt.fingerprint}</dd>
      </dl>
      <label className="check">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
        {t('hostKey.confirmed')}
      </label>
      <div className="button-row end">
        <button
          type="button"
          className="button danger"
          disabled={!confirmed || busy}
          onClick={() => {
            setBusy(true);
            void session.getState().replaceHostKey().finally(() => setBusy(false));
          }}
        >
          {t('hostKey.replace')}
        </button>
        <button type="button" className="button primary" data-autofocus onClick={cancel}>
          {t('common:button.cancel')}
        </button>

      </div>
    </Modal>
  );
}
