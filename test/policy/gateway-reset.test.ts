import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { limitWindows } from '../../src/policy/limits.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import type { TokenUsage } from '../../src/policy/usage.js';
import { bundle, info, NOW, request, vk } from './support.js';

/**
 * Edge follows the gateway's windows (Bifrost semantics): a report from a window the gateway started after
 * the device's own is taken as it is, the gateway's last reset counts even when nothing is used yet, and
 * calendar-aligned budgets reset on UTC calendar boundaries. Otherwise Edge refuses, for up to a whole
 * window, requests the gateway would let through.
 */

const HOUR = 3_600_000;
const T = NOW.getTime(); // 2025-06-01T12:00:00Z
const iso = (ms: number) => new Date(ms).toISOString();

let dir: string;
const dbs: PolicyDatabase[] = [];
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-gateway-reset-'));
  clock = T;
});

afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function makeEnforcer(b: PolicyBundle): PolicyEnforcer {
  const db = openPolicyDatabase(path.join(dir, 'policy.db'));
  dbs.push(db);
  const enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => new Date(clock), onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(b);
  return enforcer;
}

function decide(enforcer: PolicyEnforcer) {
  return enforcer.decide(request(), info('api.openai.com', { 'user-agent': 'OpenAI/JS 6.1.0' }));
}

/** A quota-mode bundle: the gateway's request limit of 3 a day, with its usage and last reset when given. */
function dailyRequests(version: number, usage?: { used: number; lastReset: number }): PolicyBundle {
  return bundle({ version, issued_at: iso(clock) }, {
    rate_limit: {
      request_max_limit: 3,
      request_reset_duration: '1d',
      ...(usage ? { request_current_usage: usage.used, request_last_reset: iso(usage.lastReset) } : {}),
    },
  });
}

const tokens = (total: number): TokenUsage => ({ inputTokens: total, outputTokens: 0, totalTokens: total, cachedInputTokens: 0, reasoningTokens: 0 });

describe('the gateway\'s reset', () => {
  it.each([0, 1])('a report of %i used in a window the gateway started after the device\'s is adopted as it is', (used) => {
    // The first bundle says nothing of usage: the device's window starts at its first request, at T.
    const enforcer = makeEnforcer(dailyRequests(7));
    for (let i = 0; i < 3; i++) expect(decide(enforcer).action).toBe('allow');
    expect(decide(enforcer)).toMatchObject({ action: 'block', error: { type: 'request_limited' } });

    // The gateway's own window ended at T+1h; at T+2h a bundle reports its new one.
    clock = T + 2 * HOUR;
    enforcer.setBundle(dailyRequests(8, { used, lastReset: T + HOUR }));
    expect(decide(enforcer).action).toBe('allow');
    expect(enforcer.status().rateLimits).toEqual([expect.objectContaining({ used: used + 1, resetsAt: iso(T + 25 * HOUR) })]);
    for (let i = used + 1; i < 3; i++) expect(decide(enforcer).action).toBe('allow');
    expect(decide(enforcer)).toMatchObject({ action: 'block', error: { type: 'request_limited' } });
  });

  it('a report from the device\'s window (or an older one still running) never lowers what the device counted', () => {
    const enforcer = makeEnforcer(dailyRequests(7, { used: 0, lastReset: T - HOUR }));
    for (let i = 0; i < 3; i++) expect(decide(enforcer).action).toBe('allow');
    // A report read before the device's requests reached the gateway: same window, lower count.
    enforcer.setBundle(dailyRequests(8, { used: 1, lastReset: T - HOUR }));
    expect(decide(enforcer)).toMatchObject({ action: 'block', error: { type: 'request_limited' } });
  });

  it('the gateway\'s last reset counts even when it reports nothing used: the window ends when the gateway\'s does', () => {
    // The gateway's daily window started 23 h ago and has seen nothing yet.
    const enforcer = makeEnforcer(dailyRequests(7, { used: 0, lastReset: T - 23 * HOUR }));
    for (let i = 0; i < 3; i++) expect(decide(enforcer).action).toBe('allow');
    expect(decide(enforcer)).toMatchObject({ action: 'block', error: { message: expect.stringContaining('it resets in 1h') } });
    // No new bundle needed: at T+1h the gateway's window, and so the device's, is over.
    clock = T + HOUR;
    expect(decide(enforcer).action).toBe('allow');
  });
});

describe('calendar-aligned budgets (UTC calendar periods)', () => {
  const monthly = { id: 'b1', max_limit: 10, reset_duration: '1M' };
  it.each([
    ['the key', { calendar_aligned: true, budgets: [monthly] }],
    ['the budget', { budgets: [{ ...monthly, calendar_aligned: true }] }],
    ['the key, on a provider config budget', { calendar_aligned: true, provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'], budgets: [monthly] }] }],
  ])('a monthly budget aligned by %s resets on the 1st, not 30 days after the first spend', (_where, key) => {
    clock = Date.parse('2025-06-20T09:00:00Z');
    const enforcer = makeEnforcer(bundle({ issued_at: iso(clock) }, key));
    const first = request();
    expect(enforcer.decide(first, info('api.openai.com', { 'user-agent': 'OpenAI/JS 6.1.0' })).action).toBe('allow');
    expect(enforcer.recordResponseUsage(first, tokens(4_000_000))?.costUsd).toBeCloseTo(10, 10); // gpt-4o: $2.50/Mtok
    enforcer.settle(first);
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 10, resetsAt: '2025-07-01T00:00:00.000Z' })]);

    clock = Date.parse('2025-06-30T23:59:59Z');
    expect(decide(enforcer)).toMatchObject({ action: 'block', error: { type: 'budget_exceeded', message: expect.stringContaining('it resets in 1s') } });
    clock = Date.parse('2025-07-01T00:00:00Z');
    expect(decide(enforcer).action).toBe('allow');
  });

  it('a new window opens at the period\'s start, so it ends at the next boundary', () => {
    clock = Date.parse('2025-06-01T12:00:00Z'); // a Sunday
    const enforcer = makeEnforcer(bundle({ issued_at: iso(clock) }, { calendar_aligned: true, budgets: [{ id: 'w', max_limit: 1, reset_duration: '1w' }] }));
    const first = request();
    enforcer.decide(first, info('api.openai.com', { 'user-agent': 'OpenAI/JS 6.1.0' }));
    enforcer.recordResponseUsage(first, tokens(400_000)); // $1
    enforcer.settle(first);
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 1, resetsAt: '2025-06-02T00:00:00.000Z' })]);
    clock = Date.parse('2025-06-02T00:00:00Z');
    expect(decide(enforcer).action).toBe('allow');
  });

  it('the gateway\'s reset on the 1st is adopted from its report', () => {
    clock = Date.parse('2025-06-20T09:00:00Z');
    const budget = (used: number, lastReset: string) => ({ calendar_aligned: true, budgets: [{ ...monthly, current_usage: used, last_reset: lastReset }] });
    const enforcer = makeEnforcer(bundle({ issued_at: iso(clock) }, budget(10, '2025-06-01T00:00:00Z')));
    expect(decide(enforcer)).toMatchObject({ action: 'block', error: { type: 'budget_exceeded' } });
    clock = Date.parse('2025-07-02T09:00:00Z');
    enforcer.setBundle(bundle({ version: 8, issued_at: iso(clock) }, budget(3, '2025-07-01T00:00:00Z')));
    expect(decide(enforcer).action).toBe('allow');
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 3, resetsAt: '2025-08-01T00:00:00.000Z' })]);
  });

  it('durations without calendar periods stay rolling, and rate limits are not aligned by the key', () => {
    const key = vk({ calendar_aligned: true, rate_limit: { request_max_limit: 1, request_reset_duration: '1d' }, budgets: [{ max_limit: 1, reset_duration: '1h' }, { max_limit: 1, reset_duration: '1d' }] });
    expect(limitWindows(key, undefined, T).windows.map((w) => [w.metric, w.resetDuration, w.calendar])).toEqual([
      ['requests', '1d', undefined],
      ['spend', '1h', undefined],
      ['spend', '1d', { unit: 'd', count: 1 }],
    ]);
  });
});

describe('rebasing a counter on the gateway\'s report', () => {
  function store(): SqliteCounterStore {
    const db = openPolicyDatabase(path.join(dir, 'counters.db'));
    dbs.push(db);
    return new SqliteCounterStore(db);
  }

  it('a report from a later window replaces the count, even a lower one; the same or an older window keeps the larger', () => {
    const counters = store();
    counters.add('k', 3, 24 * HOUR, T);
    counters.rebase('k', { used: 1, windowStartMs: T - HOUR }, 24 * HOUR, T + 1000);
    expect(counters.snapshot(['k']).get('k')).toEqual({ value: 3, windowStartMs: T - HOUR });
    counters.rebase('k', { used: 0, windowStartMs: T + HOUR }, 24 * HOUR, T + 2 * HOUR);
    expect(counters.snapshot(['k']).get('k')).toEqual({ value: 0, windowStartMs: T + HOUR });
  });

  it('a report without a last reset only raises the count, in the device\'s window', () => {
    const counters = store();
    counters.add('k', 3, 24 * HOUR, T);
    counters.rebase('k', { used: 1, windowStartMs: T + HOUR, estimatedStart: true }, 24 * HOUR, T + HOUR);
    expect(counters.snapshot(['k']).get('k')).toEqual({ value: 3, windowStartMs: T });
    counters.rebase('k', { used: 5, windowStartMs: T + HOUR, estimatedStart: true }, 24 * HOUR, T + HOUR);
    expect(counters.snapshot(['k']).get('k')).toEqual({ value: 5, windowStartMs: T });
  });
});
