import { describe, expect, it } from 'vitest';
import { counterKey } from '../../src/policy/limits.js';
import { NoticeBus } from '../../src/policy/notices.js';
import { formatStatus } from '../../src/policy/status-command.js';
import { buildPolicyStatus, type StatusInput } from '../../src/policy/status-data.js';
import { bundle, NOW } from './support.js';

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  const bus = new NoticeBus({ now: () => new Date('2025-06-01T11:58:00Z') });
  bus.publish({ kind: 'blocked', who: { user: 'ada', app: 'Cursor' }, what: { provider: 'openai', model: 'gpt-4o' }, why: { message: "Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini.", errorType: 'model_blocked' } });
  bus.publish({ kind: 'blocked', who: { user: 'ada', app: 'Cursor' }, what: { provider: 'openai', model: 'gpt-4o' }, why: { message: "Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini.", errorType: 'model_blocked' } });
  const b = bundle({ fail_mode: 'closed' }, {
    expires_at: '2025-12-31T00:00:00Z',
    budgets: [{ max_limit: 50, reset_duration: '1d' }],
    rate_limit: { request_max_limit: 100, request_reset_duration: '1h' },
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'], budgets: [{ max_limit: 10, reset_duration: '1w' }] }],
  });
  const started = NOW.getTime() - 3_600_000 + 12 * 60_000;
  return {
    bundle: b,
    appliedAt: new Date('2025-06-01T11:00:05Z'),
    signedIn: true,
    connectivity: { controlPlane: true, gateway: false },
    counters: new Map([
      [counterKey('vk-eng', undefined, 'spend', '1d', { place: 1 }), { value: 12.345, windowStartMs: started }],
      [counterKey('vk-eng', undefined, 'requests', '1h'), { value: 42, windowStartMs: started }],
    ]),
    blocks: bus.recent(),
    shadowAi: [{ kind: 'host', name: 'api.together.xyz', firstSeen: '2025-06-01T09:00:00Z', lastSeen: '2025-06-01T11:00:00Z', count: 3 }],
    problems: [],
    defaultMode: 'gateway',
    now: NOW,
    ...overrides,
  };
}

describe('buildPolicyStatus', () => {
  it('collects user, key, policy, budgets, limits and blocks', () => {
    const status = buildPolicyStatus(input());
    expect(status).toMatchObject({
      user: { signedIn: true, name: 'Ada', email: 'ada@example.com', sub: 'user-1' },
      activeKey: { id: 'vk-eng', name: 'eng-team', state: 'usable', expiresAt: '2025-12-31T00:00:00Z' },
      policy: { version: 7, issuedAt: '2025-06-01T11:00:00.000Z', ageSeconds: 3600, failMode: 'closed', routing: 'gateway' },
      budgets: [
        { maxUsd: 50, usedUsd: 12.345, fraction: 0.2469, resetDuration: '1d', resetsAt: '2025-06-02T11:12:00.000Z' },
        { provider: 'openai', maxUsd: 10, usedUsd: 0, fraction: 0, resetDuration: '1w' },
      ],
      rateLimits: [{ metric: 'requests', max: 100, used: 42, resetDuration: '1h', resetsAt: '2025-06-01T12:12:00.000Z' }],
      lastBlocks: [{ app: 'Cursor', provider: 'openai', model: 'gpt-4o', errorType: 'model_blocked', count: 2 }],
    });
  });

  it('without a bundle: no key, no policy', () => {
    const status = buildPolicyStatus(input({ bundle: undefined, signedIn: false, blocks: [], shadowAi: [] }));
    expect(status).toMatchObject({ user: { signedIn: false }, activeKey: null, policy: null, budgets: [], rateLimits: [] });
  });

  it('names an inactive key', () => {
    const status = buildPolicyStatus(input({ bundle: bundle({}, { is_active: false }) }));
    expect(status.activeKey).toMatchObject({ state: 'inactive' });
  });
});

describe('formatStatus', () => {
  it('human text', () => {
    expect(formatStatus(buildPolicyStatus(input()), { json: false })).toBe(`Bifrost Edge status
  Signed in:    yes, as Ada <ada@example.com>
  Active key:   eng-team (vk-eng), active, expires 2025-12-31 00:00 UTC
  Policy:       v7, issued 1h ago (2025-06-01 11:00 UTC), fail-closed, routing gateway
  Connectivity: gateway UNREACHABLE, Edge Control reachable

Budgets
  key         $12.35 of $50.00 per day (24%), resets in 23h 12m
  openai      $0.00 of $10.00 per week (0%)

Rate limits
  key         42 of 100 requests per hour, resets in 12m

Last blocks
  2025-06-01 11:58 UTC  Cursor  openai/gpt-4o  model_blocked ×2
      Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini.

Shadow AI (not covered by policy)
  host  api.together.xyz  seen 3 times, last 2025-06-01 11:00 UTC
`);
  });

  it('not signed in, no policy, with problems', () => {
    const text = formatStatus(buildPolicyStatus(input({ bundle: undefined, signedIn: false, blocks: [], shadowAi: [], problems: ['App "x": bad pattern'] })), { json: false });
    expect(text).toContain('Signed in:    no — run `bifrost-edge login` or use the tray icon to sign in');
    expect(text).toContain('Active key:   none (no policy received yet)');
    expect(text).toContain('Policy:       none received yet');
    expect(text).toContain('Last blocks\n  none');
    expect(text).toContain('Policy problems\n  - App "x": bad pattern');
  });

  it.each<[string, 'open' | 'closed', string | undefined, string]>([
    ['fail-closed, waiting for the first answer', 'closed', undefined, 'Edge Control confirming the policy (no answer yet since Edge started; fail-closed, so AI requests wait for it)\n'],
    ['fail-closed, a call failed meanwhile', 'closed', 'policy fetch failed: timed out', 'Edge Control NOT CONFIRMED (no answer since Edge started; fail-closed, so AI requests are refused)\n                policy fetch failed: timed out\n'],
    ['fail-open: same fact, nothing held', 'open', undefined, 'Edge Control confirming the policy (no answer yet since Edge started)\n'],
  ])('Edge Control not heard from since the start: %s', (_name, failMode, problem, line) => {
    const connectivity = { controlPlane: true, controlPlaneConfirmed: false, gateway: true, ...(problem ? { controlPlaneProblem: problem } : {}) };
    const text = formatStatus(buildPolicyStatus(input({ bundle: bundle({ fail_mode: failMode }), connectivity })), { json: false });
    expect(text).toContain(`Connectivity: gateway reachable, ${line}`);
  });

  it('--json is the status object, parseable', () => {
    const status = buildPolicyStatus(input());
    const json = formatStatus(status, { json: true });
    expect(json.endsWith('\n')).toBe(true);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(status)));
  });
});

describe('formatStatus: the audit queue', () => {
  it('says nothing while it takes records', () => {
    expect(formatStatus(buildPolicyStatus(input()), { json: false })).not.toContain('Audit queue');
  });

  it('names who the records filling it wait for, and what to do', () => {
    const connectivity = {
      controlPlane: true, gateway: true, auditQueue: false,
      auditQueueProblem: { kind: 'full' as const, waitingFor: 'the OpenTelemetry collector', remedy: 'Ask your IT helpdesk to check that the OpenTelemetry collector (audit.otlpEndpoint) is running and reachable from this device' },
    };
    const text = formatStatus(buildPolicyStatus(input({ connectivity })), { json: false });
    expect(text).toContain('  Audit queue:  FULL of records the OpenTelemetry collector has not acknowledged (fail-closed, so AI requests are refused). Ask your IT helpdesk');
    expect(text).not.toMatch(/Audit queue:.*(VPN|Edge Control)/);
  });

  it('says when the audit database cannot be written, and what to do', () => {
    const connectivity = { controlPlane: true, gateway: true, auditQueue: false, auditQueueProblem: { kind: 'unwritable' as const, reason: 'SQLITE_FULL: database or disk is full' } };
    const text = formatStatus(buildPolicyStatus(input({ connectivity })), { json: false });
    expect(text).toContain('  Audit queue:  CANNOT BE WRITTEN: SQLITE_FULL: database or disk is full (fail-closed, so AI requests are refused). Free disk space on this device');
  });
});
