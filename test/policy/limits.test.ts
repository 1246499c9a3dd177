import { describe, expect, it } from 'vitest';
import { checkBudgets, checkRateLimits, counterKey, describeLimit, formatUsd, limitWindows, windowUsage } from '../../src/policy/limits.js';
import { splitToolName } from '../../src/policy/mcp-tools.js';
import { NOW, vk } from './support.js';

const issued = Date.parse('2025-06-01T11:00:00Z');
const nowMs = NOW.getTime();

describe('limitWindows', () => {
  it('lists provider-config windows, then the key\'s, with counter keys by key, provider config, metric, duration and budget', () => {
    const key = vk({
      rate_limit: { request_max_limit: 10, request_reset_duration: '1h', token_max_limit: null, token_reset_duration: '1d' },
      budgets: [{ id: 'b1', max_limit: 5, reset_duration: '1M' }],
      provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'], rate_limit: { token_max_limit: 500, token_reset_duration: '5m' } }],
    });
    expect(limitWindows(key, 'openai', issued).windows.map((w) => [w.counterKey, w.max, w.durationMs])).toEqual([
      ['vk:vk-eng/provider:openai/config@1|tokens|5m', 500, 300_000],
      ['vk:vk-eng|requests|1h', 10, 3_600_000],
      ['vk:vk-eng|spend|1M|budget:b1', 5, 30 * 86_400_000],
    ]);
    expect(limitWindows(key, undefined, issued).windows).toHaveLength(2);
  });

  it('reports limits it cannot count instead of guessing', () => {
    const key = vk({ rate_limit: { request_max_limit: 10, request_reset_duration: 'hourly', token_max_limit: 5 }, budgets: [{ max_limit: 1, reset_duration: '1q' }] });
    const { windows, problems } = limitWindows(key, undefined, issued);
    expect(windows).toEqual([]);
    expect(problems).toEqual([
      'A requests limit on the key has an unreadable reset duration "hourly"; the gateway enforces it, this device does not.',
      'A tokens limit on the key has no reset duration; the gateway enforces it, this device does not.',
      'A spend limit on the key has an unreadable reset duration "1q"; the gateway enforces it, this device does not.',
    ]);
  });

  it('keeps the gateway\'s report, with the bundle issue time when it gave no last reset', () => {
    const key = vk({ budgets: [{ max_limit: 5, reset_duration: '1d', current_usage: 2 }] });
    expect(limitWindows(key, undefined, issued).windows[0]!.reported).toEqual({ used: 2, windowStartMs: issued, estimatedStart: true });
  });
});

describe('windowUsage and checks', () => {
  const key = vk({ rate_limit: { request_max_limit: 3, request_reset_duration: '1h' }, budgets: [{ max_limit: 5, reset_duration: '1d', current_usage: 4, last_reset: '2025-06-01T00:00:00Z' }] });
  const windows = limitWindows(key, undefined, issued).windows;
  const [requests, spend] = windows as [typeof windows[0], typeof windows[0]];

  it.each([
    ['no counter', new Map(), 0, undefined],
    ['current counter', new Map([[requests.counterKey, { value: 2, windowStartMs: nowMs - 1000 }]]), 2, nowMs - 1000 + 3_600_000],
    ['expired counter', new Map([[requests.counterKey, { value: 2, windowStartMs: nowMs - 3_600_000 }]]), 0, undefined],
  ])('requests: %s', (_name, counters, used, resetsAtMs) => {
    expect(windowUsage(requests, counters, nowMs)).toEqual(resetsAtMs === undefined ? { used } : { used, resetsAtMs });
  });

  it('the gateway report counts when larger, local use when larger', () => {
    expect(windowUsage(spend, new Map(), nowMs)).toEqual({ used: 4, resetsAtMs: Date.parse('2025-06-02T00:00:00Z') });
    expect(windowUsage(spend, new Map([[spend.counterKey, { value: 4.5, windowStartMs: nowMs - 1000 }]]), nowMs).used).toBe(4.5);
  });

  it('what requests in flight hold is added on top of the larger of local use and the gateway report, in a window or not', () => {
    // The gateway's 4 already includes this device's past use; the 0.5 held is in neither.
    expect(windowUsage(spend, new Map([[spend.counterKey, { value: 3, windowStartMs: nowMs - 1000, inFlight: 0.5 }]]), nowMs))
      .toEqual({ used: 4.5, inFlight: 0.5, resetsAtMs: Date.parse('2025-06-02T00:00:00Z') });
    // No window has started (nothing charged yet): only the held amount counts, and no reset time is claimed.
    expect(windowUsage(requests, new Map([[requests.counterKey, { value: 0, windowStartMs: Number.NEGATIVE_INFINITY, inFlight: 2 }]]), nowMs))
      .toEqual({ used: 2, inFlight: 2 });
  });

  it('a limit is reached at the maximum, not before (Bifrost: usage >= max)', () => {
    const at = (value: number) => new Map([[counterKey('vk-eng', undefined, 'requests', '1h'), { value, windowStartMs: nowMs }]]);
    expect(checkRateLimits(windows, at(2), nowMs)).toBeUndefined();
    expect(checkRateLimits(windows, at(3), nowMs)).toMatchObject({ type: 'request_limited' });
    expect(checkBudgets(windows, new Map([[spend.counterKey, { value: 4.99, windowStartMs: nowMs }]]), nowMs)).toBeUndefined();
    expect(checkBudgets(windows, new Map([[spend.counterKey, { value: 5, windowStartMs: nowMs }]]), nowMs)).toMatchObject({ type: 'budget_exceeded' });
  });

  it('words', () => {
    expect(describeLimit(requests)).toBe('3 requests per hour');
    expect(describeLimit(spend)).toBe('$5.00 budget per day');
    expect([formatUsd(0), formatUsd(0.004), formatUsd(1234.5)]).toEqual(['$0.00', '$0.0040', '$1,234.50']);
  });
});

describe('splitToolName', () => {
  it.each([
    ['github-list_issues', ['github'], { client: 'github', tool: 'list_issues' }],
    ['my-fs-read_file', ['my', 'my-fs'], { client: 'my-fs', tool: 'read_file' }],
    ['github-', ['github'], undefined],
    ['Read', ['github'], undefined],
  ])('%s', (name, clients, expected) => {
    const ref = splitToolName(name, clients);
    expect(ref === undefined ? undefined : { client: ref.client, tool: ref.tool }).toEqual(expected);
  });
});
