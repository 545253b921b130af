/**
 * First run: with no saved connections, connect to the built-in "Local server" (the
 * app's own ferryd on this computer, profile id 'local') and show a short welcome above
 * the connection details: what Ferry is, how to add a remote server, and how to run
 * ferryd on another machine. "Got it" hides it for good (remembered by this page's
 * storage, best effort); it also stops appearing once a connection is saved.
 */
import { useEffect, useId, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import type { Profile } from '../../../shared/common/contract.js';
import { useSession, useStores } from '../state/stores-context.js';
import './welcome.css';

export const LOCAL_PROFILE_ID = 'local';
const DISMISSED_KEY = 'ferry.welcome.dismissed';
export const FERRYD_COMMAND =
  "FERRY_PASSWORD='a long passphrase' npx ferryd user add alice --root ./srv --exec &&\n  npx ferryd serve --root ./srv --host 0.0.0.0";

/** Once per page: StrictMode (and remounts) must not connect twice. */
let firstRunChecked = false;

function dismissed(): boolean {
  try {
    return localStorage.getItem(DISMISSED_KEY) === '1';
  } catch {
    return false;
  }
}

export function Welcome() {
  const { api, session } = useStores();
  const { t } = useTranslation();
  const [show, setShow] = useState(false);
  const headingId = useId();
  const onLocal = useSession((s) => s.connection.state === 'connected' && s.connection.session.profileId === LOCAL_PROFILE_ID);
  const hasSaved = useSession((s) => s.profiles.some((p) => !p.local));

  useEffect(() => {
    if (firstRunChecked) return;
    firstRunChecked = true;
    void (async () => {
      const [state, list] = await Promise.all([api.call('session:state'), api.call('profiles:list')]);
      if (!list.ok || !state.ok) return;
      const local: Profile | undefined = list.value.find((p) => p.local === true);
      if (!local || list.value.some((p) => !p.local)) return;
      if (!dismissed()) setShow(true);
      if (state.value.state !== 'disconnected' || session.getState().connection.state !== 'disconnected') return;
      session.getState().pickProfile(local);
      await session.getState().connect({ protocol: 'ferry', host: local.host, port: local.port, user: local.user, profileId: local.id });
    })();
  }, [api, session]);

  if (!show || !onLocal || hasSaved) return null;
  const close = (): void => {
    setShow(false);
    try {
      localStorage.setItem(DISMISSED_KEY, '1');
    } catch {
      /* not remembered: it shows again next time */
    }
  };
  return (
    <section className="panel-section welcome" aria-labelledby={headingId}>
      <h2 id={headingId} className="welcome-title">
        {t('welcome.title')}
      </h2>
      <p>{t('welcome.intro')}</p>
      <p>
        <Trans<'welcome.local', 'common'> t={t} i18nKey="welcome.local" components={{ strong: <strong /> }} />
      </p>
      <h3 className="welcome-subtitle">{t('welcome.addTitle')}</h3>
      <p>{t('welcome.add')}</p>
      <h3 className="welcome-subtitle">{t('welcome.runTitle')}</h3>
      <p>{t('welcome.run')}</p>
      <pre className="welcome-command selectable">{FERRYD_COMMAND}</pre>
      <p className="muted small">{t('welcome.fingerprint')}</p>
      <div className="button-row">
        <button type="button" className="button primary" onClick={close}>
          {t('welcome.gotIt')}
        </button>

      </div>
    </section>
  );
}
