/**
 * The sessions of a running server: the per-user caps on sessions and connections, and
 * the account behind each session kept current with the user database, so that deleting
 * a user or changing a password ends their sessions and exec permission is read fresh.
 */
import { FerryError } from '../shared/common/errors.js';
import type { Account } from './storage.js';
import { accountOf, type UserRecord, type UserStore } from './user-store.js';

/** A connection as its session sees it: something that can be ended. */
export interface SessionMember {
  /** Send `err` about the whole connection and close it. */
  endSession(err: FerryError): void;
}

/** A login: one control connection plus the data connections attached with its ticket. */
export interface Session {
  readonly id: string;
  readonly ticket: Buffer;
  readonly account: Account;
  /** The StoredKey this session proved: once the password changes, the session ends. */
  readonly verifier: string;
  cwd: string;
  readonly connections: Set<SessionMember>;
  execs: number;
  /** Why the session was ended, once it was. */
  ended: string | undefined;
}

export interface SessionLimits {
  readonly maxSessionsPerUser: number;
  readonly maxConnectionsPerUser: number;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<Session>>();
  /** The user database generation the sessions were last checked against. */
  private checked: number;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly users: UserStore,
    private readonly limits: SessionLimits,
    private readonly log: (line: string) => void,
  ) {
    this.checked = users.generation;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** A new session for a right proof, with `member` as its first connection (EBUSY at a per-user cap). */
  open(record: UserRecord, member: SessionMember, id: string, ticket: Buffer): Session {
    const mine = this.byUser.get(record.name);
    const { maxSessionsPerUser } = this.limits;
    if ((mine?.size ?? 0) >= maxSessionsPerUser) {
      throw new FerryError(
        'EBUSY',
        `${record.name} already has ${maxSessionsPerUser} sessions open, the most this server allows per user: close some first`,
        { limit: 'maxSessionsPerUser', max: maxSessionsPerUser },
      );
    }
    this.checkConnections(record.name);
    const session: Session = {
      id,
      ticket,
      account: accountOf(record),
      verifier: record.scram.storedKey,
      cwd: '/',
      connections: new Set([member]),
      execs: 0,
      ended: undefined,
    };
    this.byId.set(id, session);
    if (mine) mine.add(session);
    else this.byUser.set(record.name, new Set([session]));
    return session;
  }

  /** Another connection joins `session` (EBUSY at the per-user cap, EAUTH if it ended). */
  attach(session: Session, member: SessionMember): void {
    if (session.ended !== undefined) throw ended(session);
    this.checkConnections(session.account.name);
    session.connections.add(member);
  }

  /** A connection closed: a session without connections is over. */
  leave(session: Session, member: SessionMember): void {
    session.connections.delete(member);
    if (session.connections.size === 0) this.forget(session);
  }

  /**
   * The account behind `session` as the user database says now (re-read if the file
   * changed). Throws EAUTH when the session has ended: its account was deleted or its
   * password changed. Call it before anything that acts for the account (attach, exec,
   * writes).
   */
  async current(session: Session): Promise<UserRecord> {
    await this.users.refresh().catch(() => undefined); // an unreadable file: keep the last good one
    this.enforce();
    const record = this.users.get(session.account.name);
    if (session.ended !== undefined || record === undefined) throw ended(session);
    return record;
  }

  /** Check the database every `ms`, so that idle sessions end too, not only busy ones. */
  watch(ms: number): void {
    this.poll = setInterval(() => {
      this.users.refresh().then(
        () => this.enforce(),
        (err: unknown) => this.log(`users: ${(err as Error).message}`),
      );
    }, Math.max(100, ms));
    this.poll.unref();
  }

  close(): void {
    clearInterval(this.poll);
  }

  private checkConnections(user: string): void {
    const { maxConnectionsPerUser } = this.limits;
    let open = 0;
    for (const s of this.byUser.get(user) ?? []) open += s.connections.size;
    if (open >= maxConnectionsPerUser) {
      throw new FerryError(
        'EBUSY',
        `${user} already has ${maxConnectionsPerUser} connections open, the most this server allows per user: close some first`,
        { limit: 'maxConnectionsPerUser', max: maxConnectionsPerUser },
      );
    }
  }

  /** End the sessions the user database no longer allows (once per change of the database). */
  private enforce(): void {
    if (this.checked === this.users.generation) return;
    this.checked = this.users.generation;
    for (const [name, sessions] of this.byUser) {
      const record = this.users.get(name);
      for (const session of [...sessions]) {
        if (record === undefined) this.end(session, 'the account was deleted');
        else if (record.scram.storedKey !== session.verifier) this.end(session, 'the password was changed');
      }
    }
  }

  private end(session: Session, why: string): void {
    session.ended = why;
    this.forget(session);
    this.log(`session user=${session.account.name} ended: ${why}`);
    for (const member of [...session.connections]) member.endSession(ended(session));
  }

  private forget(session: Session): void {
    if (this.byId.get(session.id) === session) this.byId.delete(session.id);
    const mine = this.byUser.get(session.account.name);
    mine?.delete(session);
    if (mine?.size === 0) this.byUser.delete(session.account.name);
  }
}

function ended(session: Session): FerryError {
  return new FerryError('EAUTH', `this session has ended${session.ended ? ` (${session.ended})` : ''}: log in again`);
}
