/**
 * What a command needs from the storage: real folders on this machine. Only storage on a
 * local disk can offer them, so this is not part of Storage (which an object store could
 * implement); a server runs commands only with an ExecHost.
 */
import type { Account } from './storage.js';

export interface ExecHost {
  /**
   * The real OS folder behind a virtual folder, jail-checked (EACCES, ENOTDIR), for a
   * command's working directory. From this call on the command may change files behind
   * the storage's back, so nothing resolved before is trusted any longer.
   */
  hostPath(account: Account, cwd: string): Promise<string>;
  /** A command ended: forget the account's cached usage (it may have changed files). */
  invalidateUsage(account: Account): void;
}
