/**
 * The host-key check of one connect, over either protocol: called for every connection
 * it opens (Ferry: the control and data connections; SFTP: the SSH connection, during the
 * key exchange, when ~/.ssh/known_hosts does not decide) and every reconnect. A new or
 * changed key stops the first login before any secret is sent and becomes a question for
 * the user (hosts:trust, then connect again); once logged in, a key that is no longer
 * trusted is an error. The local server's key is the one it reported itself: no question.
 */
import type { ConnectResult } from '../../../shared/common/contract.js';
import { FerryError } from '../../../shared/common/errors.js';
import type { LocalServerInfo } from '../local-server/local-server.js';
import { hostKeyChangedError, type KnownHosts } from '../stores/known-hosts.js';

export type HostKeyQuestion = Exclude<ConnectResult, { readonly kind: 'connected' }>;

export class HostKeyGate {
  /** Set when the first login stopped to ask about the key. */
  question: HostKeyQuestion | undefined;
  private established = false;

  constructor(
    private readonly knownHosts: KnownHosts,
    /** host:port, spelled as the CLI's known_hosts spells it. */
    private readonly hostPort: string,
    private readonly local: LocalServerInfo | undefined,
  ) {}

  /** The first login succeeded: from now on a key that is not trusted is an error, not a question. */
  loggedIn(): void {
    this.established = true;
  }

  readonly verify = async (fingerprint: string): Promise<void> => {
    const { hostPort, local } = this;
    if (local) {
      // Our own server told us its key: anything else on that port is not it.
      if (fingerprint === local.fingerprint) return;
      throw hostKeyChangedError(hostPort, local.fingerprint, fingerprint);
    }
    const check = await this.knownHosts.check(hostPort, fingerprint);
    if (check.kind === 'known') return;
    if (this.established) {
      if (check.kind === 'changed') throw hostKeyChangedError(hostPort, check.expected, fingerprint);
      throw new FerryError('EHOSTKEY', `The key of ${hostPort} is no longer recorded as trusted: connect again to check it.`);
    }
    // Stop before logging in: the person decides, then calls hosts:trust and connects again.
    this.question =
      check.kind === 'new'
        ? { kind: 'hostkey-new', hostPort, fingerprint }
        : { kind: 'hostkey-changed', hostPort, fingerprint, expected: check.expected };
    throw new FerryError('EHOSTKEY', 'the host key must be confirmed first');
  };
}
