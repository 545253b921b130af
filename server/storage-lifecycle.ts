/**
 * The life of one run of the local storage: its own incoming folder for small files (what
 * earlier runs left there is deleted at start), the choice of how batches are made
 * durable (one syncfs, or an fsync per file), and the flush of pending commits at stop.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { probeFilesystemSync, type FilesystemSync } from './fs-sync.js';
import { sysCode } from './storage-jail.js';
import { SyncBatcher } from './storage-sync.js';

export interface StorageRunOptions {
  /** How long a commit waits for others to share its fsyncs (ms). */
  readonly syncDelayMs?: number;
  /**
   * Make batches of small files durable with one filesystem sync (fs-sync.ts) when this
   * system has one (default true); false fsyncs each file.
   */
  readonly filesystemSync?: boolean;
  readonly log?: (line: string) => void;
}

export class StorageRun {
  /** The group commit every upload of this run goes through. */
  readonly batcher: SyncBatcher;
  /** This run's folder for small files being committed: ROOT/state/incoming/RUN. */
  readonly incoming: string;
  /** Resolves once what earlier runs left in state/incoming is gone (tests, diagnostics). */
  readonly swept: Promise<void>;
  private readonly syncProbe: Promise<'syncfs' | 'fsync'>;
  private fsSync: FilesystemSync | null = null;
  private closing = false;

  constructor(root: string, options: StorageRunOptions) {
    const log = options.log;
    this.batcher = new SyncBatcher(Math.max(0, options.syncDelayMs ?? 2), log);
    const incomingRoot = path.join(root, 'state', 'incoming');
    const run = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    this.incoming = path.join(incomingRoot, run);
    this.swept = sweepOtherRuns(incomingRoot, run, log);
    this.syncProbe =
      options.filesystemSync === false
        ? Promise.resolve('fsync')
        : probeFilesystemSync(root, log).then((sync) => {
            if (!sync) return 'fsync';
            if (this.closing) {
              sync.close();
              return 'fsync';
            }
            this.fsSync = sync;
            this.batcher.useFilesystemSync(sync);
            log?.('sync: batches of small files are made durable with one filesystem sync (syncfs) each');
            return 'syncfs';
          });
  }

  /** How batches of small files are made durable: one syncfs each, or an fsync per file. */
  syncMode(): Promise<'syncfs' | 'fsync'> {
    return this.syncProbe;
  }

  /** Flush pending durable commits, then stop the filesystem sync helper. */
  async close(): Promise<void> {
    await this.batcher.drain();
    this.closing = true;
    this.fsSync?.close();
  }
}

/**
 * Delete what earlier runs of the server left in state/incoming: small files whose commit
 * a crash interrupted (never acknowledged, so nothing is lost). This run's own folder is
 * new and left alone, so uploads need not wait for the sweep.
 */
async function sweepOtherRuns(incomingRoot: string, run: string, log?: (line: string) => void): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(incomingRoot);
  } catch (err) {
    if (sysCode(err) !== 'ENOENT') log?.(`incoming: cannot list ${incomingRoot}: ${String(err)}`);
    return;
  }
  for (const name of names) {
    if (name === run) continue;
    try {
      await fsp.rm(path.join(incomingRoot, name), { recursive: true, force: true });
      log?.(`incoming: deleted uncommitted small files left by an earlier run (${name})`);
    } catch (err) {
      log?.(`incoming: cannot delete ${name}: ${String(err)}`);
    }
  }
}
