/**
 * Bifrost reset durations (`30s`, `5m`, `1h`, `1d`, `1w`, `1M`, `1Y`) as milliseconds.
 *
 * Bifrost's windows are not calendar-aligned by default: a window starts at its last reset and ends one
 * duration later, so a month is a fixed 30 days and a year 365 days, the lengths the gateway uses. The
 * unit letters are case-sensitive, as in Bifrost: `m` is a minute, `M` a month.
 * Compound forms (`1h30m`) are accepted, each unit once and largest first, the way Go durations read.
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const DURATION_UNITS: Readonly<Record<string, { ms: number; name: string }>> = {
  Y: { ms: 365 * DAY, name: 'year' },
  M: { ms: 30 * DAY, name: 'month' },
  w: { ms: 7 * DAY, name: 'week' },
  d: { ms: DAY, name: 'day' },
  h: { ms: HOUR, name: 'hour' },
  m: { ms: MINUTE, name: 'minute' },
  s: { ms: SECOND, name: 'second' },
};

const UNIT_ORDER = Object.keys(DURATION_UNITS);

export class DurationError extends Error {
  constructor(readonly input: string, why: string) {
    super(`Invalid reset duration ${JSON.stringify(input)}: ${why}. Use a number and a unit, e.g. 30s, 5m, 1h, 1d, 1w, 1M (month) or 1Y (year).`);
    this.name = 'DurationError';
  }
}

/** Parses a reset duration; throws DurationError naming what is wrong. */
export function parseResetDuration(input: string): number {
  const text = input.trim();
  if (text === '') throw new DurationError(input, 'it is empty');
  const segment = /(\d+)([A-Za-z]+)/y;
  let total = 0;
  let lastUnitIndex = -1;
  let position = 0;
  while (position < text.length) {
    segment.lastIndex = position;
    const match = segment.exec(text);
    if (!match) {
      const rest = text.slice(position);
      throw new DurationError(input, /^\d+$/.test(rest) ? `"${rest}" has no unit` : `"${rest}" is not a number followed by a unit`);
    }
    const [, digits, unit] = match as unknown as [string, string, string];
    const unitIndex = UNIT_ORDER.indexOf(unit);
    if (unitIndex === -1) {
      const hint = unit.toLowerCase() === 'y' ? ' (a year is "Y")' : unit === 'ms' ? ' (the smallest unit is "s")' : '';
      throw new DurationError(input, `"${unit}" is not a unit; units are ${UNIT_ORDER.join(', ')}${hint}`);
    }
    if (unitIndex <= lastUnitIndex) throw new DurationError(input, `units must appear once each, largest first (${UNIT_ORDER.join(' > ')})`);
    lastUnitIndex = unitIndex;
    total += Number(digits) * DURATION_UNITS[unit]!.ms;
    position = segment.lastIndex;
  }
  if (total <= 0) throw new DurationError(input, 'it must be longer than zero');
  if (!Number.isSafeInteger(total)) throw new DurationError(input, 'it is too long');
  return total;
}

/** Like parseResetDuration, but undefined instead of an exception (for data from the wire). */
export function tryParseResetDuration(input: string | null | undefined): number | undefined {
  if (input === null || input === undefined) return undefined;
  try {
    return parseResetDuration(input);
  } catch {
    return undefined;
  }
}

/** `1d` → "day", `1h` → "hour", `5m` → "5 minutes", for sentences such as "your daily budget". */
export function describeDuration(input: string): string {
  const match = /^\s*(\d+)([A-Za-z])\s*$/.exec(input);
  const unit = match ? DURATION_UNITS[match[2]!] : undefined;
  if (!match || !unit) return input;
  const count = Number(match[1]);
  return count === 1 ? unit.name : `${count} ${unit.name}s`;
}

/** A short human duration: 45s, 12m, 5h 12m, 3d 4h. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / SECOND));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 === 0 ? `${h}h` : `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d}d` : `${d}d ${h % 24}h`;
}
