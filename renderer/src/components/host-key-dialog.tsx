/**
 * Host keys are pinned on first use, over either protocol (an SFTP server's key is asked
 * about only when ~/.ssh/known_hosts does not already decide it). A new key is shown for
 * the person to compare with what their administrator gave them; a changed key is a
 * blocking warning, and replacing the pinned key takes an explicit, clearly worded choice
 * (never a default).
 */
import { useState } from 'react';
import { useSession, useStores } from '../state/stores-context.js';
import { Modal } from './modal.js';

export function HostKeyDialog() {
  const prompt = useSession((s) => s.hostKey);
  if (!prompt) return null;
  return prompt.kind === 'new' ? <NewKey /> : <ChangedKey />;
}

function NewKey() {
  const { session } = useStores();
  const prompt = useSession((s) => s.hostKey);
  const [busy, setBusy] = useState(false);
  if (!prompt) return null;
  const cancel = () => session.getState().dismissHostKey();
  // Where the administrator finds the fingerprint to compare.
  const source =
    prompt.input.protocol === 'sftp' ? (
      <>
        on the server, <code>ssh-keygen -lf</code> prints it for the host key
      </>
    ) : (
      'ferryd prints it when it starts'
    );
  return (
    <Modal title="Trust this server?" onCancel={cancel} describedBy="hostkey-new-text">
      <p id="hostkey-new-text">
        This is the first connection to <strong className="selectable">{prompt.hostPort}</strong> from this computer. Compare the
        server’s key fingerprint with the one your administrator gave you ({source}). Trust it only if they match; Ferry will
        then warn you if it ever changes.
      </p>
      <p className="field-caption">Key fingerprint</p>
      <div className="fingerprint selectable">{prompt.fingerprint}</div>
      <div className="button-row end">
        <button type="button" className="button" onClick={cancel}>
          Cancel
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
          Trust
        </button>
      </div>
    </Modal>
  );
}

function ChangedKey() {
  const { session } = useStores();
  const prompt = useSession((s) => s.hostKey);
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!prompt || prompt.kind !== 'changed') return null;
  const cancel = () => session.getState().dismissHostKey();
  return (
    <Modal title="Warning: the server’s key has changed" tone="danger" onCancel={cancel} describedBy="hostkey-changed-text">
      <div id="hostkey-changed-text">
        <p>
          <strong className="selectable">{prompt.hostPort}</strong> presented a different key from the one recorded the last time
          you connected. Ferry has <strong>not</strong> connected and sent nothing.
        </p>
        <p>
          This can mean that someone is intercepting the connection (a man-in-the-middle attack) to read your files or your
          login. It can also mean that the administrator reinstalled the server or replaced its key. Do not continue unless the
          administrator confirmed the new fingerprint to you.
        </p>
      </div>
      <dl className="key-compare">
        <dt>Expected (recorded)</dt>
        <dd className="fingerprint selectable">{prompt.expected}</dd>
        <dt>Presented now</dt>
        <dd className="fingerprint selectable danger-text">{prompt.fingerprint}</dd>
      </dl>
      <label className="check">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
        The administrator confirmed this new key to me
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
          Forget old key and trust the new one
        </button>
        <button type="button" className="button primary" data-autofocus onClick={cancel}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}
