/**
 * Sessions follow the user database that `ferryd user …` rewrites from another process:
 * deleting a user ends their sessions, a new password ends the sessions of the old one,
 * `--no-exec` applies at once. And the per-user caps on sessions and connections
 * (`ferryd serve --max-sessions-per-user`, `--max-connections-per-user`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FERRYD, cleanupAll, run, startFerryd, type Ferryd, type TestUser } from '../helpers/harness.js';
import { RawClient, loggedIn, rootWithUsers, type Frame } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-sessions-pass', exec: true };
const BOB: TestUser = { name: 'bob', password: 'bob-sessions-pass', exec: true };
const CAROL: TestUser = { name: 'carol', password: 'carol-sessions-pass' };
const DAVE: TestUser = { name: 'dave', password: 'dave-sessions-pass', exec: true };

let server: Ferryd;
let capped: Ferryd;

beforeAll(async () => {
  const users = [ALICE, BOB, CAROL, DAVE];
  const [root, cappedRoot] = await Promise.all([rootWithUsers(users), rootWithUsers(users)]);
  [server, capped] = await Promise.all([
    // No polling to speak of: what ends a session here is the check at attach, exec or write.
    startFerryd({ root, plain: true, env: { FERRYD_LIMITS: JSON.stringify({ usersPollMs: 3_600_000 }) } }),
    startFerryd({ root: cappedRoot, plain: true, args: ['--max-sessions-per-user', '2', '--max-connections-per-user', '3'] }),
  ]);
});

afterAll(cleanupAll);

async function ferrydUser(on: Ferryd, args: readonly string[], password?: string): Promise<void> {
  const result = await run(FERRYD, ['user', ...args, '--root', on.root], { env: password ? { FERRY_PASSWORD: password } : {} });
  expect(result.code, result.stderr).toBe(0);
}

/** A login's session and ticket, for attaching. */
async function login(on: Ferryd, user: TestUser): Promise<{ control: RawClient; session: string; ticket: string }> {
  const control = await RawClient.connect(on.port);
  const ok = await control.mustLogin(user.name, user.password);
  return { control, session: String(ok.session), ticket: String(ok.ticket) };
}

async function attached(on: Ferryd, session: string, ticket: string): Promise<{ client: RawClient; reply: Frame }> {
  const client = await RawClient.connect(on.port);
  return { client, reply: await client.attach(session, ticket) };
}

const exec = (c: RawClient, command: string): Promise<Frame> => c.request({ type: 'exec', command }, undefined, 10_000);

describe('sessions follow the user database', () => {
  it('deleting a user ends their sessions: writes and attaches are refused at once, idle connections are closed', async () => {
    const { control, session, ticket } = await login(server, CAROL);
    const { client: data, reply } = await attached(server, session, ticket);
    expect(reply.header.type).toBe('ok');
    expect((await data.request({ type: 'mkdir', path: 'before' })).header.type).toBe('ok');

    await ferrydUser(server, ['del', CAROL.name]);
    // The next write re-reads users.json: refused, and the session is over.
    const write = await data.put('after.txt', Buffer.from('too late'));
    expect(write.header).toMatchObject({ type: 'error', code: 'EAUTH' });
    expect(String(write.header.message)).toMatch(/deleted/);
    // Both of its connections are closed, the idle control connection too.
    expect(await data.waitClosed(3000)).toBe(true);
    expect(await control.waitClosed(3000)).toBe(true);
    // The ticket no longer attaches.
    const again = await attached(server, session, ticket);
    expect(again.reply.header.code).toBe('EAUTH');
    again.client.destroy();
  });

  it("a new password ends the sessions logged in with the old one, and only those", async () => {
    const old1 = await login(server, ALICE);
    const old2 = await login(server, ALICE);
    const bob = await loggedIn(server.port, BOB.name, BOB.password);
    const newPassword = 'alice-sessions-new-pass';
    await ferrydUser(server, ['passwd', ALICE.name], newPassword);

    // An attach to an old session is refused at once, whatever the ticket says.
    const data = await attached(server, old1.session, old1.ticket);
    expect(data.reply.header).toMatchObject({ type: 'error', code: 'EAUTH' });
    expect(String(data.reply.header.message)).toMatch(/password was changed/);
    expect(await old1.control.waitClosed(3000)).toBe(true);
    expect(await old2.control.waitClosed(3000)).toBe(true);
    // The new password logs in, and that session lives on through further checks.
    const fresh = await loggedIn(server.port, ALICE.name, newPassword);
    expect((await fresh.request({ type: 'mkdir', path: 'new-password' })).header.type).toBe('ok');
    expect((await exec(fresh, 'true')).header.type).toBe('ok');
    // Another user's session is not touched.
    expect((await bob.request({ type: 'mkdir', path: 'bob-still-here' })).header.type).toBe('ok');
    // Until bob's password changes too: then his next upload (a big, streamed one) is refused.
    await ferrydUser(server, ['passwd', BOB.name], 'bob-sessions-new-pass');
    const put = await bob.put('big.bin', Buffer.alloc(300 * 1024, 7));
    expect(put.header).toMatchObject({ type: 'error', code: 'EAUTH' });
    expect(String(put.header.message)).toMatch(/password was changed/);
    for (const c of [data.client, fresh, bob]) c.destroy();
  });

  it('--no-exec applies to a live session at once, and --exec gives it back', async () => {
    const c = await loggedIn(server.port, DAVE.name, DAVE.password);
    expect((await exec(c, 'echo hi')).header).toMatchObject({ type: 'ok', code: 0 });
    await ferrydUser(server, ['set', DAVE.name, '--no-exec']);
    expect((await exec(c, 'echo hi')).header).toMatchObject({ type: 'error', code: 'EPERM' });
    // The session itself goes on.
    expect((await c.request({ type: 'mkdir', path: 'still-writing' })).header.type).toBe('ok');
    await ferrydUser(server, ['set', DAVE.name, '--exec']);
    expect((await exec(c, 'echo hi')).header).toMatchObject({ type: 'ok', code: 0 });
    c.destroy();
  });

  it('idle sessions of a deleted user end too, through the periodic check', async () => {
    const { control } = await login(capped, CAROL);
    await ferrydUser(capped, ['del', CAROL.name]);
    const fatal = await control.expectFatal('EAUTH', 5000);
    expect(String(fatal.header.message)).toMatch(/deleted/);
  });
});

describe('per-user caps', () => {
  it('a third session of one user is refused with EBUSY; other users are not affected', async () => {
    const a = await login(capped, ALICE);
    const b = await login(capped, ALICE);
    const third = await RawClient.connect(capped.port);
    const refused = await third.login(ALICE.name, ALICE.password);
    expect(refused.header).toMatchObject({ type: 'error', code: 'EBUSY', details: { limit: 'maxSessionsPerUser', max: 2 } });
    expect(await third.waitClosed(3000)).toBe(true);
    const bob = await loggedIn(capped.port, BOB.name, BOB.password);
    // Once a session ends, a new one fits.
    b.control.destroy();
    await b.control.closedAt;
    let next: RawClient | undefined;
    for (let i = 0; i < 20 && next === undefined; i++) {
      const c = await RawClient.connect(capped.port);
      if ((await c.login(ALICE.name, ALICE.password)).header.type === 'ok') next = c;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(next).toBeDefined();
    for (const c of [a.control, bob, next!]) c.destroy();
    await Promise.all([a.control.closedAt, next!.closedAt]);
  });

  it("a user's connections across sessions are capped (data connections too)", async () => {
    const a = await login(capped, DAVE);
    const b = await login(capped, DAVE);
    const data = await attached(capped, a.session, a.ticket);
    expect(data.reply.header.type).toBe('ok');
    // Three connections now: the fourth is refused, an attach as well as a login.
    const extra = await attached(capped, b.session, b.ticket);
    expect(extra.reply.header).toMatchObject({ type: 'error', code: 'EBUSY', details: { limit: 'maxConnectionsPerUser', max: 3 } });
    expect(await extra.client.waitClosed(3000)).toBe(true);
    // The sessions themselves keep working.
    expect((await data.client.request({ type: 'ping' })).header.type).toBe('ok');
    for (const c of [a.control, b.control, data.client]) c.destroy();
  });
});
