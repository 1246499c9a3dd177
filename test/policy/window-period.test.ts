import { describe, expect, it } from 'vitest';
import { calendarPeriodOf, newWindowStartMs, windowEndMs } from '../../src/policy/window-period.js';

/** Bifrost's calendar periods (configstore GetCalendarPeriodStart): UTC, N units in blocks from a fixed epoch. */

const at = Date.parse('2025-06-20T09:30:00Z'); // a Friday
const iso = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z').replace('T00:00Z', '');

describe('calendar periods', () => {
  it.each([
    ['1d', '2025-06-20', '2025-06-21'],
    ['2d', '2025-06-19', '2025-06-21'], // day 20 259 since 1970-01-01 is odd
    ['1w', '2025-06-16', '2025-06-23'], // weeks start on Monday
    ['2w', '2025-06-09', '2025-06-23'], // week 2 893 since Monday 1970-01-05 is odd
    ['1M', '2025-06-01', '2025-07-01'],
    ['3M', '2025-04-01', '2025-07-01'], // quarters
    ['1Y', '2025-01-01', '2026-01-01'],
    ['2Y', '2024-01-01', '2026-01-01'],
  ])('%s: a window opened on Friday 2025-06-20 runs from %s to %s', (duration, start, end) => {
    const timing = { durationMs: 0, calendar: calendarPeriodOf(duration)! };
    const opened = newWindowStartMs(timing, at);
    expect([iso(opened), iso(windowEndMs(timing, opened))]).toEqual([start, end]);
  });

  it('a window that started off a boundary (alignment switched on mid-window) ends at the next one', () => {
    const monthly = { durationMs: 30 * 86_400_000, calendar: calendarPeriodOf('1M')! };
    expect(iso(windowEndMs(monthly, Date.parse('2025-06-15T10:00:00Z')))).toBe('2025-07-01');
    expect(iso(windowEndMs(monthly, Date.parse('2025-12-31T23:59:59Z')))).toBe('2026-01-01');
  });

  it('only day, week, month and year durations have calendar periods', () => {
    expect(['1d', '7d', '1w', '3M', '1Y', ' 1M '].map(calendarPeriodOf)).toEqual([
      { unit: 'd', count: 1 }, { unit: 'd', count: 7 }, { unit: 'w', count: 1 }, { unit: 'M', count: 3 }, { unit: 'Y', count: 1 }, { unit: 'M', count: 1 },
    ]);
    expect(['30s', '5m', '1h', '1d12h', ''].map(calendarPeriodOf)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('rolling windows start now and last their duration; no window yet (-Infinity) has ended', () => {
    expect(newWindowStartMs(3_600_000, at)).toBe(at);
    expect(windowEndMs(3_600_000, at)).toBe(at + 3_600_000);
    expect(windowEndMs({ durationMs: 3_600_000 }, at)).toBe(at + 3_600_000);
    expect(windowEndMs({ durationMs: 0, calendar: { unit: 'M', count: 1 } }, Number.NEGATIVE_INFINITY)).toBe(Number.NEGATIVE_INFINITY);
  });
});
