/**
 * Browser mode's sign-in as a browser does it, for tests that talk to the web host without
 * one: open a one-time address, keep the session cookie it sets (the Cookie header's
 * `name=value`), and send that with WebSockets and requests.
 */
import http from 'node:http';

export interface SignInAnswer {
  readonly status: number;
  readonly location: string | undefined;
  /** The Set-Cookie header, whole (attributes included), if any. */
  readonly setCookie: string | undefined;
  readonly body: string;
}

/** GET a one-time address (or any address of the host), with `cookie` if given. */
export function visit(url: string, options: { cookie?: string; method?: string } = {}): Promise<SignInAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.cookie ? { cookie: options.cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, setCookie: res.headers['set-cookie']?.[0], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sign in with a fresh one-time address of `web`: the Cookie header value to send from now on. */
export async function signIn(web: { oneTimeUrl(): string }): Promise<string> {
  const answer = await visit(web.oneTimeUrl());
  if (answer.status !== 303 || answer.setCookie === undefined) throw new Error(`sign-in refused: ${answer.status} ${answer.body}`);
  return answer.setCookie.split(';', 1)[0]!;
}
