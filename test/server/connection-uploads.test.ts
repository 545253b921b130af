/**
 * The upload receiver's memory bound, on a connection served in this process: small puts
 * whose commits are held back make later bodies wait, unread, within maxCommittingBytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PutResult } from '../../shared/common/messages.js';
import { WHOLE_FILE_MAX } from '../../shared/common/messages.js';
import { AuthThrottle } from '../../server/auth-throttle.js';
import { Connection } from '../../server/connection.js';
import { LocalStorage } from '../../server/local-storage.js';
import { DEFAULT_LIMITS, type ServerContext } from '../../server/server-context.js';
import { Sessions } from '../../server/sessions.js';
import { UserStore } from '../../server/user-store.js';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { loggedIn, rootWithUsers, sleep } from './raw-client.js';

const ALICE: TestUser = { name: 'alice', password: 'alice-budget-pass' };
const BUDGET = 1024 * 1024;

/** Local storage whose whole-file commits finish only once the test opens the gate. */
class HeldCommits extends LocalStorage {
  /** Sizes of the bodies handed over so far (each held by its connection until its reply). */
  readonly received: number[] = [];
  private openGate!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.openGate = resolve));

  override async putWhole(...args: Parameters<LocalStorage['putWhole']>): Promise<{ readonly committed: Promise<PutResult> }> {
    this.received.push(args[4].length);
    const { committed } = await super.putWhole(...args);
    committed.catch(() => undefined); // awaited after the gate
    return { committed: this.gate.then(() => committed) };
  }

  open(): void {
    this.openGate();
  }
}

let root: string;
let storage: HeldCommits;
let listener: net.Server;

beforeAll(async () => {
  root = await rootWithUsers([ALICE]);
  storage = new HeldCommits({ root });
  const users = await UserStore.open(root);
  const ctx: ServerContext = {
    storage,
    execHost: storage,
    users,
    throttle: new AuthThrottle(),
    fakeSaltSecret: randomBytes(32),
    sessions: new Sessions(users, DEFAULT_LIMITS, () => undefined),
    limits: { ...DEFAULT_LIMITS, maxCommittingBytes: BUDGET },
    plain: true,
    hostRoots: [root],
    log: () => undefined,
  };
  listener = net.createServer((socket) => void new Connection(socket, ctx, () => undefined).run());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  listener?.close();
  await storage?.close();
  await cleanupAll();
});

describe('whole put bodies held by one connection', () => {
  it('stay within maxCommittingBytes while their commits wait; the rest are read once there is room', async () => {
    const port = (listener.address() as AddressInfo).port;
    const c = await loggedIn(port, ALICE.name, ALICE.password);
    const size = 200 * 1024;
    expect(size).toBeLessThanOrEqual(WHOLE_FILE_MAX);
    const bodies = Array.from({ length: 12 }, () => randomBytes(size));
    for (const [i, body] of bodies.entries()) c.sendPut(100 + i, `held-${i}.bin`, body);
    await sleep(500);
    // Five bodies fit in 1 MiB; the sixth waits, unread, for one of them to be committed.
    expect(storage.received.length).toBe(Math.floor(BUDGET / size));
    storage.open();
    const replies = await Promise.all(bodies.map((_, i) => c.nextFor(100 + i, 20_000)));
    for (const [i, reply] of replies.entries()) {
      const sha256 = createHash('sha256').update(bodies[i]!).digest('hex');
      expect(reply.header).toMatchObject({ type: 'ok', fileSize: size, sha256 });
      expect((await readFile(path.join(root, 'homes', 'alice', `held-${i}.bin`))).equals(bodies[i]!)).toBe(true);
    }
    expect(storage.received).toEqual(bodies.map(() => size));
    c.destroy();
  });
});
