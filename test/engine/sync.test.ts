/**
 * Folder sync through the real engine: against a real ferryd (compared by XXH3-128, the
 * default check, or SHA-256 when asked, from the digests the server stored at commit or
 * computes on request) and a real sshd (by size and mtime). Edits that keep the size (and even the mtime) are found, an older copy never
 * replaces a newer one, conflicts leave both copies alone, and a second sync has nothing to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckAlgorithm } from '../../shared/common/checks.js';
import type { SyncAction, SyncPlan, SyncRequest } from '../../shared/common/sync-model.js';
import type { Remote } from '../../engine/remote/remote.js';
import { SftpRemote } from '../../engine/sftp/sftp-remote.js';
import { TransferQueue } from '../../engine/queue/transfer-queue.js';
import { prepareSync } from '../../engine/sync/sync-prepare.js';
import { runSync } from '../../engine/sync/sync-run.js';
import { cleanupAll, startFerryd, tempDir, type Ferryd, type TestUser } from '../helpers/harness.js';
import { makeTree, treeDigest } from '../helpers/files.js';
import { sftpOptions, startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { connectSession } from '../helpers/engine.js';

const alice: TestUser = { name: 'alice', password: 'alice pass', exec: true };
let server: Ferryd;
let sshd: TestSshd;

beforeAll(async () => {
  [server, sshd] = await Promise.all([startFerryd({ users: [alice] }), startTestSshd()]);
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await cleanupAll();
});

/** Plan and (unless dry) run one sync; returns the plan and the actions by path. */
async function sync(remote: Remote, stateDir: string, request: SyncRequest, dry = false, check?: CheckAlgorithm): Promise<{ plan: SyncPlan; by: Map<string, SyncAction> }> {
  const prepared = await prepareSync(remote, request, { stateDir, ...(check ? { check } : {}) });
  if (!dry) {
    const queue = new TransferQueue(remote, { conflict: 'ask', ...(check ? { check } : {}) });
    try {
      const outcome = await runSync(prepared, remote, queue);
      expect(outcome.failed).toEqual([]);
    } finally {
      queue.close();
    }
  }
  return { plan: prepared.plan, by: new Map(prepared.plan.actions.map((a) => [a.path, a])) };
}

function changes(plan: SyncPlan): string[] {
  return plan.actions.filter((a) => a.kind !== 'same').map((a) => `${a.kind} ${a.path}${a.side ? `@${a.side}` : ''}`);
}

/** Rewrite a file with other bytes of the same length and put its mtime back: only a content check sees it. */
async function sneakyEdit(file: string): Promise<void> {
  const before = await stat(file);
  const data = await readFile(file);
  data[0] = data[0]! ^ 0xff;
  await writeFile(file, data);
  await utimes(file, before.atime, before.mtime);
}

const CHECKED: ReadonlyArray<{ check: CheckAlgorithm; name: string; folder: string }> = [
  { check: 'xxh128', name: 'XXH3-128', folder: '/site-xxh' },
  { check: 'sha256', name: 'SHA-256', folder: '/site-sha' },
];

describe.each(CHECKED)('over Ferry’s protocol, compared by $name (the check asked for)', ({ check, name: algorithm, folder }) => {
  let remote: Remote;
  let local: string;
  let stateDir: string;
  let home: string;

  beforeAll(async () => {
    remote = await connectSession(server, alice);
    local = await tempDir('ferry-sync-local-');
    stateDir = await tempDir('ferry-sync-state-');
    home = path.join(server.root, 'homes', alice.name);
    await makeTree(local);
  });

  afterAll(() => remote?.close());

  it('up: the remote becomes like the local folder, and a second sync has nothing to do', async () => {
    const first = await sync(remote, stateDir, { localRoot: local, remoteRoot: folder, direction: 'up', deleteExtras: false }, false, check);
    expect(first.plan.compare).toBe(check);
    expect(await treeDigest(path.join(home, folder))).toEqual(await treeDigest(local));
    // The listing now carries the digest of the check the uploads made.
    const listed = (await remote.list(folder)).entries.filter((e) => e.type === 'file');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e) => e[check] !== undefined && e[check === 'xxh128' ? 'sha256' : 'xxh128'] === undefined)).toBe(true);
    const again = await sync(remote, stateDir, { localRoot: local, remoteRoot: folder, direction: 'up', deleteExtras: false }, false, check);
    expect(changes(again.plan)).toEqual([]);
    expect([...again.by.values()].every((a) => a.kind === 'same' && (a.local?.type !== 'file' || a.reason === `same ${algorithm}`))).toBe(true);
  });

  it('an edit that keeps the size and the mtime is found, here and on the server', async () => {
    const name = 'sub/naïve café.txt';
    await sneakyEdit(path.join(local, name));
    const up = await sync(remote, stateDir, { localRoot: local, remoteRoot: folder, direction: 'up', deleteExtras: false }, false, check);
    expect(changes(up.plan)).toEqual([`upload ${name}`]);
    expect(up.by.get(name)!.reason).toContain(algorithm);
    expect(await treeDigest(path.join(home, folder))).toEqual(await treeDigest(local));

    // On the server, behind ferryd's back: its stored hash no longer applies, so it is computed.
    await sneakyEdit(path.join(home, folder, name));
    const down = await sync(remote, stateDir, { localRoot: local, remoteRoot: folder, direction: 'down', deleteExtras: false }, false, check);
    expect(changes(down.plan)).toEqual([`download ${name}`]);
    expect(down.by.get(name)!.remote?.[check]).toBeDefined();
    expect(await treeDigest(local)).toEqual(await treeDigest(path.join(home, folder)));
  });
});

describe('over Ferry’s protocol, a folder uploaded with SHA-256 and synced by default', () => {
  it('each file is compared by the digest the server holds for it (the local file hashed with the same)', async () => {
    const remote = await connectSession(server, alice);
    try {
      const local = await tempDir('ferry-sync-mixed-');
      const stateDir = await tempDir('ferry-sync-mixed-state-');
      await makeTree(local);
      await sync(remote, stateDir, { localRoot: local, remoteRoot: '/mixed', direction: 'up', deleteExtras: false }, false, 'sha256');
      const fresh = await tempDir('ferry-sync-mixed-state2-');
      const again = await sync(remote, fresh, { localRoot: local, remoteRoot: '/mixed', direction: 'up', deleteExtras: false });
      expect(again.plan.compare).toBe('xxh128');
      expect(changes(again.plan)).toEqual([]);
      const files = [...again.by.values()].filter((a) => a.local?.type === 'file');
      expect(files.length).toBeGreaterThan(0);
      expect(files.every((a) => a.reason === 'same SHA-256')).toBe(true);
    } finally {
      remote.close();
    }
  });
});

describe('over Ferry’s protocol (the default check)', () => {
  let remote: Remote;
  let local: string;
  let stateDir: string;
  let home: string;

  beforeAll(async () => {
    remote = await connectSession(server, alice);
    local = await tempDir('ferry-sync-local-');
    stateDir = await tempDir('ferry-sync-state-');
    home = path.join(server.root, 'homes', alice.name);
    await makeTree(local);
    await sync(remote, stateDir, { localRoot: local, remoteRoot: '/site', direction: 'up', deleteExtras: false });
  });

  afterAll(() => remote?.close());

  it('extras are deleted only when asked', async () => {
    await writeFile(path.join(home, 'site', 'extra.txt'), 'only on the server');
    const kept = await sync(remote, stateDir, { localRoot: local, remoteRoot: '/site', direction: 'up', deleteExtras: false });
    expect(changes(kept.plan)).toEqual(['keep extra.txt@remote']);
    expect(await readFile(path.join(home, 'site', 'extra.txt'), 'utf8')).toBe('only on the server');
    const deleted = await sync(remote, stateDir, { localRoot: local, remoteRoot: '/site', direction: 'up', deleteExtras: true });
    expect(changes(deleted.plan)).toEqual(['delete extra.txt@remote']);
    await expect(stat(path.join(home, 'site', 'extra.txt'))).rejects.toThrow();
  });

  it('both: the side that changed wins, an older copy never replaces a newer one, both changed is a conflict', async () => {
    const l = (n: string): string => path.join(local, n);
    const r = (n: string): string => path.join(home, 'site', n);
    for (const n of ['mine.txt', 'theirs.txt', 'both.txt', 'old.txt']) await writeFile(l(n), `${n} v1\n`);
    await sync(remote, stateDir, { localRoot: local, remoteRoot: '/site', direction: 'both', deleteExtras: false });
    const later = new Date(Date.now() + 60_000);
    const earlier = new Date(Date.now() - 3_600_000);
    await writeFile(l('mine.txt'), 'mine v2, changed here\n');
    await writeFile(r('theirs.txt'), 'theirs v2, changed on the server\n');
    await writeFile(l('both.txt'), 'both: the local change\n');
    await writeFile(r('both.txt'), 'both: the remote change\n');
    // A change here that is older than the server's copy (a restored backup): kept back.
    await writeFile(l('old.txt'), 'an old copy\n');
    await utimes(l('old.txt'), earlier, earlier);
    await utimes(r('old.txt'), later, later);

    const both = await sync(remote, stateDir, { localRoot: local, remoteRoot: '/site', direction: 'both', deleteExtras: false });
    expect(changes(both.plan).sort()).toEqual(['conflict both.txt', 'conflict old.txt', 'download theirs.txt', 'upload mine.txt']);
    expect(await readFile(r('mine.txt'), 'utf8')).toBe('mine v2, changed here\n');
    expect(await readFile(l('theirs.txt'), 'utf8')).toBe('theirs v2, changed on the server\n');
    expect(await readFile(l('both.txt'), 'utf8')).toBe('both: the local change\n');
    expect(await readFile(r('both.txt'), 'utf8')).toBe('both: the remote change\n');
    expect(await readFile(r('old.txt'), 'utf8')).toBe('old.txt v1\n');
  });

  it('a dry run changes nothing', async () => {
    await writeFile(path.join(local, 'dry.txt'), 'not yet');
    const before = await treeDigest(path.join(home, 'site'));
    const dry = await sync(remote, stateDir, { localRoot: local, remoteRoot: '/site', direction: 'up', deleteExtras: true }, true);
    expect(changes(dry.plan)).toContain('upload dry.txt');
    expect(await treeDigest(path.join(home, 'site'))).toEqual(before);
  });
});

describe('over SFTP (compared by size and mtime)', () => {
  it('syncs up and down, says how it compared, and finds an edit that keeps the size', async () => {
    const remote = await SftpRemote.connect(sftpOptions(sshd));
    try {
      const local = await tempDir('ferry-sync-sftp-');
      const stateDir = await tempDir('ferry-sync-state-');
      await makeTree(local);
      const remoteRoot = path.posix.join(sshd.home, 'synced');
      const up = await sync(remote, stateDir, { localRoot: local, remoteRoot, direction: 'up', deleteExtras: false });
      expect(up.plan.compare).toBe('size-mtime');
      expect(await treeDigest(remoteRoot)).toEqual(await treeDigest(local));
      expect(changes((await sync(remote, stateDir, { localRoot: local, remoteRoot, direction: 'up', deleteExtras: false }, true)).plan)).toEqual([]);

      const name = 'readme.txt';
      const data = await readFile(path.join(remoteRoot, name));
      data[0] = data[0]! ^ 0xff;
      await writeFile(path.join(remoteRoot, name), data); // same size, a new mtime
      const future = new Date(Date.now() + 5000);
      await utimes(path.join(remoteRoot, name), future, future);
      const down = await sync(remote, stateDir, { localRoot: local, remoteRoot, direction: 'down', deleteExtras: false });
      expect(changes(down.plan)).toEqual([`download ${name}`]);
      expect(down.by.get(name)!.reason).toMatch(/size or modification time/);
      expect(await treeDigest(local)).toEqual(await treeDigest(remoteRoot));
    } finally {
      remote.close();
    }
  });
});
