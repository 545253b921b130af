/**
 * Who may upload what: the lock on each path being uploaded, the exists policy, the resume
 * offset, and the quota, whose bytes are reserved synchronously with the check so that
 * concurrent uploads cannot exceed it. Also the per-account usage the quota is checked on.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FerryError } from '../shared/common/errors.js';
import type { Df } from '../shared/common/messages.js';
import { formatBytes } from '../shared/common/size.js';
import { lstatOrNull } from '../shared/node/fs-calls.js';
import type { Account, UploadRequest } from './storage.js';
import { checkCount, guard, vbase, vjoin, vparent, type Home, type HomeJail } from './storage-jail.js';
import { SkippedUpload, type UploadTarget } from './storage-upload.js';
import { UsageTracker, type Usage } from './storage-usage.js';

const MAX_RENAME_TRIES = 10_000;

/** Everything admit() settled for an upload; the caller owns its lock and reservation. */
export interface Admission {
  readonly offset: number;
  readonly total: number;
  readonly need: number;
  /** Entries reserved for the upload: 1 when it creates a partial or a file, else 0. */
  readonly entryNeed: number;
  readonly have: number;
  readonly tracker: UsageTracker;
  readonly partialName: string;
  readonly partialDir: string;
  readonly partialPath: string;
  readonly chosen: UploadTarget;
  readonly unlock: () => void;
  readonly pickFreeName: (taken: UploadTarget) => Promise<UploadTarget>;
  /** The account's home (its real path keys the stored hashes). */
  readonly home: Home;
}

/** The walked usage (walking first if needed); callers check and reserve right after it. */
async function usageNow(tracker: UsageTracker): Promise<Usage> {
  let usage = tracker.peekUsage();
  while (usage === null) {
    await tracker.currentUsage();
    usage = tracker.peekUsage();
  }
  return usage;
}

/** Do `count` more entries fit the account's entry quota, reservations included? */
function entriesFit(account: Account, tracker: UsageTracker, usage: Usage, count: number): boolean {
  const max = account.maxEntries ?? null;
  return max === null || count === 0 || usage.entries + tracker.reservedEntries + count <= max;
}

function entryQuotaError(account: Account, tracker: UsageTracker, usage: Usage): FerryError {
  const max = account.maxEntries ?? 0;
  const pending = tracker.reservedEntries > 0 ? `, ${tracker.reservedEntries.toLocaleString('en')} more being made` : '';
  return new FerryError(
    'EQUOTA',
    `You have reached your limit of ${max.toLocaleString('en')} files and folders (${usage.entries.toLocaleString('en')} now${pending}): delete some, or ask the administrator for a higher entry quota.`,
    { entries: usage.entries, maxEntries: max },
  );
}

/** 'a.txt' → 'a (n).txt'; dot files and names without an extension get the suffix at the end. */
export function numberedName(name: string, n: number): string {
  const ext = path.extname(name);
  const stem = ext === '' || ext === name ? name : name.slice(0, -ext.length);
  return ext === name ? `${name} (${n})` : `${stem} (${n})${ext}`;
}

export class UploadAdmission {
  private readonly trackers = new Map<string, UsageTracker>();
  /** Virtual paths with an upload in progress, per account. */
  private readonly locks = new Map<string, Set<string>>();

  constructor(
    private readonly root: string,
    private readonly jail: HomeJail,
    private readonly log: ((line: string) => void) | undefined,
  ) {}

  /**
   * What every upload checks before it may write: the offset and size, the jail, the
   * folder, the lock on the path, the exists policy, the partial's size for a resume, and
   * the quota (reserved here). On success the caller owns the lock and the reservation.
   */
  async admit(
    account: Account,
    cwd: string,
    target: string,
    request: UploadRequest,
    /**
     * A whole small upload (putWhole): the commit looks at the target anyway (right before
     * the rename), so a target that is simply overwritten is left to it (a folder there is
     * EISDIR then); and an older partial of the path is found when the file is created
     * (and truncated, which gives its bytes back), so it is only looked for here when the
     * quota would not fit without it.
     */
    whole = false,
  ): Promise<Admission | SkippedUpload> {
    const { offset, total } = request;
    checkCount(offset, 'offset');
    checkCount(total, 'size');
    if (offset > total) throw new FerryError('EINVAL', 'The resume offset is past the end of the file.');
    const home = await this.jail.home(account);
    const vpath = this.jail.normalize(cwd, target);
    if (vpath === '/') throw new FerryError('EISDIR');
    const parent = await this.jail.folder(home, vparent(vpath));
    const host = path.join(parent, vbase(vpath));

    const locks = this.locksOf(home);
    if (locks.has(vpath)) throw new FerryError('EBUSY');
    locks.add(vpath);
    const held = [vpath];
    const unlock = (): void => {
      for (const p of held) locks.delete(p);
      held.length = 0;
    };
    try {
      const partialName = this.partialName(vpath);
      const partialDir = this.partialDir(home);
      const partialPath = path.join(partialDir, partialName);
      const lookTarget = !(whole && request.exists === 'overwrite');
      const [existing, partialSt] = await Promise.all([lookTarget ? lstatOrNull(host) : null, whole ? null : lstatOrNull(partialPath)]);
      if (existing?.isDirectory()) throw new FerryError('EISDIR');
      let chosen: UploadTarget = { path: vpath, host };
      if (existing) {
        if (request.exists === 'fail') throw new FerryError('EEXIST');
        if (request.exists === 'skip') {
          unlock();
          return new SkippedUpload(vpath, existing.size);
        }
        if (request.exists === 'rename') chosen = await this.freeName(locks, held, parent, vpath);
      }

      let have = partialSt?.isFile() ? partialSt.size : 0;
      if (offset > 0 && have !== offset) {
        throw new FerryError(
          'EOFFSET',
          `The resume offset (${offset}) does not match what the server holds (${have} bytes).`,
          { offset: have },
        );
      }

      const tracker = this.tracker(account, home);
      const need = total - offset;
      // A streamed upload makes a new entry when it creates its partial (which becomes the
      // file); a whole one when its file is new. Not knowing (a whole overwrite does not look
      // at the target) counts as new, looked at only if it would not fit.
      // Without any quota there is nothing to check (and no need to walk the home for it).
      const counted = account.quota !== null || (account.maxEntries ?? null) !== null;
      let now: Usage = counted ? await usageNow(tracker) : { bytes: 0, entries: 0 };
      let entryNeed = whole ? (existing && request.exists !== 'rename' ? 0 : 1) : partialSt?.isFile() ? 0 : 1;
      if (entryNeed > 0 && !lookTarget && !entriesFit(account, tracker, now, entryNeed)) {
        if ((await lstatOrNull(host))?.isFile()) entryNeed = 0;
        now = await usageNow(tracker);
      }
      if (account.quota !== null) {
        const quota = account.quota;
        // Starting over truncates the old partial, which gives its bytes back.
        // Synchronous from here to reserve(): concurrent uploads see each other's reservations.
        let free = Math.max(0, quota - (now.bytes - (offset === 0 ? have : 0)) - tracker.reserved);
        if (need > free && whole) {
          const st = await lstatOrNull(partialPath);
          have = st?.isFile() ? st.size : 0;
          now = await usageNow(tracker);
          free = Math.max(0, quota - (now.bytes - have) - tracker.reserved);
        }
        if (need > free) {
          throw new FerryError(
            'EQUOTA',
            `Not enough quota left: this upload needs ${formatBytes(need)} but only ${formatBytes(free)} is free.`,
            { need, free },
          );
        }
      }
      if (!entriesFit(account, tracker, now, entryNeed)) throw entryQuotaError(account, tracker, now);
      // Synchronous since the last usageNow(): no other operation's reservation came between.
      tracker.reserve(need, entryNeed);
      // A whole upload's partial is counted from when its commit creates it.
      if (!whole) tracker.activePartials.set(partialName, have);
      const pickFreeName = async (taken: UploadTarget): Promise<UploadTarget> => {
        const next = await this.freeName(locks, held, path.dirname(taken.host), taken.path);
        // Keep the requested path locked: it names the partial.
        if (taken.path !== vpath) {
          locks.delete(taken.path);
          held.splice(held.indexOf(taken.path), 1);
        }
        return next;
      };
      return { offset, total, need, entryNeed, have, tracker, partialName, partialDir, partialPath, chosen, unlock, pickFreeName, home };
    } catch (err) {
      unlock();
      throw err;
    }
  }

  /** Quota, usage and what can still be uploaded (the disk's free space at most); entries and their limit. */
  df(account: Account): Promise<Df> {
    return guard(async () => {
      const home = await this.jail.home(account);
      const { bytes: used, entries } = await this.tracker(account, home).currentUsage();
      const st = await fsp.statfs(home.real);
      const disk = st.bavail * st.bsize;
      const free = account.quota === null ? disk : Math.min(Math.max(0, account.quota - used), disk);
      return { quota: account.quota, used, free, entries, maxEntries: account.maxEntries ?? null };
    });
  }

  /**
   * Make one new entry (a folder) within the entry quota: checked and reserved before
   * `create` runs, counted once it has. `create` resolves true if it made the entry.
   */
  async addEntry(account: Account, home: Home, create: () => Promise<boolean>): Promise<void> {
    const tracker = this.tracker(account, home);
    if ((account.maxEntries ?? null) !== null) {
      const now = await usageNow(tracker);
      if (!entriesFit(account, tracker, now, 1)) throw entryQuotaError(account, tracker, now);
    }
    tracker.reserve(0, 1);
    tracker.startChange();
    let made = false;
    try {
      made = await create();
    } finally {
      tracker.endChange(0, made ? 1 : 0);
      tracker.release(0, 1);
    }
  }

  /** The account's usage, walked on first use and kept up to date by every change. */
  tracker(account: Account, home: Home): UsageTracker {
    let tracker = this.trackers.get(account.name);
    if (!tracker) {
      tracker = new UsageTracker(home.real, this.partialDir(home), this.log);
      this.trackers.set(account.name, tracker);
    }
    return tracker;
  }

  /** Forget the account's usage: it is walked again when next needed. */
  invalidate(account: Account): void {
    this.trackers.get(account.name)?.invalidate();
  }

  /** Where a streamed upload of `vpath` keeps its partial (outside the home). */
  partialPath(home: Home, vpath: string): string {
    return path.join(this.partialDir(home), this.partialName(vpath));
  }

  private partialDir(home: Home): string {
    return path.join(this.root, 'state', 'partials', home.name);
  }

  private partialName(vpath: string): string {
    return `${createHash('sha256').update(vpath).digest('hex')}.part`;
  }

  /** Pick and lock 'name (n).ext' that neither exists nor is being uploaded. */
  private async freeName(locks: Set<string>, held: string[], parent: string, vpath: string): Promise<UploadTarget> {
    const dir = vparent(vpath);
    const name = vbase(vpath);
    for (let n = 1; n <= MAX_RENAME_TRIES; n++) {
      const candidate = numberedName(name, n);
      const cpath = vjoin(dir, candidate);
      if (locks.has(cpath)) continue;
      const host = path.join(parent, candidate);
      if (await lstatOrNull(host)) continue;
      if (locks.has(cpath)) continue;
      locks.add(cpath);
      held.push(cpath);
      return { path: cpath, host };
    }
    throw new FerryError('EEXIST', 'No free name was found for the renamed upload.');
  }

  private locksOf(home: Home): Set<string> {
    let set = this.locks.get(home.name);
    if (!set) {
      set = new Set();
      this.locks.set(home.name, set);
    }
    return set;
  }
}
