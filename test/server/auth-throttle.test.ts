import { describe, expect, it } from 'vitest';
import { AuthThrottle, addressKey } from '../../server/auth-throttle.js';

const MINUTE = 60_000;

function setup(options: ConstructorParameters<typeof AuthThrottle>[0] = {}) {
  let now = 1_000_000;
  const clock = {
    advance(ms: number) {
      now += ms;
    },
  };
  const throttle = new AuthThrottle({ now: () => now, ...options });
  return { throttle, clock };
}

function fail(throttle: AuthThrottle, times: number, address: string, user: string): void {
  for (let i = 0; i < times; i++) throttle.failure(address, user);
}

describe('AuthThrottle', () => {
  it('allows everyone at first', () => {
    const { throttle } = setup();
    expect(throttle.check('10.0.0.1', 'alice')).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(throttle.delayFor('10.0.0.1', 'alice')).toBe(250);
  });

  it('doubles the failure delay from 250 ms up to 4 s', () => {
    const { throttle } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      throttle.failure('10.0.0.1', 'alice');
      delays.push(throttle.delayFor('10.0.0.1', 'alice'));
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
  });

  it('honours custom delays', () => {
    const { throttle } = setup({ baseDelayMs: 100, maxDelayMs: 300 });
    fail(throttle, 1, 'a', 'u');
    expect(throttle.delayFor('a', 'u')).toBe(100);
    fail(throttle, 1, 'a', 'u');
    expect(throttle.delayFor('a', 'u')).toBe(200);
    fail(throttle, 1, 'a', 'u');
    expect(throttle.delayFor('a', 'u')).toBe(300);
  });

  it('locks an address out after 10 failures, whatever the user names', () => {
    const { throttle } = setup();
    for (let i = 0; i < 9; i++) throttle.failure('10.0.0.1', `user${i}`);
    expect(throttle.check('10.0.0.1', 'fresh').allowed).toBe(true);
    throttle.failure('10.0.0.1', 'user9');
    const gate = throttle.check('10.0.0.1', 'fresh');
    expect(gate.allowed).toBe(false);
    expect(gate.retryAfterMs).toBe(15 * MINUTE);
    // Other addresses are not affected by this one's failures.
    expect(throttle.check('10.0.0.2', 'fresh').allowed).toBe(true);
  });

  it('locks a user out after 10 failures, whatever the addresses', () => {
    const { throttle } = setup();
    for (let i = 0; i < 10; i++) throttle.failure(`10.0.0.${i}`, 'alice');
    expect(throttle.check('192.168.1.1', 'alice').allowed).toBe(false);
    expect(throttle.check('192.168.1.1', 'bob').allowed).toBe(true);
  });

  it('counts only failures inside the sliding window, and reports when the lockout ends', () => {
    const { throttle, clock } = setup();
    fail(throttle, 5, 'a', 'u'); // t = 0
    clock.advance(10 * MINUTE);
    fail(throttle, 5, 'a', 'u'); // t = 10 min
    let gate = throttle.check('a', 'u');
    expect(gate).toEqual({ allowed: false, retryAfterMs: 5 * MINUTE });

    clock.advance(5 * MINUTE - 1);
    expect(throttle.check('a', 'u')).toEqual({ allowed: false, retryAfterMs: 1 });
    clock.advance(1); // the first five leave the window
    gate = throttle.check('a', 'u');
    expect(gate).toEqual({ allowed: true, retryAfterMs: 0 });
    // The remaining five still count towards the delay.
    expect(throttle.delayFor('a', 'u')).toBe(4000);

    clock.advance(10 * MINUTE); // all gone
    expect(throttle.delayFor('a', 'u')).toBe(250);
    expect(throttle.tracked).toEqual({ addresses: 0, users: 0 });
  });

  it('extends the lockout while failures keep coming', () => {
    const { throttle, clock } = setup({ lockoutAfter: 3, windowMs: 1000 });
    fail(throttle, 3, 'a', 'u');
    clock.advance(500);
    throttle.failure('a', 'u');
    // The newest three failures are at 0, 0 and 500: the lockout ends when the t=0 ones leave.
    expect(throttle.check('a', 'u')).toEqual({ allowed: false, retryAfterMs: 500 });
    clock.advance(500);
    expect(throttle.check('a', 'u').allowed).toBe(true);
  });

  it("clears the user's failures on success, and only theirs at that address", () => {
    const { throttle } = setup();
    fail(throttle, 5, 'a', 'u');
    fail(throttle, 4, 'a', 'other');
    throttle.success('a', 'u');
    expect(throttle.tracked).toEqual({ addresses: 1, users: 1 });
    // The 4 failures for 'other' stay at the address: 6 more (for anyone) lock it.
    fail(throttle, 5, 'a', 'x');
    expect(throttle.check('a', 'someone').allowed).toBe(true);
    throttle.failure('a', 'y');
    expect(throttle.check('a', 'someone').allowed).toBe(false);
    // The user itself is clean again from a fresh address.
    expect(throttle.check('b', 'u')).toEqual({ allowed: true, retryAfterMs: 0 });
  });

  it('keeps user and address counters apart even when the strings are equal', () => {
    const { throttle } = setup({ lockoutAfter: 2 });
    throttle.failure('x', 'y');
    throttle.failure('y', 'x');
    expect(throttle.check('x', 'x').allowed).toBe(true);
  });

  it('bounds memory, evicting the least recently failed keys', () => {
    const { throttle, clock } = setup({ maxKeys: 100, lockoutAfter: 2 });
    fail(throttle, 2, 'victim-address', 'victim');
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      throttle.failure(`10.1.${i >> 8}.${i & 255}`, `spray${i}`);
    }
    expect(throttle.tracked).toEqual({ addresses: 100, users: 100 });
    // The most recent keys are still tracked...
    throttle.failure('10.1.3.231', 'spray999');
    expect(throttle.check('10.1.3.231', 'other').allowed).toBe(false);
    expect(throttle.check('10.9.9.9', 'spray999').allowed).toBe(false);
    // ...the oldest were dropped.
    expect(throttle.check('victim-address', 'victim').allowed).toBe(true);
  });

  it('keeps at most lockoutAfter timestamps per key', () => {
    const { throttle, clock } = setup({ lockoutAfter: 3, windowMs: 10_000 });
    fail(throttle, 1000, 'a', 'u');
    clock.advance(10_000);
    expect(throttle.check('a', 'u').allowed).toBe(true);
  });

  it('groups IPv6 clients by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002::ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('unknown')).toBe('unknown');

    const { throttle } = setup({ lockoutAfter: 2 });
    throttle.failure('2001:db8:1:2::a', 'u1');
    throttle.failure('2001:db8:1:2::b', 'u2');
    expect(throttle.check('2001:db8:1:2::c', 'u3').allowed).toBe(false);
    expect(throttle.check('2001:db8:1:3::c', 'u3').allowed).toBe(true);
  });
});
