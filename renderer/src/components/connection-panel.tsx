/**
 * The left column: saved connections and the connection form (while disconnected), or
 * the current connection (while connected). The form speaks Ferry's protocol or SFTP;
 * SFTP adds a key file, ssh-agent and, when a key asks for one, its passphrase. Errors
 * appear right under the form, in words a person can act on.
 */
import { useEffect, useId, useRef, type FormEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import type { Profile } from '../../../shared/common/contract.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { PROTOCOLS, type Protocol } from '../../../shared/common/protocols.js';
import { i18n } from '../i18n/i18n.js';
import { connectHint, formatError } from '../logic/format.js';
import { currentSession } from '../state/session-store.js';
import { passphraseWanted } from '../logic/connect-draft.js';
import { useSession, useStores } from '../state/stores-context.js';
import { Icon } from './icons.js';
import { PROTOCOL_NAME } from './status-bar.js';
import { StartFolderField } from './start-folder-field.js';

export function ConnectionPanel() {
  const connection
 = useSession((s) => s.connection);
  const busy = connection.state === 'connected' || connection.state === 'reconnecting';
  // Saved connections sit above the form, so nothing the form shows (errors, hints) moves
  // them between the two clicks of a double-click.
  return (
    <div className="sidebar-inner">
      {busy ? (
        <>
          <CurrentConnection />
          <ProfileList disabled />
        </>
      ) : (
        <>
          <ProfileList disabled={false} />
          <ConnectForm />
        </>
      )}
    </div>
  );
}

function CurrentConnection() {
  const connection = useSession((s) => s.connection);
  const session = useSession(currentSession);
  const declined = useSession((s) => s.rememberDeclined);
  const { t } = useTranslation(['connect', 'common']);
  const { t: tc } = useTranslation('checks');
  return (
    <section className="panel-section" aria-labelledby="current-heading">
      <h2 id="current-heading" className="section-title">
        {t('current.title')}
      </h2>
      {session ? (
        <dl className="facts">
          <dt>{t('current.server')}</dt>
          <dd className="selectable">
            {session.host}:{session.port}
          </dd>
          <dt>{t('current.protocol')}</dt>
          <dd>{PROTOCOL_NAME[session.protocol]}</dd>
          <dt>{t('current.user')}</dt>
          <dd className="selectable">{session.user.name}</dd>
          <dt>{t('current.key')}</dt>
          <dd className="selectable mono small" title={session.fingerprint ?? undefined}>
            {session.fingerprint ?? t('current.notEncrypted')}
          </dd>
          <dt>{t('current.commands')}</dt>
          <dd>{!session.user.exec ? t('current.commandsDenied') : session.protocol === 'sftp' ? t('current.commandsSftp') : t('current.commandsAllowed')}</dd>
          <dt>{t('current.checks')}</dt>
          <dd>{session.check === 'xxh128' ? tc('session.xxh128') : session.check === 'sha256' ? t('current.checksSha256') : t('current.checksSize')}</dd>
        </dl>
      ) : (
        <p className="muted">
          {connection.state === 'reconnecting' ? t('common:connection.reconnectingAttempt', { attempt: connection.attempt }) : t('common:connection.connecting')}
        </p>
      )}
      {declined && (
        <p className="muted small" role="status">
          {session?.protocol === 'sftp' ? t('current.notRememberedSftp') : t('current.notRemembered')}
        </p>
      )}
      <p className="muted small">{t('current.elsewhere')}</p>
    </section>
  );
}

function ConnectForm() {
  const { session } = useStores();
  const { t } = useTranslation('connect');
  const draft = useSession((s) => s.draft);
  const problem = useSession((s) => s.draftProblem);
  const error = useSession((s) => s.error);
  const connecting = useSession((s) => s.connecting || s.connection.state === 'connecting');
  const picked = useSession((s) => s.profiles.find((p) => p.id === s.draft.profileId) ?? null);
  const ids = {
    protocol: useId(),
    host: useId(),
    port: useId(),
    user: useId(),
    password: useId(),
    keyFile: useId(),
    passphrase: useId(),
    passphraseFor: useId(),
    name: useId(),
    error: useId(),
  };
  const set = session.getState().setDraft;
  const sftp = draft.protocol === 'sftp';

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void session.getState().submitDraft();
  };

  const hint = error ? formHint(error, draft.protocol, draft.password) : null;
  // An error makes the form taller: keep Connect in view (a short window would hide it).
  const buttons = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error || problem) buttons.current?.scrollIntoView?.({ block: 'nearest' });
  }, [error, problem]);
  // A key that asks for its passphrase: the person types it next.
  const passphraseInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (draft.passphraseFor !== null) passphraseInput.current?.focus();
  }, [draft.passphraseFor]);
  return (
    <form className="panel-section connect-form" aria-labelledby="connect-heading" onSubmit={submit} noValidate>
      <h2 id="connect-heading" className="section-title">
        {t('form.title')}
      </h2>
      <div className="field">
        <span id={ids.protocol} className="field-label">
          {t('form.protocol')}
        </span>
        <div className="segmented" role="radiogroup" aria-labelledby={ids.protocol}>
          {PROTOCOLS.map((p) => (
            <label key={p} title={p === 'sftp' ? t('form.protocolSftp') : t('form.protocolFerry')}>
              <input type="radio" name="protocol" value={p} checked={draft.protocol === p} onChange={() => set({ protocol: p })} />
              {PROTOCOL_NAME[p]}
            </label>
          ))}
        </div>
      </div>
      <div className="field-row">
        <div className="field grow">
          <label htmlFor={ids.host}>{t('form.host')}</label>
          <input
            id={ids.host}
            value={draft.host}
            onChange={(e) => set({ host: e.target.value })}
            autoComplete="off"
            spellCheck={false}
            aria-describedby={error || problem ? ids.error : undefined}
          />
        </div>
        <div className="field port">
          <label htmlFor={ids.port}>{t('form.port')}</label>
          <input id={ids.port} value={draft.port} inputMode="numeric" onChange={(e) => set({ port: e.target.value })} />
        </div>
      </div>
      <div className="field">
        <label htmlFor={ids.user}>{t('form.user')}</label>
        <input id={ids.user} value={draft.user} autoComplete="username" spellCheck={false} onChange={(e) => set({ user: e.target.value })} />
      </div>
      <div className="field">
        <label htmlFor={ids.password}>{t('form.password')}</label>
        <input
          id={ids.password}
          type="password"
          value={draft.password}
          autoComplete="current-password"
          placeholder={picked?.remembered ? t('form.passwordRemembered') : sftp ? t('form.passwordSftp') : undefined}
          onChange={(e) => set({ password: e.target.value })}
        />
      </div>
      {sftp && <SshKeyFields ids={ids} passphraseInput={passphraseInput} />}
      <label className="check">
        <input type="checkbox" checked={draft.remember} onChange={(e) => set({ remember: e.target.checked })} />
        {t('form.remember')}
      </label>
      <details className="advanced">
        <summary>{t('form.more')}</summary>
        <div className="field">
          <label htmlFor={ids.name}>{t('form.profileName')}</label>
          <input id={ids.name} value={draft.name} placeholder={draft.user && draft.host ? `${draft.user}@${draft.host}` : t('form.profileNamePlaceholder')} onChange={(e) => set({ name: e.target.value })} />
        </div>
        <StartFolderField />
        {!sftp && (
          <label className="check">
            <input type="checkbox" checked={draft.plain} onChange={(e) => set({ plain: e.target.checked })} />
            {t('form.plain')}
          </label>
        )}
        {!sftp && draft.plain && (
          <label className="check">
            <input type="checkbox" checked={draft.insecurePlainOnNetwork} onChange={(e) => set({ insecurePlainOnNetwork: e.target.checked })} />
            {t('form.plainOnNetwork')}
          </label>
        )}
      </details>
      {(error || problem) && (
        <div id={ids.error} className="form-error selectable" role="alert">
          {problem ?? (error ? formatError(error) : '')}
          {hint && !problem && <div className="hint">{hint}</div>}
        </div>
      )}
      <p className="muted small remember-note">
        {!draft.remember
          ? sftp
            ? t('form.onceSftp')
            : t('form.once')
          : sftp
            ? t('form.keptSftp')
            : t('form.kept')}
      </p>
      <div className="button-row" ref={buttons}>
        <button type="submit" className="button primary" disabled={connecting}>
          {connecting ? t('form.connecting') : t('form.connect')}
        </button>
        <button type="button" className="button" onClick={() => void session.getState().saveDraft()}>
          {draft.profileId ? t('form.updateProfile') : t('form.saveProfile')}
        </button>
      </div>
    </form>
  );
}

/** What a person can do about a connection error, beyond the engine's message. */
function formHint(error: ErrorInfo, protocol: Protocol, password: string): string | null {
  if (passphraseWanted(error) !== null) return i18n.t('connect:hint.passphrase');
  // Ferry's "Enter the password" needs no hint about a wrong one.
  if (protocol === 'ferry' && error.code === 'EAUTH' && password === '') return null;
  return connectHint(error, protocol);
}

/** SFTP's own fields: the key file (with the system's picker where there is one), ssh-agent, and a key's passphrase when asked. */
function SshKeyFields({
  ids,
  passphraseInput,
}: {
  readonly ids: { readonly keyFile: string; readonly passphrase: string; readonly passphraseFor: string };
  readonly passphraseInput: RefObject<HTMLInputElement | null>;
}) {
  const { session, api } = useStores();
  const { t } = useTranslation('connect');
  const draft = useSession((s) => s.draft);
  const set = session.getState().setDraft;
  const pick = api.pickKeyFile;
  return (
    <>
      <div className="field">
        <label htmlFor={ids.keyFile}>{t('form.keyFile')}</label>
        <div className="input-with-button">
          <input
            id={ids.keyFile}
            value={draft.identityFile}
            spellCheck={false}
            autoComplete="off"
            placeholder={t('form.keyFilePlaceholder')}
            onChange={(e) => set({ identityFile: e.target.value })}
          />
          {pick && (
            <button
              type="button"
              className="button"
              aria-label={t('form.chooseKeyFile')}
              onClick={() =>
                void pick().then((file) => {
                  if (file !== null) set({ identityFile: file });
                })
              }
            >
              {t('form.choose')}
            </button>
          )}
        </div>
      </div>
      {draft.passphraseFor !== null && (
        <div className="field">
          <label htmlFor={ids.passphrase}>{t('form.passphrase')}</label>
          <input
            ref={passphraseInput}
            id={ids.passphrase}
            type="password"
            value={draft.passphrase}
            autoComplete="off"
            aria-describedby={ids.passphraseFor}
            onChange={(e) => set({ passphrase: e.target.value })}
          />
          <span id={ids.passphraseFor} className="muted small selectable">
            {t('form.passphraseFor', { file: draft.passphraseFor })}
          </span>
        </div>
      )}
      <label className="check">
        <input type="checkbox" checked={draft.agent} onChange={(e) => set({ agent: e.target.checked })} />
        {t('form.agent')}
      </label>
    </>
  );
}

function ProfileList({ disabled }: { readonly disabled: boolean }) {
  const { session } = useStores();
  const { t } = useTranslation('connect');
  const profiles = useSession((s) => s.profiles);
  const pickedId = useSession((s) => s.draft.profileId);
  const error = useSession((s) => s.profilesError);

  const pick = (p: Profile) => session.getState().pickProfile(p);
  return (
    <section className="panel-section" aria-labelledby="profiles-heading">
      <h2 id="profiles-heading" className="section-title">
        {t('profiles.title')}
      </h2>
      {profiles.length === 0 ? (
        <p className="muted small">
          {disabled ? t('profiles.noneConnected') : t('profiles.none')}
        </p>
      ) : (
        <ul className="profiles">
          {profiles.map((p) => (
            <li key={p.id} className={`profile${p.id === pickedId ? ' is-picked' : ''}`}>
              <button
                type="button"
                className="profile-pick"
                aria-pressed={p.id === pickedId}
                disabled={disabled}
                onClick={() => pick(p)}
                onDoubleClick={() => {
                  pick(p);
                  void session.getState().submitDraft();
                }}
              >
                <Icon name="server" />
                <span className="profile-text">
                  <span className="profile-name">{p.name}</span>
                  <span className="profile-where">
                    {/* First, so a long address cannot push it out of sight. */}
                    {p.protocol === 'sftp' ? `${PROTOCOL_NAME.sftp} · ` : ''}
                    {p.user}@{p.host}:{p.port}
                    {p.remembered ? t('profiles.remembered') : ''}
                    {p.local ? t('profiles.local') : ''}
                  </span>
                </span>
              </button>
              {!p.local && (
                <button
                  type="button"
                  className="icon-button subtle"
                  aria-label={t('profiles.remove', { name: p.name })}
                  title={t('profiles.removeTitle')}

                  disabled={disabled}
                  onClick={() => void session.getState().deleteProfile(p.id)}
                >
                  <Icon name="close" />
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p className="form-error selectable" role="alert">
          {formatError(error)}
        </p>
      )}
    </section>
  );
}
