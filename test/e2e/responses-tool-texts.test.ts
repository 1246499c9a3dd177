import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';

/**
 * POST /v1/responses through a real Edge (gateway mode, default guardrails: secrets block): a secret in any tool or
 * input item type of the official SDK that the model reads (a namespace tool, a client tool search, an MCP server's
 * description, tools added by an `additional_tools` item or returned by a tool search, a program's result; model output
 * and calls replayed as context: a reasoning summary, a refusal, a shell call's commands, a patch) is blocked with 446
 * naming where, and never reaches the gateway; so is one in a tool type Edge does not know yet, or a hosted tool's
 * key beyond its settings.
 */

const KEY = 'sk-bf-responses-tool-texts';
// Assembled at run time so the repository never holds a credential-shaped literal.
const AWS_KEY = 'AKIA' + 'QYLPMN5HXZ7WT3RB';

let standin: BifrostStandin;
let edge: EdgeProcess;

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
  edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: KEY } } });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
});

const fn = (description: string) => ({ type: 'function', name: 'deploy', description, parameters: { type: 'object', properties: {} } });

describe('Responses tool and item types through the proxy', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['a namespace tool\'s description', { input: 'hi', tools: [{ type: 'namespace', name: 'ops', description: `uses ${AWS_KEY}`, tools: [fn('Deploys')] }] }, 'tools[0].description'],
    ['a function inside a namespace', { input: 'hi', tools: [{ type: 'namespace', name: 'ops', description: 'Ops tools', tools: [fn(`uses ${AWS_KEY}`)] }] }, 'tools[0].tools[0].description'],
    ['a client tool search\'s description', { input: 'hi', tools: [{ type: 'tool_search', execution: 'client', description: `uses ${AWS_KEY}` }] }, 'tools[0].description'],
    ['an MCP server\'s description', { input: 'hi', tools: [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example', server_description: `uses ${AWS_KEY}` }] }, 'tools[0].server_description'],
    ['an additional_tools item', { input: [{ type: 'additional_tools', role: 'developer', tools: [fn(`uses ${AWS_KEY}`)] }, { role: 'user', content: 'hi' }] }, 'input[0].tools[0].description'],
    ['a tool_search_output item', { input: [{ type: 'tool_search_output', call_id: 'c', execution: 'client', tools: [fn(`uses ${AWS_KEY}`)] }] }, 'input[0].tools[0].description'],
    ['a program_output item', { input: [{ type: 'program_output', id: 'p', call_id: 'c', status: 'completed', result: `key ${AWS_KEY}` }] }, 'input[0].result'],
    ['a tool type Edge does not know', { input: 'hi', tools: [{ type: 'crystal_ball', note: `uses ${AWS_KEY}` }] }, 'tools[0].note'],
    ['a reasoning summary replayed as context', { input: [{ type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: `key ${AWS_KEY}` }] }, { role: 'user', content: 'hi' }] }, 'input[0].summary[0].text'],
    ['an assistant message\'s refusal part', { input: [{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: `key ${AWS_KEY}` }] }, { role: 'user', content: 'hi' }] }, 'input[0].content[0].refusal'],
    ['a shell_call\'s commands', { input: [{ type: 'shell_call', call_id: 'c', action: { commands: [`export K=${AWS_KEY}`] } }] }, 'input[0].action.commands[0]'],
    ['an apply_patch_call\'s diff', { input: [{ type: 'apply_patch_call', call_id: 'c', status: 'completed', operation: { type: 'create_file', path: 'a.env', diff: `+K=${AWS_KEY}` } }] }, 'input[0].operation.diff'],
    ['a hosted tool\'s description', { input: 'hi', tools: [{ type: 'web_search', description: `uses ${AWS_KEY}` }] }, 'tools[0].description'],
  ])('a secret in %s is blocked with 446 naming where, and never forwarded', async (_name, body, location) => {
    standin.clear();
    const result = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/responses', '-H', 'content-type: application/json',
      '-H', 'authorization: Bearer sk-proj-app', '-d', JSON.stringify({ model: 'gpt-4o', ...body })]);
    expect(result.status).toBe(446);
    expect(result.body).toContain(`in ${location}`);
    expect(result.body).not.toContain(AWS_KEY);
    expect(standin.received.some((r) => r.path.includes('/responses'))).toBe(false);
  });

  it('a body nested 60 000 levels deep in an item is refused with a 400 within seconds, and never forwarded', async () => {
    standin.clear();
    const nested = `${'['.repeat(60_000)}"key ${AWS_KEY}"${']'.repeat(60_000)}`;
    const started = Date.now();
    const result = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/responses', '-H', 'content-type: application/json',
      '-H', 'authorization: Bearer sk-proj-app', '--data-binary', `{"model":"gpt-4o","input":[{"type":"zzz_new_item","data":${nested}}]}`]);
    expect(result.status).toBe(400);
    expect(result.body).toContain('input[0].data holds arrays or objects nested more than 128 levels deep');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(standin.received.some((r) => r.path.includes('/responses'))).toBe(false);
  });

  it('hosted tools and an MCP server\'s credentials go through unread', async () => {
    standin.clear();
    const tools = [{ type: 'mcp', server_label: 'x', server_url: 'https://mcp.example', authorization: AWS_KEY }, { type: 'web_search' }];
    const result = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/responses', '-H', 'content-type: application/json',
      '-H', 'authorization: Bearer sk-proj-app', '-d', JSON.stringify({ model: 'gpt-4o', input: 'hi', tools })]);
    expect(result.status).toBe(200);
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/responses');
    expect((seen.json as { tools: unknown }).tools).toEqual(tools);
  });
});
