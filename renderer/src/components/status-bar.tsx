/** The bottom line: connection state, the protocol, who and where, the folder, quota (where the server reports one) and the server key. */
import { useTranslation } from 'react-i18next';
import type { Protocol } from '../../../shared/common/protocols.js';
import { i18n } from '../i18n/i18n.js';
import { formatBytes } from '../logic/format.js';
import { shownSession } from '../state/session-store.js';
import { useSession, useTree } from '../state/stores-context.js';
import { SpeedLimitIndicator } from './speed-limits.js';

export function connectionLabel(state: string, attempt?: number): string {
  switch (state) {
    case 'connected':
      return i18n.t('connection.connected');
    case 'connecting':
      return i18n.t('connection.connecting');
    case 'reconnecting':
      return attempt ? i18n.t('connection.reconnectingAttempt', { attempt }) : i18n.t('connection.reconnecting');
    default:
      return i18n.t('connection.disconnected');
  }
}

export const PROTOCOL_NAME: Readonly<Record<Protocol, string>> = { ferry: 'Ferry', sftp: 'SFTP' };

export function StatusBar() {
  const { t } = useTranslation();
  const connection = useSession((s) => s.connection);
  const connecting = useSession((s) => s.connecting);
  const session = useSession(shownSession);
  const df = useSession((s) => s.df);
  const cwd = useTree((s) => s.cwd);
  const state = connecting && connection.state === 'disconnected' ? 'connecting' : connection.state;
  const label = connectionLabel(state, connection.state === 'reconnecting' ? connection.attempt : undefined);
  return (
    <footer className="status-bar">
      <span className={`status-item conn state-${state}`} aria-live="polite">
        <span className="dot" aria-hidden="true" />
        {label}
      </span>
      {session && (
        <>
          <span className="status-item" title={t('status.protocol')}>
            {PROTOCOL_NAME[session.protocol]}
          </span>
          <span className="status-item selectable" title={t('status.userServerPort')}>
            {session.user.name}@{session.host}:{session.port}
          </span>
          <span className="status-item selectable mono" title={t('status.currentFolder')}>
            {cwd || session.cwd}
          </span>
          {session.quota && (
            <span className="status-item" title={t('status.quota')}>
              {df
                ? df.quota === null
                  ? t('status.usedNoQuota', { used: formatBytes(df.used) })
                  : t('status.usedFreeOf', { used: formatBytes(df.used), free: formatBytes(df.free), quota: formatBytes(df.quota) })
                : t('status.quotaUnknown')}
            </span>
          )}
          <span className="status-spacer" />
          <SpeedLimitIndicator />
          <span className="status-item selectable mono small" title={t('status.keyTitle')}>
            {session.fingerprint ? t('status.key', { fingerprint: session.fingerprint }) : t('status.noEncryption')}
          </span>
        </>
      )}
    </footer>
  );
}
