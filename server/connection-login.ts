/**
 * The start of a connection: the hello, then a SCRAM login (throttled per address and per
 * user) that makes a new session, or an attach to an existing session with its ticket.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { FerryError, toFerryError } from '../shared/common/errors.js';
import type { FrameHeader } from '../shared/common/frame.js';
import { SUPPORTED_VERSIONS, type Request } from '../shared/common/messages.js';
import { attachProof } from '../shared/node/attach-proof.js';
import { ScramServer } from '../shared/node/scram.js';
import { addressKey } from './auth-throttle.js';
import type { Req } from './connection-scope.js';
import type { ServerContext, Session } from './server-context.js';
import type { Account } from './storage.js';
import { maxEntriesOf } from './user-store.js';

const AGENT = 'ferryd/0.1.0';

/** What the login uses of its connection. */
export interface LoginScope {
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
  /** Logged in or attached: join the session (the pre-auth limits no longer apply). */
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
  const scram = new ScramServer({
    lookup: (name) => ctx.users.get(name)?.scram ?? null,
    fakeSaltSecret: ctx.fakeSaltSecret,
    channelBinding: conn.binding,
  });
  await ctx.users.reload().catch(() => undefined);
  const { user, serverFirst } = await scram.start(req.data);
  const { throttle, pendingLogins } = ctx;
  const keys = [`a:${addressKey(address)}`, `u:${user}`];
  let gate = throttle.check(address, user);
  // Locked out, but attempts still in flight may yet succeed (and clear the count):
  // wait for them rather than refuse, so that many honest logins at once all get in.
  const until = Date.now() + ctx.limits.preAuthTimeoutMs;
  while (!gate.allowed && pendingLogins.any(keys) && !conn.closed && Date.now() < until) {
    await pendingLogins.changed(until - Date.now());
    gate = throttle.check(address, user);
  }
  if (conn.closed) return false;
  if (!gate.allowed) {
    ctx.log(`auth ${label} user=${user} refused: rate limited`);
    throw new FerryError('ERATELIMIT', `too many failed logins: try again in ${Math.ceil(gate.retryAfterMs / 1000)} s`, {
      retryAfterMs: gate.retryAfterMs,
    });
  }
  // The attempt counts as a failure from now on, before its proof is checked: otherwise
  // many attempts started in parallel would all pass check() before any of them failed.
  // A success clears it; an attempt abandoned halfway stays counted.
  throttle.failure(address, user);
  const endAttempt = pendingLogins.begin(keys);
  let serverFinal: string;
  try {
    await conn.send({ type: 'auth-continue', id: req.id, data: serverFirst });
    const final = await conn.nextRequest();
    if (final === null) return false;
    if (final.type !== 'auth-final' || final.id !== req.id) throw new FerryError('EPROTO', 'expected "auth-final"');
    try {
      serverFinal = await scram.finish(final.data);
    } catch (err) {
      endAttempt();
      const e = toFerryError(err, 'EAUTH');
      if (e.code === 'EAUTH') {
        const delay = throttle.delayFor(address, user);
        ctx.log(`auth ${label} user=${user} failed`);
        await new Promise((r) => setTimeout(r, delay));
        throw new FerryError('EAUTH', 'authentication failed: wrong user name or password');
      }
      throw e;
    }
    if (ctx.users.get(user) !== undefined) throttle.success(address, user);
  } finally {
    endAttempt();
  }
  const record = ctx.users.get(user);
  if (record === undefined) throw new FerryError('EAUTH', 'authentication failed: wrong user name or password');
  const account: Account = { name: record.name, quota: record.quota, maxEntries: maxEntriesOf(record) };
  await ctx.storage.ensureHome(account);
  const session: Session = {
    id: randomBytes(16).toString('base64url'),
    ticket: randomBytes(32),
    account,
    exec: record.exec,
    cwd: '/',
    connections: new Set(),
    execs: 0,
  };
  ctx.sessions.set(session.id, session);
  conn.join(session);
  ctx.log(`auth ${label} user=${user} ok`);
  await conn.send({
    type: 'ok',
    id: req.id,
    data: serverFinal,
    user: { name: record.name, exec: record.exec, quota: record.quota },
    cwd: session.cwd,
    session: session.id,
    ticket: session.ticket.toString('base64'),
  });
  return true;
}

async function attach(conn: LoginScope, req: Req<'attach'>, nonce: string): Promise<boolean> {
  const session = conn.ctx.sessions.get(req.session);
  const proof = Buffer.from(req.proof, 'base64');
  const expected = session ? attachProof(session.ticket, nonce, conn.binding) : randomBytes(32);
  if (!session || proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
    conn.ctx.log(`auth ${conn.label} attach refused`);
    throw new FerryError('EAUTH', 'this session has ended: log in again');
  }
  conn.join(session);
  await conn.send({ type: 'ok', id: req.id, cwd: session.cwd });
  return true;
}
