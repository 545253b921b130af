import { describe, expect, it } from 'vitest';
import { AuthThrottle, addressKey, addressRanges } from '../../server/auth-throttle.js';

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
  it('allows everyone at first, without slowing anyone down', () => {
    const { throttle } = setup();
    expect(throttle.check('10.0.0.1', 'alice')).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(throttle.delayFor('10.0.0.1')).toBe(250);
    expect(throttle.userDelay('alice')).toBe(0);
  });

  it('doubles the failure delay of a range from 250 ms up to 4 s', () => {
    const { throttle } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      throttle.failure('10.0.0.1', `user${i}`);
      delays.push(throttle.delayFor('10.0.0.1'));
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 4000, 4000, 4000]);
    expect(throttle.delayFor('10.0.0.2')).toBe(250);
  });

  it('honours custom delays', () => {
    const { throttle } = setup({ baseDelayMs: 100, maxDelayMs: 300 });
    fail(throttle, 1, 'a', 'u');
    expect(throttle.delayFor('a')).toBe(100);
    fail(throttle, 1, 'a', 'u');
    expect(throttle.delayFor('a')).toBe(200);
    fail(throttle, 1, 'a', 'u');
    expect(throttle.delayFor('a')).toBe(300);
  });

  it('locks a user out from one address after 10 failures, and only there', () => {
    const { throttle } = setup();
    fail(throttle, 9, '10.0.0.1', 'alice');
    expect(throttle.check('10.0.0.1', 'alice').allowed).toBe(true);
    throttle.failure('10.0.0.1', 'alice');
    expect(throttle.check('10.0.0.1', 'alice')).toEqual({ allowed: false, retryAfterMs: 15 * MINUTE });
    // Other users at that address, and alice elsewhere, are not locked.
    expect(throttle.check('10.0.0.1', 'bob').allowed).toBe(true);
    expect(throttle.check('10.0.0.2', 'alice').allowed).toBe(true);
  });

  it('locks an address out after 20 failures, whatever the user names', () => {
    const { throttle } = setup();
    for (let i = 0; i < 19; i++) throttle.failure('10.0.0.1', `user${i}`);
    expect(throttle.check('10.0.0.1', 'fresh').allowed).toBe(true);
    throttle.failure('10.0.0.1', 'user19');
    const gate = throttle.check('10.0.0.1', 'fresh');
    expect(gate).toEqual({ allowed: false, retryAfterMs: 15 * MINUTE });
    expect(throttle.check('10.0.0.2', 'fresh').allowed).toBe(true);
  });

  it("a user's failures from many addresses slow that user's logins down, boundedly, and lock nobody else out", () => {
    const { throttle } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      throttle.failure(`10.1.0.${i}`, 'alice');
      if (i < 6) delays.push(throttle.userDelay('alice'));
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 2000, 2000]);
    expect(throttle.userDelay('alice')).toBe(2000);
    expect(throttle.check('10.9.9.9', 'alice')).toEqual({ allowed: true, retryAfterMs: 0 });
    expect(throttle.userDelay('bob')).toBe(0);
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
    // The remaining five still count towards the delays.
    expect(throttle.delayFor('a')).toBe(4000);
    expect(throttle.userDelay('u')).toBe(2000);

    clock.advance(10 * MINUTE); // all gone
    expect(throttle.delayFor('a')).toBe(250);
    expect(throttle.userDelay('u')).toBe(0);
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
    const { throttle } = setup({ lockoutAfter: 5, addressLockoutAfter: 10 });
    fail(throttle, 4, 'a', 'u');
    fail(throttle, 4, 'a', 'other');
    fail(throttle, 3, 'b', 'u');
    throttle.success('a', 'u');
    expect(throttle.tracked).toEqual({ addresses: 2, users: 2 });
    // The 4 failures for 'other' stay at the address: 6 more (for anyone) lock it.
    fail(throttle, 5, 'a', 'x');
    expect(throttle.check('a', 'someone').allowed).toBe(true);
    throttle.failure('a', 'y');
    expect(throttle.check('a', 'someone').allowed).toBe(false);
    // The user keeps the failures from 'b' (someone else guessing): still slowed down.
    expect(throttle.userDelay('u')).toBe(1000);
  });

  it('keeps user and address counters apart even when the strings are equal', () => {
    const { throttle } = setup({ lockoutAfter: 2 });
    throttle.failure('x', 'y');
    throttle.failure('y', 'x');
    expect(throttle.check('x', 'x').allowed).toBe(true);
  });

  it('never evicts a key in force: when full, new keys go untracked until old ones expire', () => {
    const { throttle, clock } = setup({ maxKeys: 100, lockoutAfter: 2, windowMs: 10 * MINUTE });
    fail(throttle, 2, 'victim-address', 'victim');
    const kept: boolean[] = [];
    for (let i = 0; i < 1000; i++) {
      clock.advance(1);
      kept.push(throttle.failure(`10.1.${i >> 8}.${i & 255}`, `spray${i}`));
    }
    expect(throttle.tracked).toEqual({ addresses: 100, users: 100 });
    expect(kept.filter(Boolean).length).toBe(99);
    // The lock that was in force first is still in force.
    expect(throttle.check('victim-address', 'victim').allowed).toBe(false);
    expect(throttle.userDelay('victim')).toBe(500);
    // Once the old keys expire, they make room.
    clock.advance(10 * MINUTE);
    expect(throttle.failure('10.2.0.1', 'late')).toBe(true);
    expect(throttle.tracked.addresses).toBe(1);
  });

  it('keeps a bounded number of failures per key', () => {
    const { throttle, clock } = setup({ lockoutAfter: 3, windowMs: 10_000 });
    fail(throttle, 1000, 'a', 'u');
    clock.advance(10_000);
    expect(throttle.check('a', 'u').allowed).toBe(true);
  });

  it('names IPv6 ranges by /64, /56 and /48, and IPv4-mapped addresses as IPv4', () => {
    expect(addressRanges('192.0.2.1')).toEqual(['192.0.2.1']);
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressRanges('2001:db8:1:2345:3:4:5:6')).toEqual(['2001:db8:1:2345::/64', '2001:db8:1:2300::/56', '2001:db8:1::/48']);
    expect(addressKey('2001:0db8:0001:0002::ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('unknown')).toBe('unknown');

    const { throttle } = setup({ lockoutAfter: 2 });
    throttle.failure('2001:db8:1:2::a', 'u');
    throttle.failure('2001:db8:1:2::b', 'u');
    expect(throttle.check('2001:db8:1:2::c', 'u').allowed).toBe(false);
    expect(throttle.check('2001:db8:1:3::c', 'u').allowed).toBe(true);
  });

  it('tracks a misbehaving range as one: /64s become their /56, then /56s their /48', () => {
    const { throttle } = setup({ lockoutAfter: 3 });
    const in56 = (i: number): string => `2001:db8:7:${(0x1200 + i).toString(16)}::1`;
    // Four /64s in one /56 are tracked apart; the fifth's failures count for the whole /56.
    for (let i = 0; i < 4; i++) throttle.failure(in56(i), 'alice');
    expect(throttle.tracked.addresses).toBe(4);
    fail(throttle, 3, in56(4), 'alice');
    expect(throttle.tracked.addresses).toBe(5);
    expect(throttle.check(in56(200), 'alice').allowed).toBe(false); // a fresh /64 in it
    expect(throttle.check('2001:db8:7:1300::1', 'alice').allowed).toBe(true); // the next /56

    // One client rotating through 2^16 /64s of its /48 takes a handful of keys, not 65,536,
    // and is locked out as a whole.
    const { throttle: t2 } = setup({ lockoutAfter: 3 });
    for (let i = 0; i < 5000; i++) t2.failure(`2001:db8:9:${(i * 13).toString(16)}::1`, 'alice');
    expect(t2.tracked.addresses).toBeLessThanOrEqual(17);
    expect(t2.check('2001:db8:9:ffff::2', 'alice').allowed).toBe(false);
    expect(t2.check('2001:db8:a:0::1', 'alice').allowed).toBe(true);
  });
});
