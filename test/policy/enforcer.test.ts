import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type PolicyEnforcerOptions, type UsageCharge } from '../../src/policy/enforcer.js';
import type { Notice } from '../../src/policy/notices.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { SqliteShadowAiRegistry } from '../../src/policy/shadow-ai.js';
import { formatStatus } from '../../src/policy/status-command.js';
import type { InspectionInput } from '../../src/proxy/surface-resolution.js';
import { bundle, info, ISSUED, NOW, request } from './support.js';

let dir: string;
const dbs: PolicyDatabase[] = [];
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-enforcer-'));
  clock = NOW.getTime();
});

afterEach(() => {
  for (const db of dbs.splice(0)) if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function makeEnforcer(b: PolicyBundle | undefined = bundle(), options: Partial<PolicyEnforcerOptions> = {}): { enforcer: PolicyEnforcer; db: PolicyDatabase; notices: Notice[] } {
  const db = openPolicyDatabase(path.join(dir, 'policy.db'));
  dbs.push(db);
  const enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db),
    shadowAi: new SqliteShadowAiRegistry(db),
    now: () => new Date(clock),
    onError: (err) => { throw err; },
    ...options,
  });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(b);
  const notices: Notice[] = [];
  enforcer.notices.on('notice', (n) => notices.push(n));
  return { enforcer, db, notices };
}

const OPENAI_UA = { 'user-agent': 'OpenAI/JS 6.1.0' };

/** A request the inspector decides at once (it waits only for Edge Control's first answer: see inspectHeld). */
function inspect(enforcer: PolicyEnforcer, req = request(), headers: Record<string, string> = OPENAI_UA, host = 'api.openai.com') {
  const input: InspectionInput = { request: req, body: {}, info: info(host, headers), app: 'openai-node' };
  const verdict = enforcer.inspector()(input);
  if (verdict instanceof Promise) throw new Error('the inspector held this request instead of deciding it at once');
  return { req, verdict };
}

/** A request the inspector may hold (a fail-closed device waiting for Edge Control's first answer). */
function inspectHeld(enforcer: PolicyEnforcer, req = request()) {
  const input: InspectionInput = { request: req, body: {}, info: info('api.openai.com', OPENAI_UA), app: 'openai-node' };
  return { req, verdict: Promise.resolve(enforcer.inspector()(input)) };
}

function sse(events: object[]): Buffer {
  return Buffer.from(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n');
}

describe('PolicyEnforcer as the proxy sees it', () => {
  it('allows with a route, and blocks with a notice', () => {
    const { enforcer, notices } = makeEnforcer(bundle({}, { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-4o-mini'] }] }));
    const ok = inspect(enforcer, request({ model: 'gpt-4o-mini' }));
    expect(ok.verdict).toEqual({ action: 'allow' });
    expect(enforcer.routeFor(ok.req)).toMatchObject({ mode: 'gateway', virtualKey: { id: 'vk-eng', value: 'sk-bf-eng-0001' }, provider: 'openai', model: 'gpt-4o-mini' });

    const blocked = inspect(enforcer, request({ model: 'gpt-4o' }));
    expect(blocked.verdict).toMatchObject({ action: 'block', error: { status: 403, type: 'model_blocked', provider: 'openai', model: 'gpt-4o' } });
    expect(enforcer.routeFor(blocked.req)).toBeUndefined();
    expect(enforcer.decisionFor(blocked.req)).toMatchObject({ action: 'block' });
    expect(notices.filter((n) => n.kind !== 'app_pending')).toEqual([expect.objectContaining({
      kind: 'blocked',
      who: { user: 'ada@example.com', app: 'OpenAI SDK client' },
      what: { provider: 'openai', model: 'gpt-4o', host: 'api.openai.com' },
      why: { message: expect.stringContaining("allowed: gpt-4o-mini"), errorType: 'model_blocked' },
    })]);
  });

  it('a retry storm of blocks is one notice', () => {
    const { enforcer, notices } = makeEnforcer(bundle({}, { is_active: false }));
    for (let i = 0; i < 20; i++) inspect(enforcer);
    expect(notices.filter((n) => n.kind === 'blocked')).toHaveLength(1);
    expect(enforcer.notices.recent(['blocked'])[0]).toMatchObject({ count: 20 });
  });

  it('a request limit holds across a restart (real SQLite file)', () => {
    const b = bundle({}, { rate_limit: { request_max_limit: 2, request_reset_duration: '1h' } });
    const first = makeEnforcer(b);
    expect(inspect(first.enforcer).verdict.action).toBe('allow');
    expect(inspect(first.enforcer).verdict.action).toBe('allow');
    expect(inspect(first.enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'request_limited', status: 429 } });
    first.db.close();

    clock += 60_000;
    const second = makeEnforcer(b);
    expect(inspect(second.enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'request_limited', message: expect.stringContaining('it resets in 59m') } });
    clock += 3_600_000;
    expect(inspect(second.enforcer).verdict.action).toBe('allow');
  });

  it('meters a gzip-compressed SSE response: tokens and spend are charged, budget alerts fire once per threshold per window', async () => {
    const b = bundle({ budget_alert_thresholds: [0.5, 0.8], pricing: { 'gpt-4o': { input_per_mtok: 1_000, output_per_mtok: 1_000 } } }, {
      rate_limit: { token_max_limit: 1_000_000, token_reset_duration: '1d' },
      budgets: [{ max_limit: 1, reset_duration: '1d' }],
    });
    const { enforcer, notices } = makeEnforcer(b);
    // 300 tokens at $1000/Mtok = $0.30 per response: 30%, 60%, 90%, 120% of $1.
    const respond = async (): Promise<UsageCharge | undefined> => {
      const { req, verdict } = inspect(enforcer, request({ stream: true }));
      expect(verdict.action).toBe('allow');
      const body = zlib.gzipSync(sse([
        { choices: [{ delta: { content: 'hi' } }], usage: null },
        { choices: [], usage: { prompt_tokens: 200, completion_tokens: 100, total_tokens: 300 } },
      ]));
      return new Promise((resolve) => {
        const meter = enforcer.meterResponse(req, { contentType: 'text/event-stream', contentEncoding: 'gzip' }, resolve)!;
        for (let i = 0; i < body.length; i += 7) meter.push(body.subarray(i, i + 7));
        meter.end();
      });
    };
    const first = await respond();
    expect(first).toMatchObject({ usage: { totalTokens: 300 }, priceSource: 'bundle:gpt-4o', alerts: [] });
    expect(first!.costUsd).toBeCloseTo(0.3, 10);
    expect((await respond())!.alerts.map((a) => a.why.errorType)).toEqual(['budget_50']);
    const third = await respond();
    expect(third!.alerts.map((a) => a.why.message)).toEqual([expect.stringMatching(/^You have used 90% of the \$1\.00 budget per day on your key 'eng-team' \(\$0\.90 of \$1\.00, estimated on this device; alert at 80%\)\. It resets in 1d\./)]);
    expect(inspect(enforcer, request({ stream: true })).verdict.action).toBe('allow');
    expect((await respond())).toMatchObject({ alerts: [] });
    expect(notices.filter((n) => n.kind === 'budget_alert')).toHaveLength(2);
    // $1.20 spent: the next request is refused locally.
    expect(inspect(enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'budget_exceeded', status: 402 } });
    expect(enforcer.status()).toMatchObject({
      budgets: [{ maxUsd: 1, usedUsd: 1.2, fraction: 1.2, resetDuration: '1d' }],
      rateLimits: [{ metric: 'tokens', used: 1200, max: 1_000_000 }],
    });

    // A new window: the budget is available again and the alerts may fire again.
    clock += 24 * 3_600_000 + 1;
    await respond();
    expect((await respond())!.alerts.map((a) => a.why.errorType)).toEqual(['budget_50']);
  });

  it('meters a plain JSON response (Anthropic) and ignores responses with no usage', () => {
    const b = bundle({}, { provider_configs: [{ provider: 'anthropic', weight: 1, allowed_models: ['*'] }], rate_limit: { token_max_limit: 100, token_reset_duration: '1h' } });
    const { enforcer } = makeEnforcer(b);
    const req = request({ provider: 'anthropic', adapter: 'anthropic', operation: 'messages', model: 'claude-sonnet-4-5-20250929' });
    expect(inspect(enforcer, req, { 'user-agent': 'claude-cli/1.0.51 (external, cli)' }, 'api.anthropic.com').verdict.action).toBe('allow');
    const charges: Array<UsageCharge | undefined> = [];
    const meter = enforcer.meterResponse(req, { contentType: 'application/json', contentEncoding: undefined }, (c) => charges.push(c))!;
    meter.push(Buffer.from(JSON.stringify({ type: 'message', usage: { input_tokens: 60, output_tokens: 50 } })));
    meter.end();
    expect(charges[0]).toMatchObject({ usage: { totalTokens: 110 }, priceSource: 'built-in:claude-sonnet-4-5' });
    expect(inspect(enforcer, request({ provider: 'anthropic', model: 'claude-sonnet-4-5' }), {}, 'api.anthropic.com').verdict)
      .toMatchObject({ action: 'block', error: { type: 'token_limited', message: expect.stringContaining('100 tokens per hour (110 used)') } });

    const html = enforcer.meterResponse(req, { contentType: 'text/html', contentEncoding: undefined }, (c) => charges.push(c))!;
    html.push(Buffer.from('<html>'));
    html.end();
    expect(charges[1]).toBeUndefined();
  });

  it('requests in flight hold their prompt\'s estimated cost: a burst cannot overspend a budget it was all admitted under', () => {
    // $1 budget, $0.40 left; each prompt is ~100,000 tokens (400,000 characters) at $1/Mtok input: ~$0.10.
    const b = bundle({ pricing: { 'gpt-4o': { input_per_mtok: 1, output_per_mtok: 4 } } }, {
      budgets: [{ max_limit: 1, reset_duration: '1d', current_usage: 0.6, last_reset: ISSUED }],
    });
    const { enforcer } = makeEnforcer(b);
    const prompt = () => request({ texts: [{ path: ['messages', 0, 'content'], text: 'x'.repeat(400_000), kind: 'user' }] });
    const burst = Array.from({ length: 10 }, () => inspect(enforcer, prompt()));
    // $0.60 + 4 × $0.10 held reaches $1: the fifth and every later one is refused, where all ten went through.
    expect(burst.map((r) => r.verdict.action)).toEqual(['allow', 'allow', 'allow', 'allow', 'block', 'block', 'block', 'block', 'block', 'block']);
    expect(burst[4]!.verdict).toMatchObject({ action: 'block', error: { type: 'budget_exceeded', message: expect.stringContaining('($1.00 spent, as estimated on this device, $0.40 of it held by requests still being answered)') } });
    // What was charged is what status shows; holds are not spend.
    expect(enforcer.status().budgets[0]!.usedUsd).toBeCloseTo(0.6, 6);

    // One answer charged at its real size ($0.02) gives its hold back: room for one more.
    enforcer.recordResponseUsage(burst[0]!.req, { inputTokens: 20_000, outputTokens: 0, totalTokens: 20_000, cachedInputTokens: 0, reasoningTokens: 0 });
    expect(inspect(enforcer, prompt()).verdict.action).toBe('allow');
    expect(inspect(enforcer, prompt()).verdict.action).toBe('block');
    // A request that ended without usage (failed, refused by a later step) gives its hold back too, once.
    enforcer.settle(burst[1]!.req);
    enforcer.settle(burst[1]!.req);
    expect(inspect(enforcer, prompt()).verdict.action).toBe('allow');
    expect(inspect(enforcer, prompt()).verdict.action).toBe('block');
  });

  it('holds count against token limits too, and a hold nothing released expires instead of blocking the key for good', () => {
    const { enforcer } = makeEnforcer(bundle({}, { rate_limit: { token_max_limit: 1_000, token_reset_duration: '1h' } }));
    const prompt = () => request({ texts: [{ path: ['messages', 0, 'content'], text: 'y'.repeat(2_000), kind: 'user' }] }); // ~500 tokens
    expect(inspect(enforcer, prompt()).verdict.action).toBe('allow');
    expect(inspect(enforcer, prompt()).verdict.action).toBe('allow');
    expect(inspect(enforcer, prompt()).verdict).toMatchObject({ action: 'block', error: { type: 'token_limited', message: expect.stringContaining('(1,000 used, 1,000 of it held by requests still being answered)') } });
    // Nothing was charged and nothing settled (a path that forgot to): after 30 minutes the holds lapse.
    clock += 30 * 60_000 + 1;
    expect(inspect(enforcer, prompt()).verdict.action).toBe('allow');
  });

  it('a request with no prompt text Edge read (uninspected route) holds nothing', () => {
    const { enforcer } = makeEnforcer(bundle({}, { rate_limit: { token_max_limit: 1, token_reset_duration: '1h' } }));
    for (let i = 0; i < 3; i++) expect(inspect(enforcer, request({ inspected: false })).verdict.action).toBe('allow');
  });

  it('a bundle applied mid-request does not change what the request is charged to', () => {
    const { enforcer } = makeEnforcer(bundle({}, { budgets: [{ max_limit: 10, reset_duration: '1d' }] }));
    const { req } = inspect(enforcer);
    enforcer.setBundle(bundle({ version: 8 }, { id: 'vk-other', budgets: [{ max_limit: 10, reset_duration: '1w' }] }));
    const charge = enforcer.recordResponseUsage(req, { inputTokens: 1_000_000, outputTokens: 0, totalTokens: 1_000_000, cachedInputTokens: 0, reasoningTokens: 0 });
    expect(charge?.costUsd).toBeCloseTo(2.5, 10);
    enforcer.setBundle(bundle({ version: 9 }, { budgets: [{ max_limit: 10, reset_duration: '1d' }] }));
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 2.5 })]);
  });

  it('folds the gateway\'s reported usage into the local counters', () => {
    const { enforcer } = makeEnforcer(bundle({}, { budgets: [{ max_limit: 10, reset_duration: '1d', current_usage: 9.5, last_reset: '2025-06-01T06:00:00Z' }] }));
    expect(enforcer.status().budgets).toEqual([expect.objectContaining({ usedUsd: 9.5, resetsAt: '2025-06-02T06:00:00.000Z' })]);
    const { req } = inspect(enforcer);
    enforcer.recordResponseUsage(req, { inputTokens: 200_000, outputTokens: 0, totalTokens: 200_000, cachedInputTokens: 0, reasoningTokens: 0 });
    expect(enforcer.status().budgets[0]!.usedUsd).toBeCloseTo(10, 6);
    expect(inspect(enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'budget_exceeded' } });
  });

  it('fail-closed refuses while the gateway is down and recovers when it returns', () => {
    const { enforcer, notices } = makeEnforcer(bundle({ fail_mode: 'closed' }));
    enforcer.setConnectivity({ gateway: false });
    expect(inspect(enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'gateway_unreachable', status: 503 } });
    expect(notices.at(-1)).toMatchObject({ kind: 'fail_closed' });
    enforcer.setConnectivity({ gateway: true });
    expect(inspect(enforcer).verdict).toEqual({ action: 'allow' });
  });

  it('fail-closed right after a start: a request waits for Edge Control\'s first answer, decided under the bundle it brings', async () => {
    const { enforcer } = makeEnforcer(bundle({ fail_mode: 'closed' }));
    enforcer.setConnectivity({ controlPlane: true, controlPlaneConfirmed: false });
    const { req, verdict } = inspectHeld(enforcer);
    expect(verdict).toBeInstanceOf(Promise);
    // The answer brings a new version, then confirms: the waiting request sees both.
    enforcer.setBundle(bundle({ fail_mode: 'closed', version: 8 }, { id: 'vk-new' }));
    enforcer.setConnectivity({ controlPlaneConfirmed: true });
    expect(await verdict).toEqual({ action: 'allow' });
    expect(enforcer.routeFor(req)?.virtualKey?.id).toBe('vk-new');
    // Confirmed: decided at once again.
    expect(inspect(enforcer).verdict).toEqual({ action: 'allow' });
  });

  it('fail-closed right after a start: refused when Edge Control\'s first answer does not come in time, saying Edge is confirming the policy', async () => {
    const { enforcer, notices } = makeEnforcer(bundle({ fail_mode: 'closed' }), { controlConfirmationWaitMs: 100 });
    enforcer.setConnectivity({ controlPlane: true, controlPlaneConfirmed: false });
    const startedAt = Date.now();
    const { req, verdict } = inspectHeld(enforcer);
    const refused = await verdict;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(90);
    expect(refused).toMatchObject({ action: 'block', error: { status: 503, type: 'gateway_unreachable', message: expect.stringMatching(/still confirming your AI policy with Edge Control/) } });
    expect(notices.at(-1)).toMatchObject({ kind: 'fail_closed' });
    expect(enforcer.decisionFor(req)?.reasons.join()).toMatch(/^fail-closed: Edge Control has not answered yet since Edge started/);
    // A call failed meanwhile: the refusal says Edge could not confirm the policy.
    enforcer.setConnectivity({ controlPlaneProblem: 'policy fetch failed: timed out' });
    expect(await inspectHeld(enforcer).verdict).toMatchObject({ action: 'block', error: { message: expect.stringMatching(/has not been able to confirm your AI policy/) } });
    // Judged unreachable (three failures): refused at once, as unreachable.
    enforcer.setConnectivity({ controlPlane: false });
    expect(inspect(enforcer).verdict).toMatchObject({ action: 'block', error: { message: expect.stringMatching(/cannot reach Edge Control/) } });
  });

  it('fail-closed right after a start with nobody signed in: refused at once, not after the wait', () => {
    const { enforcer } = makeEnforcer(bundle({ fail_mode: 'closed' }), { controlConfirmationWaitMs: 10_000 });
    enforcer.setConnectivity({ controlPlane: true, controlPlaneConfirmed: false, controlPlaneCallable: false, controlPlaneProblem: 'enrollment not possible: not signed in yet' });
    expect(inspect(enforcer).verdict).toMatchObject({ action: 'block', error: { status: 503, message: expect.stringMatching(/nobody is signed in/) } });
  });

  it('fail-open right after a start decides at once, as before', () => {
    const { enforcer, notices } = makeEnforcer(bundle({ fail_mode: 'open' }));
    enforcer.setConnectivity({ controlPlane: true, controlPlaneConfirmed: false });
    expect(inspect(enforcer).verdict).toEqual({ action: 'allow' });
    expect(notices.filter((n) => n.kind === 'fail_open' || n.kind === 'fail_closed')).toEqual([]);
  });

  it('fail-open routes direct and says so', () => {
    const { enforcer, notices } = makeEnforcer();
    enforcer.setConnectivity({ gateway: false });
    const { req, verdict } = inspect(enforcer);
    expect(verdict).toEqual({ action: 'allow' });
    expect(enforcer.routeFor(req)?.mode).toBe('local');
    expect(enforcer.decisionFor(req)?.reasons.join()).toMatch(/fail-open: the Bifrost gateway is unreachable/);
    expect(notices.at(-1)).toMatchObject({ kind: 'fail_open' });
  });

  it('pending apps are reported as seen and recorded as shadow AI', () => {
    const { enforcer, notices } = makeEnforcer(bundle({ apps: { catalog: [], pending_action: 'allow' } }));
    inspect(enforcer, request(), { 'user-agent': 'weird-tool/0.1' });
    inspect(enforcer, request(), { 'user-agent': 'weird-tool/0.1' });
    expect(notices.filter((n) => n.kind === 'app_pending')).toEqual([expect.objectContaining({ who: { user: 'ada@example.com', app: 'weird-tool' } })]);
    expect(enforcer.status().shadowAi).toEqual([expect.objectContaining({ kind: 'app', name: 'ua:weird-tool', count: 2, detail: 'api.openai.com' })]);
  });

  it('checkConnect denies a denied app before decryption and records tunnelled AI hosts', () => {
    const { enforcer, notices } = makeEnforcer(bundle({ apps: { catalog: [{ id: 'deepseek-web', name: 'DeepSeek chat', status: 'denied', match: { hosts: ['chat.deepseek.com'], user_agents: [], processes: [] } }] } }));
    expect(enforcer.checkConnect({ host: 'chat.deepseek.com', intercepted: false })).toMatchObject({ action: 'block', error: { type: 'app_blocked', status: 403 } });
    expect(enforcer.checkConnect({ host: 'api.together.xyz:443', intercepted: false })).toEqual({ action: 'allow' });
    expect(enforcer.checkConnect({ host: 'example.com', intercepted: false })).toEqual({ action: 'allow' });
    // Decrypted hosts are left to the per-request decision, which answers in the app's own format.
    expect(enforcer.checkConnect({ host: 'chat.deepseek.com', intercepted: true })).toEqual({ action: 'allow' });
    expect(enforcer.status().shadowAi.map((s) => s.name)).toEqual(expect.arrayContaining(['chat.deepseek.com', 'api.together.xyz']));
    expect(notices.map((n) => n.kind)).toEqual(expect.arrayContaining(['blocked', 'shadow_ai']));
  });

  it('not signed in: sign_in_required notice; status says so', () => {
    const { enforcer, notices } = makeEnforcer();
    enforcer.setIdentity({ signedIn: false });
    expect(inspect(enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'virtual_key_required', status: 401 } });
    expect(notices.at(-1)?.kind).toBe('sign_in_required');
    const text = formatStatus(enforcer.status(), { json: false });
    expect(text).toMatch(/Signed in: {4}no — run `bifrost-edge login`/);
    expect(text).toMatch(/virtual_key_required/);
  });
});
