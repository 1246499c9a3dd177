/**
 * When a limit window that started at some instant ends, and where a window opened now starts.
 *
 * Two kinds, as in Bifrost's governance:
 * - rolling (the default): a window lasts its reset duration from its start (a month is 30 days);
 * - calendar-aligned (`calendar_aligned` on a budget or its virtual key): windows follow UTC calendar
 *   periods. Only `d`, `w`, `M` and `Y` durations have such periods (Bifrost refuses alignment for
 *   sub-day ones): `1d` runs from midnight UTC, `1w` from Monday 00:00 UTC, `1M` from the 1st of the
 *   month, `1Y` from January 1. `N` units group into blocks counted from a fixed epoch, the way Bifrost
 *   counts them: `2d` days from 1970-01-01, `2w` weeks from Monday 1970-01-05, `3M` months from
 *   January of year 0 (so calendar quarters), `2Y` years from year 0.
 * A window whose start is not on a boundary (alignment switched on mid-window) ends at the next one.
 */

export type CalendarUnit = 'd' | 'w' | 'M' | 'Y';

export interface CalendarPeriod {
  unit: CalendarUnit;
  count: number;
}

export interface WindowPeriod {
  /** A rolling window's length (for a calendar window the nominal one, which is not used for its end). */
  durationMs: number;
  /** Set when the window follows UTC calendar periods. */
  calendar?: CalendarPeriod;
}

/** A bare number is a rolling window of that many milliseconds. */
export type WindowTiming = number | WindowPeriod;

const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** Monday 1970-01-05 00:00 UTC, where Bifrost starts counting weeks. */
const FIRST_MONDAY = 4 * DAY;

/**
 * The calendar period of a reset duration, or undefined when it has none (`1h`, `30m`, compound
 * durations such as `1d12h`): such windows stay rolling even when alignment is asked for.
 */
export function calendarPeriodOf(resetDuration: string): CalendarPeriod | undefined {
  const match = /^(\d+)([dwMY])$/.exec(resetDuration.trim());
  if (!match) return undefined;
  return { unit: match[2] as CalendarUnit, count: Math.max(1, Number(match[1])) };
}

/** When the window that started at `startMs` ends (a start of -Infinity, no window yet, has ended). */
export function windowEndMs(timing: WindowTiming, startMs: number): number {
  if (!Number.isFinite(startMs)) return startMs;
  if (typeof timing === 'number') return startMs + timing;
  if (!timing.calendar) return startMs + timing.durationMs;
  return periodAfter(timing.calendar, periodStartMs(timing.calendar, startMs));
}

/** Where a window opened at `nowMs` starts: now for a rolling window, the period's start for a calendar one. */
export function newWindowStartMs(timing: WindowTiming, nowMs: number): number {
  return typeof timing !== 'number' && timing.calendar ? periodStartMs(timing.calendar, nowMs) : nowMs;
}

/** The start of the calendar period that contains `ms` (UTC). */
export function periodStartMs({ unit, count }: CalendarPeriod, ms: number): number {
  const date = new Date(ms);
  switch (unit) {
    case 'd': {
      const day = Math.floor(ms / DAY);
      return (day - floorMod(day, count)) * DAY;
    }
    case 'w': {
      const week = Math.floor((ms - FIRST_MONDAY) / WEEK);
      return FIRST_MONDAY + (week - floorMod(week, count)) * WEEK;
    }
    case 'M': {
      const months = date.getUTCFullYear() * 12 + date.getUTCMonth();
      const first = months - floorMod(months, count);
      return utc(Math.floor(first / 12), floorMod(first, 12));
    }
    case 'Y': {
      const year = date.getUTCFullYear();
      return utc(year - floorMod(year, count), 0);
    }
  }
}

/** The boundary one period after `startMs`, itself a period start. */
function periodAfter({ unit, count }: CalendarPeriod, startMs: number): number {
  const date = new Date(startMs);
  switch (unit) {
    case 'd': return startMs + count * DAY;
    case 'w': return startMs + count * WEEK;
    case 'M': return utc(date.getUTCFullYear(), date.getUTCMonth() + count);
    case 'Y': return utc(date.getUTCFullYear() + count, 0);
  }
}

/** Midnight UTC on the 1st of a month; months past 11 roll into the next years, years below 100 stay as they are. */
function utc(year: number, month: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 1);
  return date.getTime();
}

function floorMod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
