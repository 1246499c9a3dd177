import { describe, expect, it } from 'vitest';
import { MAX_BODY_LENGTH, noticeToNotification } from '../../src/tray/notifications.js';
import type { Notice } from '../../src/tray/agent-status.js';
import { noticeFixture } from './fixtures.js';

describe('noticeToNotification', () => {
  const cases: Array<{ name: string; notice: Partial<Notice>; title: string; body: RegExp }> = [
    {
      name: 'model blocked',
      notice: {},
      title: 'Blocked: gpt-4o is not allowed',
      body: /^Cursor: Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini, o3-mini\. Ask your admin, or pick an allowed model\.$/,
    },
    {
      name: 'provider blocked',
      notice: { what: { provider: 'anthropic', model: 'claude-haiku-4-5' }, why: { message: "Your key 'eng-team' does not allow anthropic; allowed providers: openai. Ask your admin, or use an allowed provider.", errorType: 'provider_blocked' } },
      title: 'Blocked: anthropic is not allowed',
      body: /allowed providers: openai/,
    },
    {
      name: 'rate limited, repeated',
      notice: { count: 4, why: { message: "Your key 'eng-team' reached its limit of 3 requests per hour; it resets in 41m.", errorType: 'request_limited' } },
      title: 'Blocked: rate limit reached (4 times)',
      body: /limit of 3 requests per hour/,
    },
    { name: 'budget exceeded', notice: { why: { message: 'Your monthly budget is spent.', errorType: 'budget_exceeded' } }, title: 'Blocked: budget used up', body: /budget is spent/ },
    { name: 'key switched off', notice: { why: { message: "Your virtual key 'eng-team' is switched off (inactive)…", errorType: 'virtual_key_blocked' } }, title: 'Blocked: your key is switched off', body: /switched off/ },
    { name: 'MCP tool', notice: { why: { message: 'The tool github-delete_repo is not allowed.', errorType: 'mcp_tool_blocked' } }, title: 'Blocked: MCP tool not allowed', body: /delete_repo/ },
    { name: 'app blocked', notice: { who: { app: 'ShadyGPT' }, why: { message: 'ShadyGPT is not approved.', errorType: 'app_blocked' } }, title: 'Blocked: app not allowed', body: /^ShadyGPT: ShadyGPT is not approved\.$/ },
    { name: 'unknown block type', notice: { why: { message: 'Refused.', errorType: 'something_new' } }, title: 'Blocked by your AI policy', body: /Refused\./ },
    { name: 'sign-in required', notice: { kind: 'sign_in_required', why: { message: 'You are not signed in to Bifrost Edge…', errorType: 'virtual_key_required' } }, title: 'Blocked: sign in to Bifrost Edge', body: /not signed in/ },
    { name: 'fail-closed', notice: { kind: 'fail_closed', why: { message: 'Bifrost Edge cannot reach your gateway…', errorType: 'gateway_unreachable' } }, title: 'AI requests stopped', body: /cannot reach/ },
    {
      name: 'fail-open (gateway): audit wording replaced by what it means',
      notice: { kind: 'fail_open', why: { message: "fail-open: the Bifrost gateway is unreachable; sent directly to the provider under this device's checks (policy v1)" } },
      title: 'Bifrost gateway unreachable',
      body: /go straight to the providers, still checked on this device/,
    },
    { name: 'fail-open (Edge Control)', notice: { kind: 'fail_open', why: { message: 'fail-open: Edge Control is unreachable; enforcing the last verified policy' } }, title: 'Edge Control unreachable', body: /keeps enforcing your last policy/ },
    { name: 'budget alert', notice: { kind: 'budget_alert', why: { message: "You have used 80% of key 'eng-team' monthly budget.", errorType: 'budget_80' } }, title: 'Budget 80% used', body: /80%/ },
    { name: 'app pending (its count is not news)', notice: { kind: 'app_pending', count: 5, who: { app: 'Raycast AI' }, why: { message: 'Raycast AI is not yet reviewed by your admin.' } }, title: 'Raycast AI is not yet reviewed', body: /reviewed/ },
    { name: 'shadow AI', notice: { kind: 'shadow_ai', who: {}, what: { host: 'api.example-ai.com' }, why: { message: 'api.example-ai.com is an AI service your policy does not cover.' } }, title: 'Unmanaged AI service: api.example-ai.com', body: /^api\.example-ai\.com is/ },
  ];

  it.each(cases)('$name', ({ notice, title, body }) => {
    const text = noticeToNotification(noticeFixture(notice));
    expect(text.title).toBe(title);
    expect(text.body).toMatch(body);
  });

  it('cuts long bodies at a word, with an ellipsis, within the limit', () => {
    const message = `Your key 'eng-team' does not allow gpt-4o on openai; allowed: ${Array.from({ length: 60 }, (_, i) => `model-${i}`).join(', ')}. Ask your admin.`;
    const { body } = noticeToNotification(noticeFixture({ why: { message, errorType: 'model_blocked' } }));
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_LENGTH);
    expect(body.endsWith('…')).toBe(true);
    expect(body).toMatch(/model-\d+…$/);
  });
});
