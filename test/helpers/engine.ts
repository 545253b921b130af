/** Engine sessions against a test ferryd, with the server's key checked like the CLI does. */
import { FerryError } from '../../shared/common/errors.js';
import { RemoteSession, type SessionOptions } from '../../engine/wire/session.js';
import type { Ferryd, TestUser } from './harness.js';
import type { TransferEvent, TransferId, TransferState } from '../../shared/common/transfer-model.js';

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

/** The FerryError a promise rejects with; throws if it resolves or rejects with something else. */
export async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof FerryError)) throw new Error(`expected a FerryError, got ${err === null ? 'success' : String(err)}`);
  return err;
}

/** Fail with a message instead of hanging until the test times out. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each transfer's states as the events showed them, without repeats. */
export function stateHistory(events: readonly TransferEvent[]): Map<TransferId, TransferState[]> {
  const out = new Map<TransferId, TransferState[]>();
  for (const e of events) {
    if (e.kind === 'removed') continue;
    for (const t of e.transfers) {
      const seen = out.get(t.id) ?? [];
      if (seen.at(-1) !== t.state) seen.push(t.state);
      out.set(t.id, seen);
    }
  }
  return out;
}
