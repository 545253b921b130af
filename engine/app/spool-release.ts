/**
 * Local files the backend borrowed for an upload (the web host's spooled browser drops):
 * each lot is released once none of its transfers can need it any more, when the upload
 * is refused, when the session ends, and on dispose.
 */
import type { TransferId, TransferView } from '../../shared/common/transfer-model.js';

interface OwnedUpload {
  readonly ids: ReadonlySet<TransferId>;
  readonly release: () => Promise<void>;
}

export class SpoolRelease {
  private readonly owned: OwnedUpload[] = [];

  constructor(
    /** The current state of a transfer, or undefined when it is gone from the list. */
    private readonly stateOf: (id: TransferId) => TransferView['state'] | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** These transfers read the caller's files: release them when they are through. */
  add(views: readonly TransferView[], release: () => Promise<void>): Promise<void> {
    this.owned.push({ ids: new Set(views.map((v) => v.id)), release });
    return this.releaseFinished();
  }

  /** Transfer `id` reads files lent to this backend (they go when it ends). */
  lends(id: TransferId): boolean {
    return this.owned.some((o) => o.ids.has(id));
  }

  /** Release the lots nobody can need any more (call after each queue event). */
  releaseFinished(): Promise<void> {
    if (this.owned.length === 0) return Promise.resolve();
    return this.releaseWhere((o) =>
      [...o.ids].every((id) => {
        const state = this.stateOf(id);
        // Failed and cancelled rows keep their files: they offer Retry until cleared.
        return state === undefined || state === 'done' || state === 'skipped';
      }),
    );
  }

  /** Release everything (the session ended, or the front end went away). */
  releaseAll(): Promise<void> {
    return this.releaseWhere(() => true);
  }

  private async releaseWhere(ready: (o: OwnedUpload) => boolean): Promise<void> {
    const lots = this.owned.filter(ready);
    for (const o of lots) {
      // Out of the list before the await, so a concurrent pass never releases it twice.
      this.owned.splice(this.owned.indexOf(o), 1);
      await o.release().catch((err) => this.log(`could not remove spooled files: ${(err as Error).message}`));
    }
  }
}
