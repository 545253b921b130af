/**
 * A bound on the bytes one connection holds in memory for one purpose (read replies not
 * yet taken by the socket, whole upload bodies waiting for their commit).
 */
import { FerryError } from '../shared/common/errors.js';

/**
 * Reservations wait while others hold too much; one bigger than the whole budget still
 * runs, alone, so that nothing waits forever.
 */
export class ByteBudget {
  private held = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(private readonly max: number) {}

  /** Bytes reserved and not yet given back. */
  get bytes(): number {
    return this.held;
  }

  /** Wait until `bytes` fit, then hold them. ECONN once the connection has closed. */
  async reserve(bytes: number): Promise<void> {
    while (this.held > 0 && this.held + bytes > this.max) {
      if (this.closed) throw new FerryError('ECONN', 'the connection closed');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.held += bytes;
  }

  release(bytes: number): void {
    this.held -= bytes;
    this.wakeAll();
  }

  /** The connection closed: whoever waits gives up. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}
