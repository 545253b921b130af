/** Where downloads go, how many files move at once, and the speed limits (settings:get/set, kept by the engine). */
import { useState, type FormEvent } from 'react';
import { i18n } from '../i18n/i18n.js';
import { formatError } from '../logic/format.js';
import { useSession, useStores } from '../state/stores-context.js';
import { Modal } from './modal.js';
import { SpeedLimitFields, useLimitDrafts } from './speed-limits.js';

export function SettingsDialog() {
  const { session, ui, api } = useStores();
  const settings = useSession((s) => s.settings);
  const [dir, setDir] = useState(settings?.downloadDir ?? '');
  const [concurrency, setConcurrency] = useState(String(settings?.concurrency ?? 4));
  const [problem, setProblem] = useState<string | null>(null);
  const limits = useLimitDrafts(settings);
  const close = () => ui.getState().closeDialog();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = Number(concurrency);
    if (!Number.isInteger(n) || n < 1 || n > 16) return setProblem('Transfers at once is a whole number from 1 to 16.');
    if (dir.trim() === '') return setProblem('Enter the folder downloads go to.');
    const speed = limits.values();
    if (speed === null) return setProblem(i18n.t('limits:invalid'));
    // The folder only when it changed: browser mode refuses to move it outside the host's
    // download folder, but keeps one chosen there in the desktop app.
    const folder = dir.trim() !== settings?.downloadDir ? { downloadDir: dir.trim() } : {};
    const ok = await session.getState().saveSettings({ ...folder, concurrency: n, ...speed });
    if (ok) close();
    else {
      const error = session.getState().settingsError;
      setProblem(error ? formatError(error) : 'The settings could not be saved.');
    }
  };

  return (
    <Modal title="Settings" onCancel={close}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor="settings-download-dir">Download folder</label>
          <input
            id="settings-download-dir"
            data-autofocus
            value={dir}
            spellCheck={false}
            onChange={(e) => {
              setDir(e.target.value);
              setProblem(null);
            }}
            aria-describedby="settings-download-help"
          />
          <p id="settings-download-help" className="muted small">
            {api.platform === 'browser'
              ? 'A folder on the computer running Ferry’s browser host, inside the download folder it was started with. Downloads land there, checked by SHA-256.'
              : 'A folder on this computer. Downloads land there, checked by SHA-256.'}
          </p>
        </div>
        <div className="field narrow">
          <label htmlFor="settings-concurrency">Transfers at once</label>
          <input
            id="settings-concurrency"
            type="number"
            min={1}
            max={16}
            value={concurrency}
            onChange={(e) => {
              setConcurrency(e.target.value);
              setProblem(null);
            }}
          />
        </div>
        <SpeedLimitFields limits={limits} onEdit={() => setProblem(null)} />
        {problem && (
          <p className="form-error selectable" role="alert">
            {problem}
          </p>
        )}
        <div className="button-row end">
          <button type="button" className="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="button primary">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
