/**
 * Who may use browser mode's API: a browser that redeemed a one-time code. A code travels
 * in an address (`/?code=…`) and is good once, so the address given to the browser opener,
 * which other local users can read on its command line, is worthless once the browser has
 * used it (and after a minute anyway). Redeeming it sets a session cookie (HttpOnly,
 * SameSite=Strict) and redirects to `/`, so no lasting secret is ever on a command line
 * or in the address bar.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** How long the code given to the browser opener (on its command line) is good. */
export const OPENER_CODE_TTL_MS = 60_000;

export interface CodeOptions {
  /** How long the code is good; default: until it is used or the host stops. */
  readonly ttlMs?: number;
  /** Called once, when the code is redeemed (the CLI then prints a fresh address). */
  readonly onUse?: () => void;
}

interface PendingCode {
  readonly expiresAt: number;
  readonly onUse: (() => void) | undefined;
}

export class PageAccess {
  /** Codes and sessions are kept by their SHA-256: a lookup then reveals nothing about the secret. */
  private readonly codes = new Map<string, PendingCode>();
  private readonly sessions = new Set<string>();
  /** Named after the port: cookies are not kept apart by port, so two hosts must not share a name. */
  readonly cookieName: string;

  constructor(
    port: number,
    private readonly now: () => number = Date.now,
  ) {
    this.cookieName = `ferry-session-${port}`;
  }

  /** A new one-time code. */
  issueCode(options: CodeOptions = {}): string {
    const now = this.now();
    for (const [key, pending] of this.codes) if (pending.expiresAt <= now) this.codes.delete(key);
    const code = randomBytes(18).toString('base64url');
    this.codes.set(digest(code), { expiresAt: options.ttlMs === undefined ? Infinity : now + options.ttlMs, onUse: options.onUse });
    return code;
  }

  /**
   * Use up `code`: the Set-Cookie value of a new session, or null when the code is unknown,
   * already used or expired. A code is gone after its first try, whatever the outcome.
   */
  redeem(code: string): string | null {
    const key = digest(code);
    const pending = this.codes.get(key);
    this.codes.delete(key);
    if (pending === undefined || pending.expiresAt <= this.now()) return null;
    const session = randomBytes(32).toString('base64url');
    this.sessions.add(digest(session));
    pending.onUse?.();
    // No Max-Age: the cookie ends with the browser session; no Secure: the host is plain http on loopback.
    return `${this.cookieName}=${session}; Path=/; HttpOnly; SameSite=Strict`;
  }

  /** Does a request carry the cookie of a session of this host? */
  admits(headers: IncomingHttpHeaders): boolean {
    return cookieValues(headers.cookie, this.cookieName).some((value) => this.sessions.has(digest(value)));
  }
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** Every value of cookie `name` in a Cookie header (a browser may send several with one name). */
function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}
