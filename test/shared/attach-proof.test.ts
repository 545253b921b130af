/**
 * The attach proof against vectors computed from PROTOCOL.md's formula by another
 * implementation (Python's hmac), with and without a channel binding.
 */
import { describe, expect, it } from 'vitest';
import { attachProof } from '../../shared/node/attach-proof.js';

const ticket = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

describe('attachProof', () => {
  it('binds the proof to the nonce and the TLS channel', () => {
    const bound = attachProof(ticket, 'bm9uY2U=', Buffer.alloc(32, 0xab));
    expect(bound.toString('hex')).toBe('71a62bd2f6c3a06a18c0f49115e09f5a29713ae6056004eb9069256c7249252f');
  });

  it('on plain TCP the message ends after the nonce', () => {
    expect(attachProof(ticket, 'bm9uY2U=', null).toString('hex')).toBe('8933d72b3b2d1c06a5ff556528cd5659ebb52d7881ae66ccddfd70725dbccf05');
    expect(attachProof(ticket, 'bm9uY2U=', Buffer.alloc(0))).toEqual(attachProof(ticket, 'bm9uY2U=', null));
  });
});
