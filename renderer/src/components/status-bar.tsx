/** The bottom line: connection state, the protocol, who and where, the folder, quota (where the server reports one) and the server key. */
import type { Protocol } from '../../../shared/common/protocols.js';
import { formatBytes } from '../logic/format.js';
import { shownSession } from '../state/session-store.js';
import { useSession, useTree } from '../state/stores-context.js';
import { SpeedLimitIndicator } from './speed-limits.js';

export function connectionLabel(state: string, attempt?: number): string {
  switch (state) {
    case 'connected':
      return 'Connected';
    case 'connecting':
      return 'Connecting…';
    case 'reconnecting':
      return attempt ? `Reconnecting… (attempt ${attempt})` : 'Reconnecting…';
    default:
      return 'Disconnected';
  }
}

export const PROTOCOL_NAME: Readonly<Record<Protocol, string>> = { ferry: 'Ferry', sftp: 'SFTP' };

export function StatusBar() {
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
          <span className="status-item" title="Protocol">
            {PROTOCOL_NAME[session.protocol]}
          </span>
          <span className="status-item selectable" title="User, server and port">
            {session.user.name}@{session.host}:{session.port}
          </span>
          <span className="status-item selectable mono" title="Current folder">
            {cwd || session.cwd}
          </span>
          {session.quota && (
            <span className="status-item" title="Quota">
              {df
                ? df.quota === null
                  ? `${formatBytes(df.used)} used · no quota`
                  : `${formatBytes(df.used)} used · ${formatBytes(df.free)} free of ${formatBytes(df.quota)}`
                : 'quota …'}
            </span>
          )}
          <span className="status-spacer" />
          <SpeedLimitIndicator />
          <span className="status-item selectable mono small" title="Server key fingerprint (pinned)">
            {session.fingerprint ? `Key ${session.fingerprint}` : 'No encryption'}
          </span>
        </>
      )}
    </footer>
  );
}
