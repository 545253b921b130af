/**
 * The start of a connection: the hello, then a SCRAM login (throttled per address and per
 * user) that makes a new session, or an attach to an existing session with its ticket.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { CHECK_ALGORITHMS } from '../shared/common/checks.js';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import type { FrameHeader } from '../shared/common/frame.js';
import { SUPPORTED_VERSIONS, type Request } from '../shared/common/messages.js';
import { attachProof } from '../shared/node/attach-proof.js';
import { ScramServer } from '../shared/node/scram.js';
import type { Req } from './connection-scope.js';
import type { ServerContext } from './server-context.js';
import type { Session, SessionMember } from './sessions.js';
import { accountOf } from './user-store.js';

const AGENT = 'ferryd/0.1.0';

/** What the login uses of its connection. */
export interface LoginScope extends SessionMember {
  readonly ctx: ServerContext;
  /** The peer's address (the throttle's key) and "address:port" (for the log). */
  readonly address: string;
  readonly label: string;
  /** The TLS channel binding (tls-exporter), or null on plain TCP. */
  readonly binding: Buffer | null;
  /** The socket has closed. */
  readonly closed: boolean;
  nextRequest(): Promise<Request | null>;
  send(header: FrameHeader): Promise<void>;
  /** Logged in or attached to `session` (already its member): the pre-auth limits no longer apply. */
  join(session: Session): void;
}

/** Hello, then login or attach. False when the peer left before the end. */
export async function handshake(conn: LoginScope): Promise<boolean> {
  const hello = await conn.nextRequest();
  if (hello === null) return false;
  if (hello.type !== 'hello') throw new FerryError('EPROTO', 'the first frame must be "hello"');
  const common = hello.versions.filter((v) => SUPPORTED_VERSIONS.includes(v));
  if (common.length === 0) {
    throw new FerryError('EPROTO', `no common protocol version (this server speaks ${SUPPORTED_VERSIONS.join(', ')})`, {
      supported: SUPPORTED_VERSIONS,
    });
  }
  // The attach proof is bound to this nonce, so a proof is good for one connection only.
  const nonce = randomBytes(24).toString('base64');
  await conn.send({
    type: 'hello',
    id: hello.id,
    version: Math.max(...common),
    agent: AGENT,
    nonce,
    mechanisms: [conn.binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256'],
    checks: CHECK_ALGORITHMS,
  });
  const first = await conn.nextRequest();
  if (first === null) return false;
  if (first.type === 'attach') return attach(conn, first, nonce);
  if (first.type !== 'auth') throw new FerryError('EAUTH', 'log in first');
  return login(conn, first);
}

async function login(conn: LoginScope, req: Req<'auth'>): Promise<boolean> {
  const { ctx, address, label } = conn;
  const expected = conn.binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
  if (req.mechanism !== expected) {
    throw new FerryError('EAUTH', `this server requires ${expected}`);
  }
  // The verifier this login is checked against: a password changed meanwhile fails it.
  let proving: string | undefined;
  const scram = new ScramServer({
    lookup: (name) => {
      const scram = ctx.users.get(name)?.scram ?? null;
      proving = scram?.storedKey;
      return scram;
    },
    fakeSaltSecret: ctx.fakeSaltSecret,
    channelBinding: conn.binding,
  });
  await ctx.users.refresh().catch(() => undefined);
  const { user, serverFirst } = await scram.start(req.data);
  const { throttle } = ctx;
  refuseIfLocked(conn, user);
  await conn.send({ type: 'auth-continue', id: req.id, data: serverFirst });
  const final = await conn.nextRequest();
  if (final === null) return false;
  if (final.type !== 'auth-final' || final.id !== req.id) throw new FerryError('EPROTO', 'expected "auth-final"');
  // Only a proof counts. A user who failed recently (from any address) is slowed down
  // before the check; the lockouts are per (user, address range) and per range.
  const hold = throttle.userDelay(user);
  if (hold > 0) await sleep(hold);
  if (conn.closed) return false;
  refuseIfLocked(conn, user);
  // Counted before the check and taken back on success, with no await between the gate
  // and the count: proofs that arrive together cannot all pass a gate meant for fewer.
  if (!throttle.failure(address, user)) ctx.log(`auth ${label} user=${user}: the throttle is full, failure not tracked`);
  let serverFinal: string;
  try {
    serverFinal = await scram.finish(final.data);
  } catch (err) {
    const e = toFerryError(err, 'EAUTH');
    if (e.code !== 'EAUTH') throw e;
    ctx.log(`auth ${label} user=${user} failed`);
    await sleep(throttle.delayFor(address));
    throw new FerryError('EAUTH', 'authentication failed: wrong user name or password');
  }
  const record = ctx.users.get(user);
  if (record === undefined || record.scram.storedKey !== proving) {
    throw new FerryError('EAUTH', 'authentication failed: wrong user name or password');
  }
  throttle.success(address, user);
  await ctx.storage.ensureHome(accountOf(record));
  if (conn.closed) return false;
  const session = ctx.sessions.open(record, conn, randomBytes(16).toString('base64url'), randomBytes(32));
  conn.join(session);
  ctx.log(`auth ${label} user=${user} ok`);
  // The usage comes with the login: a client about to upload checks its quota without a round trip more.
  const df = await ctx.storage.df(accountOf(record));
  await conn.send({
    type: 'ok',
    id: req.id,
    data: serverFinal,
    user: { name: record.name, exec: record.exec, quota: record.quota },
    cwd: session.cwd,
    session: session.id,
    ticket: session.ticket.toString('base64'),
    df,
  });
  return true;
}

/** ERATELIMIT while this user is locked out from this address (range), or the range for all. */
function refuseIfLocked(conn: LoginScope, user: string): void {
  const gate = conn.ctx.throttle.check(conn.address, user);
  if (gate.allowed) return;
  conn.ctx.log(`auth ${conn.label} user=${user} refused: rate limited`);
  throw new FerryError('ERATELIMIT', `too many failed logins: try again in ${Math.ceil(gate.retryAfterMs / 1000)} s`, {
    retryAfterMs: gate.retryAfterMs,
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function attach(conn: LoginScope, req: Req<'attach'>, nonce: string): Promise<boolean> {
  const { ctx } = conn;
  const session = ctx.sessions.get(req.session);
  const proof = Buffer.from(req.proof, 'base64');
  const expected = session ? attachProof(session.ticket, nonce, conn.binding) : randomBytes(32);
  if (!session || proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
    ctx.log(`auth ${conn.label} attach refused`);
    throw new FerryError('EAUTH', 'this session has ended: log in again');
  }
  // The account may have been deleted, or its password changed, since the login.
  await ctx.sessions.current(session);
  if (conn.closed) return false;
  ctx.sessions.attach(session, conn);
  conn.join(session);
  await conn.send({ type: 'ok', id: req.id, cwd: session.cwd });
  return true;
}
