/** Engine sessions against a test ferryd, with the server's key checked like the CLI does. */
import { FerryError } from '../../shared/common/errors.js';
import { RemoteSession, type SessionOptions } from '../../electron/engine/session.js';
import type { Ferryd, TestUser } from './harness.js';

export function sessionOptions(server: Ferryd, user: TestUser, extra: Partial<SessionOptions> = {}): SessionOptions {
  return {
    host: server.host,
    port: server.port,
    plain: server.plain,
    user: user.name,
    credential: { password: user.password },
    verifyHostKey: (fingerprint) => {
      if (fingerprint !== server.fingerprint) throw new FerryError('EHOSTKEY', `unexpected key ${fingerprint}`);
    },
    ...extra,
  };
}

export function connectSession(server: Ferryd, user: TestUser, extra: Partial<SessionOptions> = {}): Promise<RemoteSession> {
  return RemoteSession.connect(sessionOptions(server, user, extra));
}
