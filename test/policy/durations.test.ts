import { describe, expect, it } from 'vitest';
import { describeDuration, DurationError, formatSpan, parseResetDuration, tryParseResetDuration } from '../../src/policy/durations.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

describe('parseResetDuration', () => {
  it.each([
    ['30s', 30 * S],
    ['5m', 5 * MIN],
    ['1h', H],
    ['1d', D],
    ['1w', 7 * D],
    ['1M', 30 * D],
    ['1Y', 365 * D],
    ['90s', 90 * S],
    ['1h30m', H + 30 * MIN],
    ['2d12h', 2 * D + 12 * H],
    [' 1d ', D],
  ])('%s → %i ms', (text, ms) => {
    expect(parseResetDuration(text)).toBe(ms);
  });

  it.each([
    ['', /it is empty/],
    ['h', /"h" is not a number followed by a unit/],
    ['10', /"10" has no unit/],
    ['1y', /"y" is not a unit.*a year is "Y"/],
    ['500ms', /"ms" is not a unit.*smallest unit is "s"/],
    ['1x', /"x" is not a unit; units are Y, M, w, d, h, m, s/],
    ['1.5h', /"1\.5h" is not a number followed by a unit/],
    ['-1h', /"-1h" is not a number/],
    ['30m1h', /largest first/],
    ['1h1h', /once each/],
    ['0s', /longer than zero/],
    ['1 h', /is not a number followed by a unit/],
  ])('%j is refused with a reason', (text, why) => {
    expect(() => parseResetDuration(text)).toThrow(DurationError);
    expect(() => parseResetDuration(text)).toThrow(why);
    expect(() => parseResetDuration(text)).toThrow(/e\.g\. 30s, 5m, 1h, 1d, 1w, 1M \(month\) or 1Y \(year\)/);
  });

  it('m is a minute and M a month (case matters, as in Bifrost)', () => {
    expect(parseResetDuration('1m')).not.toBe(parseResetDuration('1M'));
  });

  it('tryParseResetDuration answers undefined instead of throwing', () => {
    expect(tryParseResetDuration('nope')).toBeUndefined();
    expect(tryParseResetDuration(null)).toBeUndefined();
    expect(tryParseResetDuration('1h')).toBe(H);
  });
});

describe('wording', () => {
  it.each([['1d', 'day'], ['1h', 'hour'], ['5m', '5 minutes'], ['1M', 'month'], ['2w', '2 weeks'], ['1h30m', '1h30m']])('%s reads "%s"', (text, words) => {
    expect(describeDuration(text)).toBe(words);
  });

  it.each([[0, '0s'], [45 * S, '45s'], [12 * MIN, '12m'], [5 * H + 12 * MIN, '5h 12m'], [3 * H, '3h'], [3 * D + 4 * H, '3d 4h'], [-5, '0s']])('%i ms → %s', (ms, text) => {
    expect(formatSpan(ms)).toBe(text);
  });
});
