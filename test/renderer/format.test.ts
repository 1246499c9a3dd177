import { describe, expect, it } from 'vitest';
// The pages' formatting module is plain browser JavaScript without DOM access, so it runs here unchanged.
// @ts-expect-error: renderer/ is untyped JavaScript served as is
import * as format from '../../renderer/format.js';

interface Format {
  describeDuration(text: string): string;
  formatSpan(ms: number): string;
  formatAgo(iso: string, nowMs: number): string;
  formatUsd(amount: number): string;
  percent(fraction: number): number;
  usageLevel(fraction: number): string;
  providerModel(provider?: string | null, model?: string | null): string;
  formatLatency(ms: unknown): string;
  decisionLabel(decision: string): string;
  findingTypes(findings?: Array<{ type: string }>): string[];
  noticeHeading(notice: { kind: string }): string;
  nextSteps(notice: { id: string; kind: string; why?: { errorType?: string }; what?: { model?: string } }): string[];
  recordTime(record: Record<string, unknown>): string | undefined;
}
const f = format as Format;
const NOW = Date.parse('2025-06-01T12:00:00.000Z');

describe('renderer/format.js', () => {
  it.each([['1h', 'hour'], ['1d', 'day'], ['1M', 'month'], ['5m', '5 minutes'], ['2w', '2 weeks'], ['90x', '90x']])('describeDuration(%s) = %s', (input, out) => {
    expect(f.describeDuration(input)).toBe(out);
  });

  it.each([[0, '0s'], [45_000, '45s'], [12 * 60_000, '12 min'], [5 * 3_600_000 + 12 * 60_000, '5 h 12 min'], [3 * 86_400_000 + 4 * 3_600_000, '3 d 4 h'], [-5, '0s']])('formatSpan(%d) = %s', (ms, out) => {
    expect(f.formatSpan(ms)).toBe(out);
  });

  it.each([[3_000, 'just now'], [42_000, '42s ago'], [5 * 60_000, '5 min ago'], [3 * 3_600_000, '3 h ago'], [2 * 86_400_000, '2 d ago']])('formatAgo(now - %d) = %s', (ago, out) => {
    expect(f.formatAgo(new Date(NOW - ago).toISOString(), NOW)).toBe(out);
  });

  it.each([[2.5, '$2.50'], [0, '$0.00'], [1234.5, '$1,234.50'], [0.0004, '$0.0004']])('formatUsd(%d) = %s', (amount, out) => {
    expect(f.formatUsd(amount)).toBe(out);
  });

  it.each([[0.25, 25, 'ok'], [0.799, 79, 'ok'], [0.8, 80, 'warn'], [0.999, 99, 'warn'], [1, 100, 'full'], [1.3, 130, 'full']])('fraction %d: %d%%, level %s', (fraction, pct, level) => {
    expect(f.percent(fraction)).toBe(pct);
    expect(f.usageLevel(fraction)).toBe(level);
  });

  it('joins provider and model, skipping what is unknown', () => {
    expect(f.providerModel('openai', 'gpt-4o')).toBe('openai / gpt-4o');
    expect(f.providerModel('openai', null)).toBe('openai');
    expect(f.providerModel(undefined, undefined)).toBe('');
  });

  it.each([[4, '4 ms'], [999.4, '999 ms'], [1234, '1.23 s'], [15_000, '15.0 s'], [undefined, '']])('formatLatency(%s) = %s', (ms, out) => {
    expect(f.formatLatency(ms)).toBe(out);
  });

  it.each([['forwarded', 'Allowed'], ['redacted', 'Redacted'], ['flagged', 'Flagged'], ['blocked', 'Blocked'], ['failed', 'Failed'], ['novel', 'novel']])('decision %s reads %s', (decision, label) => {
    expect(f.decisionLabel(decision)).toBe(label);
  });

  it('lists finding types once each', () => {
    expect(f.findingTypes([{ type: 'email' }, { type: 'aws_access_key' }, { type: 'email' }])).toEqual(['email', 'aws_access_key']);
    expect(f.findingTypes(undefined)).toEqual([]);
  });

  it.each([
    { notice: { kind: 'blocked', why: { errorType: 'model_blocked' }, what: { model: 'gpt-4o' } }, heading: 'Request blocked', first: /allowed models in your app's settings instead of gpt-4o/ },
    { notice: { kind: 'blocked', why: { errorType: 'provider_blocked' } }, heading: 'Request blocked', first: /provider your key allows/ },
    { notice: { kind: 'blocked', why: { errorType: 'request_limited' } }, heading: 'Request blocked', first: /Wait until the limit resets/ },
    { notice: { kind: 'blocked', why: { errorType: 'budget_exceeded' } }, heading: 'Request blocked', first: /remaining budget/ },
    { notice: { kind: 'sign_in_required', why: { errorType: 'virtual_key_required' } }, heading: 'Request blocked', first: /^Sign in/ },
    { notice: { kind: 'fail_closed', why: { errorType: 'gateway_unreachable' } }, heading: 'Request blocked', first: /network connection/ },
    { notice: { kind: 'budget_alert', why: { errorType: 'budget_80' } }, heading: 'Budget alert', first: /remaining budget/ },
    { notice: { kind: 'shadow_ai', why: {} }, heading: 'Unmanaged AI service noticed', first: /organization provides/ },
  ])('notice $notice.kind / $notice.why.errorType: "$heading" and what to do next', ({ notice, heading, first }) => {
    const withId = { id: 'n-1', ...notice };
    expect(f.noticeHeading(withId)).toBe(heading);
    const steps = f.nextSteps(withId);
    expect(steps[0]).toMatch(first);
    expect(steps.at(-1)).toMatch(/helpdesk.*reference: n-1\./);
  });

  it('reads a record time from `at` or `startedAt` when the agent provides one', () => {
    expect(f.recordTime({ at: '2025-06-01T12:00:00Z' })).toBe('2025-06-01T12:00:00.000Z');
    expect(f.recordTime({ startedAt: NOW })).toBe('2025-06-01T12:00:00.000Z');
    expect(f.recordTime({ id: 'x' })).toBeUndefined();
  });
});
