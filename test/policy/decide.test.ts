import { describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { decideRequest, type Decision, type DecisionInput } from '../../src/policy/decide.js';
import { counterKey, type CounterSnapshot } from '../../src/policy/limits.js';
import type { NormalizedRequest } from '../../src/providers/types.js';
import { appFor, bundle, decisionInput, NOW, request, vkInput } from './support.js';

type KeyInput = ReturnType<typeof vkInput>;

interface Case {
  name: string;
  key?: Partial<KeyInput>;
  bundle?: Partial<PolicyBundleInput>;
  req?: Partial<NormalizedRequest>;
  input?: Partial<DecisionInput>;
  expect: { action: 'allow'; provider?: string | null; model?: string | null; mode?: string; candidates?: string[] }
    | { action: 'block'; type: string; status: number; message?: RegExp };
}

const pc = (provider: string, allowed_models: string[] = ['*'], extra: Record<string, unknown> = {}) => ({ provider, weight: 1, allowed_models, ...extra });

function run(c: Case): Decision {
  const b = bundle(c.bundle ?? {}, c.key ?? {});
  return decideRequest(decisionInput({ bundle: b, app: appFor({}, b), request: request(c.req ?? {}), ...c.input }));
}

function check(c: Case): void {
  const decision = run(c);
  if (c.expect.action === 'allow') {
    expect(decision, decision.action === 'block' ? decision.error.message : '').toMatchObject({ action: 'allow' });
    if (decision.action !== 'allow') return;
    const { provider, model, mode, candidates } = c.expect;
    if (provider !== undefined) expect(decision.route.provider).toBe(provider);
    if (model !== undefined) expect(decision.route.model).toBe(model);
    if (mode !== undefined) expect(decision.route.mode).toBe(mode);
    if (candidates !== undefined) expect(decision.route.candidates).toEqual(candidates);
    return;
  }
  expect(decision.action).toBe('block');
  if (decision.action !== 'block') return;
  expect({ type: decision.error.type, status: decision.error.status }).toEqual({ type: c.expect.type, status: c.expect.status });
  if (c.expect.message) expect(decision.error.message).toMatch(c.expect.message);
  // Every block explains itself to a person and names no secret.
  expect(decision.error.message).not.toMatch(/sk-bf-/);
  expect(decision.notice.why).toEqual({ message: decision.error.message, errorType: decision.error.type });
}

describe('virtual key: allowed_models / blacklisted_models (Bifrost semantics)', () => {
  const cases: Case[] = [
    { name: '["*"] allows any model', key: { provider_configs: [pc('openai', ['*'])] }, req: { model: 'gpt-4o' }, expect: { action: 'allow', provider: 'openai', model: 'gpt-4o' } },
    { name: '[] allows no model', key: { provider_configs: [pc('openai', [])] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403, message: /does not allow gpt-4o on openai; it allows no openai models/ } },
    { name: 'listed model is allowed', key: { provider_configs: [pc('openai', ['gpt-4o-mini', 'o3-mini'])] }, req: { model: 'o3-mini' }, expect: { action: 'allow', model: 'o3-mini' } },
    { name: 'unlisted model names the allowed ones', key: { provider_configs: [pc('openai', ['gpt-4o-mini', 'o3-mini'])] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403, message: /^Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini, o3-mini\. Ask your admin, or pick an allowed model\.$/ } },
    { name: 'provider-qualified entry in allowed_models matches', key: { provider_configs: [pc('openai', ['openai/gpt-4o'])] }, req: { model: 'gpt-4o' }, expect: { action: 'allow' } },
    { name: 'blacklist wins over ["*"]', key: { provider_configs: [pc('openai', ['*'], { blacklisted_models: ['gpt-4o'] })] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403, message: /blocks gpt-4o on openai; allowed: any openai model except gpt-4o/ } },
    { name: 'blacklist wins over an explicit allow', key: { provider_configs: [pc('openai', ['gpt-4o'], { blacklisted_models: ['gpt-4o'] })] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403 } },
    { name: 'blacklist in one config blocks across all configs of the provider',
      key: { provider_configs: [pc('openai', ['*']), pc('openai', [], { blacklisted_models: ['gpt-4o'] })] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403 } },
    { name: 'blacklist ["*"] blocks everything', key: { provider_configs: [pc('openai', ['*'], { blacklisted_models: ['*'] })] }, req: { model: 'gpt-4o-mini' },
      expect: { action: 'block', type: 'model_blocked', status: 403 } },
    { name: 'blacklisting other models does not block this one', key: { provider_configs: [pc('openai', ['*'], { blacklisted_models: ['o1'] })] }, req: { model: 'gpt-4o' }, expect: { action: 'allow' } },
    { name: 'a route without a model skips the model check', key: { provider_configs: [pc('openai', [])] }, req: { model: null, operation: 'models', inspected: false },
      expect: { action: 'allow', provider: 'openai', model: null } },
  ];
  it.each(cases)('$name', check);
});

describe('virtual key: providers and model strings', () => {
  const cases: Case[] = [
    { name: 'provider missing from provider_configs', key: { provider_configs: [pc('anthropic'), pc('gemini')] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'provider_blocked', status: 403, message: /^Your key 'eng-team' does not allow openai; allowed providers: anthropic, gemini\./ } },
    { name: 'no provider configs: nothing allowed', key: { provider_configs: [] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'provider_blocked', status: 403, message: /does not allow any provider/ } },
    { name: 'provider/model pins the provider (anthropic model sent on the OpenAI route)',
      key: { provider_configs: [pc('openai'), pc('anthropic', ['claude-sonnet-4-5'])] }, req: { model: 'anthropic/claude-sonnet-4-5' },
      expect: { action: 'allow', provider: 'anthropic', model: 'claude-sonnet-4-5', candidates: [] } },
    { name: 'provider/model for a provider the key lacks', key: { provider_configs: [pc('openai')] }, req: { model: 'anthropic/claude-sonnet-4-5' },
      expect: { action: 'block', type: 'provider_blocked', status: 403, message: /does not allow anthropic/ } },
    { name: 'unknown prefix is part of a bare model name', key: { provider_configs: [pc('openai', ['meta-llama/Llama-3.3-70B'])] }, req: { model: 'meta-llama/Llama-3.3-70B' },
      expect: { action: 'allow', provider: 'openai', model: 'meta-llama/Llama-3.3-70B' } },
    { name: 'unknown prefix not listed: model_blocked names the whole string', key: { provider_configs: [pc('openai', ['gpt-4o'])] }, req: { model: 'meta-llama/Llama-3.3-70B' },
      expect: { action: 'block', type: 'model_blocked', status: 403, message: /does not allow meta-llama\/Llama-3\.3-70B on openai/ } },
    { name: 'custom provider named in the key is a known prefix', key: { provider_configs: [pc('openai'), pc('acme-llm', ['big-1'])] }, req: { model: 'acme-llm/big-1' },
      expect: { action: 'allow', provider: 'acme-llm', model: 'big-1' } },
    { name: 'bare model load-balanced across configs that list it',
      key: { provider_configs: [pc('openai', ['gpt-4o']), pc('azure', ['gpt-4o'], { weight: 3 })] }, req: { model: 'gpt-4o' },
      expect: { action: 'allow', provider: 'openai', model: 'gpt-4o', candidates: ['openai', 'azure'] } },
    { name: 'bare model only another provider lists goes there',
      key: { provider_configs: [pc('openai', ['gpt-4o-mini']), pc('azure', ['gpt-4o'])] }, req: { model: 'gpt-4o' },
      expect: { action: 'allow', provider: 'azure', model: 'gpt-4o', candidates: ['azure'] } },
    { name: 'heaviest eligible config is the expected provider when the surface provider is not eligible',
      key: { provider_configs: [pc('openai', []), pc('azure', ['gpt-4o'], { weight: 1 }), pc('vertex', ['gpt-4o'], { weight: 5 })] }, req: { model: 'gpt-4o' },
      expect: { action: 'allow', provider: 'vertex', candidates: ['azure', 'vertex'] } },
    { name: '["*"] on a provider that does not serve the model is not a candidate',
      key: { provider_configs: [pc('openai', ['gpt-4o-mini']), pc('anthropic', ['*'])] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403, message: /allowed: gpt-4o-mini/ } },
    { name: '["*"] on a provider of the model family is a candidate',
      key: { provider_configs: [pc('openai', []), pc('azure', ['*'])] }, req: { model: 'gpt-4o' },
      expect: { action: 'allow', provider: 'azure', candidates: ['azure'] } },
    { name: 'blacklist excludes a provider from load balancing',
      key: { provider_configs: [pc('openai', ['*'], { blacklisted_models: ['gpt-4o'] }), pc('azure', ['gpt-4o'])] }, req: { model: 'gpt-4o' },
      expect: { action: 'allow', provider: 'azure', candidates: ['azure'] } },
    { name: 'configs without a weight take no part in load balancing',
      key: { provider_configs: [pc('openai', ['gpt-4o-mini']), pc('azure', ['gpt-4o'], { weight: null })] }, req: { model: 'gpt-4o' },
      expect: { action: 'block', type: 'model_blocked', status: 403 } },
    { name: 'third-party surface: model is qualified with its provider, even with a known-provider prefix',
      key: { provider_configs: [pc('groq', ['openai/gpt-oss-120b'])] }, req: { provider: 'groq', model: 'openai/gpt-oss-120b' },
      expect: { action: 'allow', provider: 'groq', model: 'openai/gpt-oss-120b' } },
    { name: 'third-party surface: already qualified model is not qualified twice',
      key: { provider_configs: [pc('groq', ['llama-3.3-70b-versatile'])] }, req: { provider: 'groq', model: 'groq/llama-3.3-70b-versatile' },
      expect: { action: 'allow', provider: 'groq', model: 'llama-3.3-70b-versatile' } },
    { name: 'gemini surface maps to the gemini provider', key: { provider_configs: [pc('gemini', ['gemini-2.5-flash'])] },
      req: { provider: 'gemini', adapter: 'gemini', operation: 'generateContent', model: 'gemini-2.5-pro' },
      expect: { action: 'block', type: 'model_blocked', status: 403, message: /does not allow gemini-2\.5-pro on gemini; allowed: gemini-2\.5-flash/ } },
    { name: 'pass-through mode: the surface provider with the model as sent (no load balancing)',
      bundle: { routing: { default_mode: 'passthrough' } }, key: { provider_configs: [pc('openai', ['anthropic/claude-x'])] }, req: { model: 'anthropic/claude-x' },
      expect: { action: 'allow', provider: 'openai', model: 'anthropic/claude-x', mode: 'passthrough' } },
  ];
  it.each(cases)('$name', check);
});

describe('virtual key: presence, activity, expiry', () => {
  const cases: Case[] = [
    { name: 'not signed in', input: { signedIn: false }, expect: { action: 'block', type: 'virtual_key_required', status: 401, message: /not signed in.*bifrost-edge login/ } },
    { name: 'bundle without keys', bundle: { virtual_keys: [] }, expect: { action: 'block', type: 'virtual_key_required', status: 401, message: /no Bifrost virtual key/ } },
    { name: 'inactive key', key: { is_active: false }, expect: { action: 'block', type: 'virtual_key_blocked', status: 403, message: /'eng-team' is switched off/ } },
    { name: 'expired key', key: { expires_at: '2025-06-01T11:59:59Z' }, expect: { action: 'block', type: 'virtual_key_blocked', status: 403, message: /expired on 2025-06-01T11:59:59Z/ } },
    { name: 'key expiring later is fine', key: { expires_at: '2025-06-01T12:00:01Z' }, expect: { action: 'allow' } },
    { name: 'key expiring exactly now is expired', key: { expires_at: NOW.toISOString() }, expect: { action: 'block', type: 'virtual_key_blocked', status: 403 } },
    { name: 'active key id missing from the bundle', bundle: { active_virtual_key_id: 'vk-gone' }, expect: { action: 'block', type: 'virtual_key_not_found', status: 401 } },
    { name: 'key without its secret in gateway mode', key: { value: undefined }, expect: { action: 'block', type: 'virtual_key_required', status: 401, message: /without its secret/ } },
    { name: 'key without its secret is fine in local mode', bundle: { routing: { default_mode: 'local' } }, key: { value: undefined }, expect: { action: 'allow', mode: 'local' } },
  ];
  it.each(cases)('$name', check);

  it('picks the first active, unexpired key when the bundle names none', () => {
    const b = bundle({ virtual_keys: [vkInput({ id: 'old', is_active: false }), vkInput({ id: 'exp', expires_at: '2025-01-01T00:00:00Z' }), vkInput({ id: 'good', value: 'sk-bf-good' })] });
    const decision = decideRequest(decisionInput({ bundle: b }));
    expect(decision).toMatchObject({ action: 'allow', route: { virtualKey: { id: 'good', value: 'sk-bf-good' } } });
  });

  it('the named key is used (and refused) even when another is active', () => {
    const b = bundle({ active_virtual_key_id: 'old', virtual_keys: [vkInput({ id: 'old', name: 'legacy', is_active: false }), vkInput({ id: 'good' })] });
    const decision = decideRequest(decisionInput({ bundle: b }));
    expect(decision).toMatchObject({ action: 'block', error: { type: 'virtual_key_blocked', message: expect.stringContaining("'legacy'") } });
  });

  it('before the first bundle a signed-in user is allowed with no key from policy (the gateway decides)', () => {
    const decision = decideRequest(decisionInput({ bundle: undefined }));
    expect(decision).toMatchObject({ action: 'allow', route: { virtualKey: null, provider: 'openai', mode: 'gateway' } });
  });

  it('the route carries the key to send', () => {
    expect(decideRequest(decisionInput())).toMatchObject({ action: 'allow', route: { mode: 'gateway', virtualKey: { id: 'vk-eng', name: 'eng-team', value: 'sk-bf-eng-0001' } } });
  });
});

describe('MCP tools (mcp_configs, tools named clientName-toolName)', () => {
  const call = (name: string) => ({ name, kind: 'call' as const, path: ['x'] });
  const mcp = (req: Partial<NormalizedRequest>) => ({ adapter: 'mcp', operation: 'tools/call', model: null, ...req });
  const key = { mcp_configs: [{ mcp_client_name: 'github', tools_to_execute: ['list_issues', 'create_issue'] }, { mcp_client_name: 'my-fs', tools_to_execute: ['*'] }, { mcp_client: { name: 'jira' }, tools_to_execute: [] }] };
  const cases: Case[] = [
    { name: 'listed tool', key, req: mcp({ tools: [call('github-list_issues')] }), expect: { action: 'allow' } },
    { name: 'unlisted tool', key, req: mcp({ tools: [call('github-delete_repo')] }),
      expect: { action: 'block', type: 'mcp_tool_blocked', status: 403, message: /does not allow the MCP tool 'delete_repo' of 'github'; allowed tools there: list_issues, create_issue/ } },
    { name: '["*"] allows every tool (client name containing a dash)', key, req: mcp({ tools: [call('my-fs-read_file')] }), expect: { action: 'allow' } },
    { name: '[] allows none (client from mcp_client.name)', key, req: mcp({ tools: [call('jira-create_ticket')] }),
      expect: { action: 'block', type: 'mcp_tool_blocked', status: 403, message: /allowed tools there: none/ } },
    { name: 'MCP request to a client the key does not enable', key, req: mcp({ tools: [call('slack-post_message')] }),
      expect: { action: 'block', type: 'mcp_tool_blocked', status: 403, message: /does not enable the MCP server 'slack'/ } },
    { name: 'tool definitions are not executions', key, req: mcp({ tools: [{ name: 'github-delete_repo', kind: 'definition', path: ['x'] }] }), expect: { action: 'allow' } },
    { name: 'model request calling a listed client\'s unlisted tool', key, req: { tools: [call('github-delete_repo')] }, expect: { action: 'block', type: 'mcp_tool_blocked', status: 403 } },
    { name: 'model request calling an app\'s own function is not governed', key, req: { tools: [call('Read'), call('slack-post_message')] }, expect: { action: 'allow' } },
  ];
  it.each(cases)('$name', check);
});

describe('rate limits and budgets from counters', () => {
  const rl = { request_max_limit: 10, request_reset_duration: '1h', token_max_limit: 1000, token_reset_duration: '1d' };
  const started = NOW.getTime() - 10 * 60_000;
  /** The counter of the key's (provider undefined) or the provider's first config's window; for a budget, its first without an id. */
  const firstWindowKey = (provider: string | undefined, metric: 'requests' | 'tokens' | 'spend', duration: string) =>
    counterKey('vk-eng', provider !== undefined ? { provider, ref: { place: 1 } } : undefined, metric, duration, metric === 'spend' ? { place: 1 } : undefined);
  const counters = (entries: Array<[string | undefined, 'requests' | 'tokens' | 'spend', string, number]>): CounterSnapshot =>
    new Map(entries.map(([provider, metric, duration, value]) => [firstWindowKey(provider, metric, duration), { value, windowStartMs: started }]));
  const cases: Case[] = [
    { name: 'under every limit', key: { rate_limit: rl }, input: { counters: counters([[undefined, 'requests', '1h', 9], [undefined, 'tokens', '1d', 999]]) }, expect: { action: 'allow' } },
    { name: 'request limit reached', key: { rate_limit: rl }, input: { counters: counters([[undefined, 'requests', '1h', 10]]) },
      expect: { action: 'block', type: 'request_limited', status: 429, message: /^Your key 'eng-team' reached its limit of 10 requests per hour \(10 used\); it resets in 50m\. Wait for the reset/ } },
    { name: 'token limit reached', key: { rate_limit: rl }, input: { counters: counters([[undefined, 'tokens', '1d', 1500]]) },
      expect: { action: 'block', type: 'token_limited', status: 429, message: /1,000 tokens per day \(1,500 used\)/ } },
    { name: 'both limits reached: rate_limited', key: { rate_limit: rl }, input: { counters: counters([[undefined, 'requests', '1h', 10], [undefined, 'tokens', '1d', 1000]]) },
      expect: { action: 'block', type: 'rate_limited', status: 429 } },
    { name: 'an expired window counts as empty', key: { rate_limit: rl },
      input: { counters: new Map([[firstWindowKey(undefined, 'requests', '1h'), { value: 50, windowStartMs: NOW.getTime() - 3_600_000 }]]) }, expect: { action: 'allow' } },
    { name: 'provider-config limit is checked (and named)', key: { provider_configs: [pc('openai', ['*'], { rate_limit: { request_max_limit: 2, request_reset_duration: '15m' } })] },
      input: { counters: counters([['openai', 'requests', '15m', 2]]) }, expect: { action: 'block', type: 'request_limited', status: 429, message: /2 requests per 15 minutes on openai \(2 used\); it resets in 5m/ } },
    { name: 'another provider\'s limit does not apply', key: { provider_configs: [pc('openai'), pc('anthropic', ['*'], { rate_limit: { request_max_limit: 0, request_reset_duration: '1h' } })] },
      expect: { action: 'allow' } },
    { name: 'budget spent', key: { budgets: [{ max_limit: 5, reset_duration: '1d' }] }, input: { counters: counters([[undefined, 'spend', '1d', 5.01]]) },
      expect: { action: 'block', type: 'budget_exceeded', status: 402, message: /used up its \$5\.00 budget per day \(\$5\.01 spent, as estimated on this device\); it resets in 23h 50m\. Ask your admin for more budget/ } },
    { name: 'budget reported spent by the gateway (other devices)', key: { budgets: [{ max_limit: 5, reset_duration: '1M', current_usage: 5, last_reset: '2025-05-20T00:00:00Z' }] },
      expect: { action: 'block', type: 'budget_exceeded', status: 402 } },
    { name: 'gateway report from a window that has ended is ignored', key: { budgets: [{ max_limit: 5, reset_duration: '1d', current_usage: 5, last_reset: '2025-05-20T00:00:00Z' }] },
      expect: { action: 'allow' } },
    { name: 'provider-config budget', key: { provider_configs: [pc('openai', ['*'], { budgets: [{ max_limit: 1, reset_duration: '1w' }] })] },
      input: { counters: counters([['openai', 'spend', '1w', 1]]) }, expect: { action: 'block', type: 'budget_exceeded', status: 402, message: /\$1\.00 budget per week on openai/ } },
    { name: 'rate limits are checked before budgets', key: { rate_limit: rl, budgets: [{ max_limit: 5, reset_duration: '1d' }] },
      input: { counters: counters([[undefined, 'requests', '1h', 10], [undefined, 'spend', '1d', 9]]) }, expect: { action: 'block', type: 'request_limited', status: 429 } },
    { name: 'a spent provider is skipped by load balancing',
      key: { provider_configs: [pc('openai', ['gpt-4o'], { budgets: [{ max_limit: 1, reset_duration: '1d' }] }), pc('azure', ['gpt-4o'])] },
      input: { counters: counters([['openai', 'spend', '1d', 2]]) }, expect: { action: 'allow', provider: 'azure', candidates: ['azure'] } },
    { name: 'every candidate spent: the route provider answers, and its budget refuses',
      key: { provider_configs: [pc('openai', ['gpt-4o'], { budgets: [{ max_limit: 1, reset_duration: '1d' }] })] },
      input: { counters: counters([['openai', 'spend', '1d', 2]]) }, expect: { action: 'block', type: 'budget_exceeded', status: 402 } },
  ];
  it.each(cases)('$name', check);

  it('the allowed route lists the windows to charge', () => {
    const decision = run({ name: '', key: { rate_limit: rl, budgets: [{ max_limit: 5, reset_duration: '1d' }] }, expect: { action: 'allow' } });
    expect(decision.action === 'allow' && decision.route.windows.map((w) => w.counterKey)).toEqual([
      'vk:vk-eng|requests|1h', 'vk:vk-eng|tokens|1d', 'vk:vk-eng|spend|1d|budget@1',
    ]);
  });
});

describe('apps, surfaces and fail mode inside the decision', () => {
  const catalog = (status: 'approved' | 'denied' | 'pending') => ({ apps: { catalog: [{ id: 'cursor', name: 'Cursor', status, match: { hosts: [], user_agents: ['Cursor/'], processes: [] } }] } });
  const cursorApp = (b: ReturnType<typeof bundle>) => appFor({ userAgent: 'Cursor/1.2.3 (darwin)' }, b);

  it.each([
    ['approved', 'allow'],
    ['denied', 'block'],
    ['pending', 'allow'],
  ] as const)('catalog %s → %s', (status, action) => {
    const b = bundle(catalog(status));
    const decision = decideRequest(decisionInput({ bundle: b, app: cursorApp(b) }));
    expect(decision.action).toBe(action);
    if (decision.action === 'block') expect(decision.error).toMatchObject({ type: 'app_blocked', status: 403, provider: 'openai', model: 'gpt-4o', message: expect.stringContaining('Cursor') });
    expect(decision.appSeen).toBe(status === 'pending');
  });

  it('pending apps are blocked when pending_action is block, and still reported as seen', () => {
    const b = bundle({ apps: { catalog: [], pending_action: 'block' } });
    const decision = decideRequest(decisionInput({ bundle: b, app: appFor({ userAgent: 'weird-tool/0.1' }, b) }));
    expect(decision).toMatchObject({ action: 'block', appSeen: true, error: { type: 'app_blocked', status: 403, message: expect.stringContaining('waiting for your admin') } });
  });

  it('the catalog entry routing overrides the bundle default', () => {
    const b = bundle({ apps: { catalog: [{ id: 'cursor', name: 'Cursor', status: 'approved', routing: 'passthrough', match: { hosts: [], user_agents: ['Cursor/'], processes: [] } }] } });
    expect(decideRequest(decisionInput({ bundle: b, app: cursorApp(b) }))).toMatchObject({ action: 'allow', route: { mode: 'passthrough' } });
  });

  it.each(['chatgpt-web', 'claude-web', 'copilot', 'cursor', 'custom'] as const)('%s is governed by the app catalog only (no key checks)', (provider) => {
    const b = bundle({}, { provider_configs: [] });
    const decision = decideRequest(decisionInput({ bundle: b, request: request({ provider, model: 'gpt-4o' }), signedIn: false }));
    expect(decision).toMatchObject({ action: 'allow', route: { mode: 'local', virtualKey: null, provider: null } });
  });

  it('a denied web app is blocked', () => {
    const b = bundle({ apps: { catalog: [{ id: 'chatgpt-web', name: 'ChatGPT (web)', status: 'denied', match: { hosts: ['chatgpt.com'], user_agents: [], processes: [] } }] } });
    const app = appFor({ host: 'chatgpt.com', userAgent: 'Mozilla/5.0 (Macintosh) AppleWebKit/537.36 Chrome/126.0 Safari/537.36' }, b);
    const decision = decideRequest(decisionInput({ bundle: b, app, request: request({ provider: 'chatgpt-web', model: 'auto' }) }));
    expect(decision).toMatchObject({ action: 'block', error: { type: 'app_blocked' } });
  });

  it('fail-closed with the gateway down refuses with gateway_unreachable 503', () => {
    const decision = decideRequest(decisionInput({ bundle: bundle({ fail_mode: 'closed' }), gatewayReachable: false }));
    expect(decision).toMatchObject({ action: 'block', error: { type: 'gateway_unreachable', status: 503 }, notice: { kind: 'fail_closed' } });
  });

  it('fail-open with the gateway down goes direct, and the key checks still apply', () => {
    const allowed = decideRequest(decisionInput({ gatewayReachable: false }));
    expect(allowed).toMatchObject({ action: 'allow', route: { mode: 'local' } });
    expect(allowed.reasons.join()).toMatch(/fail-open: the Bifrost gateway is unreachable/);
    expect(allowed).toMatchObject({ failOpen: expect.stringMatching(/^fail-open: the Bifrost gateway is unreachable/) });
    expect(decideRequest(decisionInput())).not.toHaveProperty('failOpen');
    const blocked = decideRequest(decisionInput({ bundle: bundle({}, { provider_configs: [pc('openai', ['gpt-4o-mini'])] }), gatewayReachable: false }));
    expect(blocked).toMatchObject({ action: 'block', error: { type: 'model_blocked' } });
  });

  it('a denied app is refused with its own reason even while fail-closed', () => {
    const b = bundle({ ...catalog('denied'), fail_mode: 'closed' });
    expect(decideRequest(decisionInput({ bundle: b, app: cursorApp(b), controlPlaneReachable: false }))).toMatchObject({ action: 'block', error: { type: 'app_blocked' } });
  });

  it('the block notice says who, what and why', () => {
    const decision = run({ name: '', key: { provider_configs: [pc('openai', ['gpt-4o-mini'])] }, expect: { action: 'block', type: 'model_blocked', status: 403 } });
    expect(decision).toMatchObject({
      action: 'block',
      error: { provider: 'openai', model: 'gpt-4o' },
      notice: { kind: 'blocked', who: { app: 'OpenAI SDK client' }, what: { provider: 'openai', model: 'gpt-4o', host: 'api.openai.com' }, why: { errorType: 'model_blocked' } },
    });
  });
});
