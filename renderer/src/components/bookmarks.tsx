/**
 * Bookmarks of the saved connection in use: a star that bookmarks the remote folder shown
 * (or removes its bookmark), and a Bookmarks button whose popup lists them (go, remove)
 * and sets or clears the start folder, the folder a connection opens in. Kept by the
 * engine with the profile ('profiles:setPlaces').
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { formatError } from '../logic/format.js';
import { displayPath } from '../logic/remote-path.js';
import { sessionProfile, setPlaces } from '../state/places.js';
import { currentSession } from '../state/session-store.js';
import { useSession, useStores, useTree } from '../state/stores-context.js';
import { Icon } from './icons.js';

export function BookmarkButtons() {
  const { t } = useTranslation('panes');
  const { api, session, tree } = useStores();
  const profile = useSession((s) => sessionProfile(s.profiles, currentSession(s)));
  const cwd = useTree((s) => s.cwd);
  const home = useTree((s) => s.home);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const menuButton = useRef<HTMLButtonElement>(null);
  const popup = useRef<HTMLDivElement>(null);
  const bookmarks = profile?.bookmarks ?? [];
  const marked = bookmarks.includes(cwd);
  const usable = profile !== undefined && cwd !== '';

  useEffect(() => {
    if (!open) return;
    popup.current?.querySelector<HTMLElement>('button')?.focus();
    const away = (e: PointerEvent) => {
      if (e.target instanceof Node && !popup.current?.contains(e.target) && !menuButton.current?.contains(e.target)) setOpen(false);
    };
    // Escape closes it wherever the focus is (a button just used may have been disabled).
    const escape = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      setOpen(false);
      menuButton.current?.focus();
    };
    window.addEventListener('pointerdown', away);
    window.addEventListener('keydown', escape);
    return () => {
      window.removeEventListener('pointerdown', away);
      window.removeEventListener('keydown', escape);
    };
  }, [open]);

  const change = async (places: Parameters<typeof setPlaces>[3]): Promise<void> => {
    if (!profile) return;
    setError(await setPlaces(api, session, profile.id, places));
  };
  const close = (): void => {
    setOpen(false);
    menuButton.current?.focus();
  };

  return (
    <div className="bookmarks">
      <button
        type="button"
        className={`tool${marked ? ' is-on' : ''}`}
        aria-pressed={marked}
        aria-label={t('bookmarks.add')}
        title={usable ? (marked ? t('bookmarks.remove') : t('bookmarks.add')) : t('bookmarks.unsaved')}
        disabled={!usable}
        onClick={() => void change({ bookmarks: marked ? bookmarks.filter((b) => b !== cwd) : [...bookmarks, cwd] })}
      >
        <Icon name="star" />
      </button>
      <button
        ref={menuButton}
        type="button"
        className="tool"
        aria-haspopup="dialog"
        aria-expanded={open}
        disabled={!usable}
        title={usable ? undefined : t('bookmarks.unsaved')}
        onClick={() => setOpen(!open)}
      >
        <Icon name="bookmarks" />
        {t('bookmarks.menu')}
      </button>
      {open && profile && (
        <div
          ref={popup}
          className="bookmarks-popup"
          role="dialog"
          aria-label={t('bookmarks.menu')}
          tabIndex={-1}
        >
          {bookmarks.length === 0 ? (
            <p className="muted">{t('bookmarks.none')}</p>
          ) : (
            <ul aria-label={t('bookmarks.list')}>
              {bookmarks.map((b) => (
                <li key={b}>
                  <button
                    type="button"
                    className="bookmark-go"
                    onClick={() => {
                      close();
                      void tree.getState().navigate(b);
                    }}
                  >
                    <Icon name="folder" className="folder-icon" />
                    <span>{displayPath(b, home)}</span>
                  </button>
                  <button type="button" className="icon-button subtle" aria-label={t('bookmarks.removeOne', { path: b })} onClick={() => void change({ bookmarks: bookmarks.filter((x) => x !== b) })}>
                    <Icon name="close" />
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div className="bookmarks-start">
            <p className="muted selectable">{profile.startFolder ? t('bookmarks.startIs', { path: profile.startFolder }) : t('bookmarks.noStart')}</p>
            <button type="button" className="button small" disabled={profile.startFolder === cwd} onClick={() => void change({ startFolder: cwd })}>
              {t('bookmarks.setStart')}
            </button>
            {profile.startFolder && (
              <button type="button" className="button small subtle" onClick={() => void change({ startFolder: null })}>
                {t('bookmarks.clearStart')}
              </button>
            )}
          </div>
          {error && (
            <p className="form-error selectable" role="alert">
              {t('bookmarks.failed')}: {formatError(error)}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
