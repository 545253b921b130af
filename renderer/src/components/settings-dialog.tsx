/** The UI's language, where downloads go, how many files move at once, and the speed limits (settings:get/set, kept by the engine). */
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { UI_LANGUAGES, type UiLanguage } from '../../../shared/common/languages.js';
import { LANGUAGE_NAMES } from '../i18n/i18n.js';
import { formatError } from '../logic/format.js';
import { useSession, useStores } from '../state/stores-context.js';
import { CheckSetting } from './check-setting.js';
import { Modal } from './modal.js';
import { SpeedLimitFields, useLimitDrafts } from './speed-limits.js';

export function SettingsDialog() {
  const { session, ui, api } = useStores();
  const { t } = useTranslation(['settings', 'common', 'limits']);
  const settings = useSession((s) => s.settings);
  const [language, setLanguage] = useState<UiLanguage>(settings?.language ?? 'system');
  const [dir, setDir] = useState(settings?.downloadDir ?? '');
  const [concurrency, setConcurrency] = useState(String(settings?.concurrency ?? 4));
  const [checkSha256, setCheckSha256] = useState(settings?.checkSha256 ?? false);
  const [problem, setProblem] = useState<string | null>(null);
  const limits = useLimitDrafts(settings);
  const close = () => ui.getState().closeDialog();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = Number(concurrency);
    if (!Number.isInteger(n) || n < 1 || n > 16) return setProblem(t('concurrencyProblem'));
    if (dir.trim() === '') return setProblem(t('downloadProblem'));
    const speed = limits.values();
    if (speed === null) return setProblem(t('limits:invalid'));
    // The folder only when it changed: browser mode refuses to move it outside the host's
    // download folder, but keeps one chosen there in the desktop app.
    const folder = dir.trim() !== settings?.downloadDir ? { downloadDir: dir.trim() } : {};
    const ok = await session.getState().saveSettings({ ...folder, concurrency: n, language, ...speed, checkSha256 });
    if (ok) close();
    else {
      const error = session.getState().settingsError;
      setProblem(error ? formatError(error) : t('notSaved'));
    }
  };

  return (
    <Modal title={t('title')} onCancel={close}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor="settings-download-dir">{t('downloadDir')}</label>
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
            {api.platform === 'browser' ? t('downloadHelpBrowser') : t('downloadHelp')}
          </p>
        </div>
        <div className="field narrow">
          <label htmlFor="settings-concurrency">{t('concurrency')}</label>
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
        <div className="field narrow">
          <label htmlFor="settings-language">{t('language')}</label>
          <select
            id="settings-language"
            value={language}
            onChange={(e) => setLanguage(e.target.value as UiLanguage)}
            aria-describedby="settings-language-help"
          >
            {UI_LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {l === 'system' ? t('common:language.system') : LANGUAGE_NAMES[l]}
              </option>
            ))}
          </select>
          <p id="settings-language-help" className="muted small">
            {t('languageHelp')}
          </p>
        </div>
        <SpeedLimitFields limits={limits} onEdit={() => setProblem(null)} />
        <CheckSetting checked={checkSha256} onChange={setCheckSha256} />
        {problem && (
          <p className="form-error selectable" role="alert">
            {problem}
          </p>
        )}
        <div className="button-row end">
          <button type="button" className="button" onClick={close}>
            {t('common:button.cancel')}
          </button>
          <button type="submit" className="button primary">
            {t('common:button.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
