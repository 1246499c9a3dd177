import { describe, expect, it } from 'vitest';
import { newChainAllowance, newChainTimesNeeded, type NewChainLimit } from '../../src/control/server/new-chain-rate.js';

const MIN = 60_000;
const limits: NewChainLimit[] = [{ windowMs: 60 * MIN, max: 2, per: 'per hour' }, { windowMs: 24 * 60 * MIN, max: 3, per: 'per day' }];
const now = 100 * 24 * 60 * MIN;
/** Chains started `minutesAgo`, the newest first, as the store returns them. */
const startedAgo = (...minutesAgo: number[]) => minutesAgo.map((m) => now - m * MIN);

describe('newChainAllowance', () => {
  it.each([
    { recent: startedAgo(), expected: { ok: true } },
    { recent: startedAgo(5), expected: { ok: true } },
    // Two in the last hour: the next when the older of them is an hour old.
    { recent: startedAgo(5, 20), expected: { ok: false, comparedAgainInMs: 40 * MIN, per: 'per hour' } },
    { recent: startedAgo(5, 60), expected: { ok: true } },
    // Three today, two of them over an hour ago: the daily limit, until the oldest is a day old.
    { recent: startedAgo(5, 90, 600), expected: { ok: false, comparedAgainInMs: (24 * 60 - 600) * MIN, per: 'per day' } },
    // Both limits reached: the longer wait.
    { recent: startedAgo(1, 2, 3), expected: { ok: false, comparedAgainInMs: (24 * 60 - 3) * MIN, per: 'per day' } },
  ])('$recent.length recent chains → $expected.ok', ({ recent, expected }) => {
    const allowance = newChainAllowance(recent, now, limits);
    expect(allowance.ok ? { ok: true } : { ok: false, comparedAgainInMs: allowance.comparedAgainInMs, per: allowance.limit.per }).toEqual(expected);
  });

  it('takes times ahead of now (written before the clock was stepped back) as now: limited for one window, not until the clock catches up', () => {
    const written30DaysAhead = [now + 30 * 24 * 60 * MIN, now + 30 * 24 * 60 * MIN - MIN];
    const allowance = newChainAllowance(written30DaysAhead, now, limits);
    expect(allowance.ok ? undefined : allowance.comparedAgainInMs).toBe(60 * MIN);
  });

  it('needs as many recent times as the largest limit', () => {
    expect(newChainTimesNeeded(limits)).toBe(3);
  });
});
