/**
 * The proof that a new connection holds its session's ticket (PROTOCOL.md, "attach"):
 * defined once, for the server that checks it and the client that sends it.
 */
import { createHmac } from 'node:crypto';

/**
 * HMAC-SHA-256 keyed with the ticket's bytes over "ferry-attach:" + the server's hello
 * nonce + ":" followed by this connection's tls-exporter value (nothing on plain TCP), so
 * a proof cannot be replayed on another connection.
 */
export function attachProof(ticket: Buffer, serverNonce: string, binding: Buffer | null): Buffer {
  const hmac = createHmac('sha256', ticket).update(`ferry-attach:${serverNonce}:`);
  if (binding) hmac.update(binding);
  return hmac.digest();
}
