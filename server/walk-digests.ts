/**
 * What a walk or find record's digest slot may carry for one client (PROTOCOL.md 6.7):
 * an XXH3-128 only for a client that listed `xxh128` in its request's `checks`. An
 * older client checks that slot as a SHA-256 and would refuse the whole walk.
 */
import type { CheckAlgorithm } from '../shared/common/checks.js';
import type { WalkRecord } from '../shared/common/messages.js';

export function recordsForClient(records: WalkRecord[], checks: readonly CheckAlgorithm[] | undefined): WalkRecord[] {
  if (checks?.includes('xxh128')) return records;
  return records.map((r) => (r[5].length === 0 || r[5].length === 64 ? r : [r[0], r[1], r[2], r[3], r[4], '']));
}
