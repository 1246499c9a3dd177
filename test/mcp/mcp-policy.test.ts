import { describe, expect, it } from 'vitest';
import { decideRequest } from '../../src/policy/decide.js';
import { counterKey } from '../../src/policy/limits.js';
import { allowedMcpTools } from '../../src/policy/mcp-tools.js';
import { normalizeMcpBody } from '../../src/providers/mcp-messages.js';
import { appFor, bundle, decisionInput, NOW, request, vk } from '../policy/support.js';

/** MCP protocol traffic is decided by the key's mcp_configs only: Bifrost's semantics for MCP clients. */

const mcpConfigs = [
  { mcp_client_name: 'github', tools_to_execute: ['list_issues', 'create_issue'] },
  { mcp_client_name: 'my-fs', tools_to_execute: ['*'] },
  { mcp_client: { name: 'jira' }, tools_to_execute: [] },
];
const toolCall = (client: string, tool: string) => normalizeMcpBody({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: {} } }, client, { stream: false });

function decide(client: string, tool: string, key: Parameters<typeof bundle>[1] = {}) {
  const b = bundle({}, { mcp_configs: mcpConfigs, ...key });
  return decideRequest(decisionInput({ bundle: b, app: appFor({ host: 'stdio' }, b), request: toolCall(client, tool) }));
}

describe('MCP tool calls (adapter mcp, provider mcp)', () => {
  it.each([
    ['github', 'list_issues', 'allow', undefined],
    ['github', 'delete_repo', 'block', /does not allow the MCP tool 'delete_repo' of 'github'; allowed tools there: list_issues, create_issue/],
    ['my-fs', 'read_file', 'allow', undefined],
    // The client is known from where the call went, so a name with dashes is never split wrongly.
    ['my-fs', 'x-y', 'allow', undefined],
    ['jira', 'create_ticket', 'block', /allowed tools there: none/],
    ['slack-bot', 'post', 'block', /does not enable the MCP server 'slack-bot', so its tool 'post' was not run/],
  ])('%s / %s → %s', (client, tool, action, message) => {
    const decision = decide(client, tool);
    expect(decision.action).toBe(action);
    if (decision.action === 'block') {
      expect(decision.error).toMatchObject({ status: 403, type: 'mcp_tool_blocked' });
      expect(decision.error.message).toMatch(message!);
      expect(decision.notice.why.errorType).toBe('mcp_tool_blocked');
    }
  });

  it('provider configs, model lists and rate limits do not apply: an allowed call goes to the MCP server with no key attached', () => {
    const b = bundle({}, { mcp_configs: mcpConfigs, provider_configs: [], rate_limit: { request_max_limit: 1, request_reset_duration: '1h' } });
    const spent = new Map([[counterKey('vk-eng', undefined, 'requests', '1h'), { value: 5, windowStartMs: NOW.getTime() - 60_000 }]]);
    const decision = decideRequest(decisionInput({ bundle: b, counters: spent, request: toolCall('github', 'create_issue') }));
    expect(decision).toMatchObject({ action: 'allow', route: { mode: 'local', virtualKey: null, provider: null, model: null, windows: [] } });
  });

  it('the key itself still matters: an inactive key refuses MCP calls too', () => {
    expect(decide('github', 'list_issues', { is_active: false })).toMatchObject({ action: 'block', error: { type: 'virtual_key_blocked' } });
  });

  it('before any policy, MCP calls are not restricted', () => {
    expect(decideRequest(decisionInput({ bundle: undefined, request: toolCall('github', 'delete_repo') }))).toMatchObject({ action: 'allow', route: { mode: 'local' } });
  });

  it('other hosts without an API shape stay governed by the app catalog alone', () => {
    expect(decideRequest(decisionInput({ request: request({ provider: 'custom', adapter: 'custom', model: null }) }))).toMatchObject({ action: 'allow', route: { virtualKey: null, provider: null } });
  });
});

describe('allowedMcpTools: what a tools/list may offer', () => {
  const key = vk({ mcp_configs: mcpConfigs });
  it.each([
    ['github', ['list_issues', 'delete_repo', 'create_issue'], ['list_issues', 'create_issue']],
    ['my-fs', ['read', 'write'], ['read', 'write']],
    ['jira', ['create_ticket'], []],
    ['unknown', ['anything'], []],
  ])('%s: %j → %j', (client, tools, expected) => {
    expect(allowedMcpTools(key, client, tools)).toEqual(expected);
  });

  it('a tool may also be listed by its gateway name (client-tool)', () => {
    expect(allowedMcpTools(vk({ mcp_configs: [{ mcp_client_name: 'gh', tools_to_execute: ['gh-search'] }] }), 'gh', ['search', 'other'])).toEqual(['search']);
  });
});
