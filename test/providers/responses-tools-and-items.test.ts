import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseRequest, recognizeRequest } from '../../src/providers/registry.js';
import type { NormalizedRequest } from '../../src/providers/types.js';
import { readClientMessage } from '../../src/proxy/websocket-messages.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req } from './support.js';

/**
 * The Responses reader (POST /v1/responses, and each response.create of its WebSocket mode) reads every tool and
 * input item type of the official SDK (6.49) that puts client text in front of the model: namespace tools and the
 * tools inside them, a client tool search's description, an MCP server's description, tools added by an
 * `additional_tools` item or returned in a `tool_search_output`, a program's result. A tool or item type it does
 * not know has every string read, so what the API adds next is not let through unread.
 */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;

function readResponses(body: Record<string, unknown>): NormalizedRequest {
  const recognized = recognizeRequest(req('POST', 'api.openai.com', '/v1/responses', { 'content-type': 'application/json' }), catalog);
  if (recognized === undefined || 'unrecognized' in recognized) throw new Error('POST /v1/responses not recognised');
  const request = expectParsed(parseRequest(recognized, JSON.stringify({ model: 'gpt-5-mini', ...body })));
  expectPathsPointAtStrings({ model: 'gpt-5-mini', ...body }, request);
  return request;
}

/** [path, kind] of every span holding the secret. */
const secretSpans = (request: { texts: NormalizedRequest['texts'] }) =>
  request.texts.filter((span) => span.text.includes(SECRET)).map((span) => [span.path.join('.'), span.kind]);

const fn = (name: string, description: string) => ({ type: 'function', name, description, parameters: { type: 'object', properties: {} } });

describe('Responses tools', () => {
  it.each<[string, unknown[], Array<[string, string]>]>([
    ['a namespace\'s description and its tools', [{ type: 'namespace', name: 'crm', description: `CRM, key ${SECRET}`, tools: [fn('find', SECRET), { type: 'custom', name: 'sql', description: SECRET }] }],
      [['tools.0.description', 'tool_definition'], ['tools.0.tools.0.description', 'tool_definition'], ['tools.0.tools.1.description', 'tool_definition']]],
    ['a client tool search\'s description and parameters', [{ type: 'tool_search', execution: 'client', description: SECRET, parameters: { type: 'object', properties: { q: { type: 'string', description: SECRET } } } }],
      [['tools.0.description', 'tool_definition'], ['tools.0.parameters.properties.q.description', 'tool_definition']]],
    ['an MCP server\'s description', [{ type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example', server_description: SECRET }],
      [['tools.0.server_description', 'tool_definition']]],
    ['a function\'s output schema', [{ ...fn('f', 'finds'), output_schema: { type: 'object', properties: { id: { type: 'string', description: SECRET } } } }],
      [['tools.0.output_schema.properties.id.description', 'tool_definition']]],
    ['a tool type Edge does not know: every string but its type', [{ type: 'crystal_ball', name: 'oracle', prompt: SECRET, options: { hint: SECRET } }],
      [['tools.0.prompt', 'tool_definition'], ['tools.0.options.hint', 'tool_definition']]],
    ['a namespace inside a namespace: read as a tool Edge does not know', [{ type: 'namespace', name: 'a', description: 'outer', tools: [{ type: 'namespace', name: 'b', description: SECRET, tools: [fn('f', SECRET)] }] }],
      [['tools.0.tools.0.description', 'tool_definition'], ['tools.0.tools.0.tools.0.description', 'tool_definition']]],
  ])('%s', (_name, tools, spans) => {
    expect(secretSpans(readResponses({ input: 'hi', tools }))).toEqual(spans);
  });

  it('the tools inside a namespace are named as definitions', () => {
    const request = readResponses({ input: 'hi', tools: [{ type: 'namespace', name: 'crm', description: 'CRM', tools: [fn('find', 'finds'), fn('update', 'updates')] }] });
    expect(request.tools).toEqual([
      { name: 'find', kind: 'definition', path: ['tools', 0, 'tools', 0, 'name'] },
      { name: 'update', kind: 'definition', path: ['tools', 0, 'tools', 1, 'name'] },
    ]);
  });

  it('hosted tools carry no text: an MCP server\'s token and headers are not read', () => {
    const request = readResponses({
      input: 'hi',
      tools: [
        { type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example', authorization: SECRET, headers: { 'x-key': SECRET } },
        { type: 'web_search', user_location: { type: 'approximate', city: 'Paris' } }, { type: 'file_search', vector_store_ids: ['vs_1'] },
        { type: 'code_interpreter', container: { type: 'auto' } }, { type: 'image_generation' }, { type: 'shell' }, { type: 'apply_patch' },
      ],
    });
    expect(request.texts.map((span) => span.path.join('.'))).toEqual(['input']);
  });
});

describe('the fields read here, in another letter case (a Go gateway reads them as the field), are refused', () => {
  it.each<[string, Record<string, unknown>]>([
    ['an MCP server\'s Server_Description', { input: 'hi', tools: [{ type: 'mcp', server_label: 'x', Server_Description: SECRET }] }],
    ['a function\'s Output_Schema', { input: 'hi', tools: [{ ...fn('f', 'finds'), Output_Schema: { description: SECRET } }] }],
    ['a listed MCP tool\'s Input_Schema', { input: [{ type: 'mcp_list_tools', id: 'l', server_label: 'x', tools: [{ name: 'f', Input_Schema: { description: SECRET } }] }] }],
    ['an approval\'s Reason', { input: [{ type: 'mcp_approval_response', approval_request_id: 'a', approve: false, Reason: SECRET }] }],
  ])('%s', (_name, body) => {
    const recognized = recognizeRequest(req('POST', 'api.openai.com', '/v1/responses', { 'content-type': 'application/json' }), catalog);
    if (recognized === undefined || 'unrecognized' in recognized) throw new Error('POST /v1/responses not recognised');
    expect(expectFailed(parseRequest(recognized, JSON.stringify({ model: 'gpt-5-mini', ...body })))).toMatchObject({ status: 400, message: expect.stringMatching(/letter case/) as string });
  });
});

describe('Responses input items', () => {
  it.each<[string, unknown[], Array<[string, string]>]>([
    ['additional_tools: the tools it adds', [{ type: 'additional_tools', role: 'developer', tools: [fn('f', SECRET), { type: 'namespace', name: 'n', description: SECRET, tools: [] }] }],
      [['input.0.tools.0.description', 'tool_definition'], ['input.0.tools.1.description', 'tool_definition']]],
    ['tool_search_output: the tools a client\'s search returned', [{ type: 'tool_search_output', call_id: 'c', execution: 'client', tools: [fn('f', SECRET)] }],
      [['input.0.tools.0.description', 'tool_definition']]],
    ['program_output: its result', [{ type: 'program_output', id: 'p', call_id: 'c', status: 'completed', result: SECRET }],
      [['input.0.result', 'tool_result']]],
    ['tool_search_call: its arguments', [{ type: 'tool_search_call', call_id: 'c', arguments: { query: SECRET } }],
      [['input.0.arguments.query', 'tool_arguments']]],
    ['mcp_approval_response: the reason the user gave', [{ type: 'mcp_approval_response', approval_request_id: 'a', approve: false, reason: SECRET }],
      [['input.0.reason', 'user']]],
    ['mcp_list_tools: the listed tools\' descriptions and schemas', [{ type: 'mcp_list_tools', id: 'l', server_label: 'docs', tools: [{ name: 'f', description: SECRET, input_schema: { properties: { q: { description: SECRET } } } }] }],
      [['input.0.tools.0.description', 'tool_definition'], ['input.0.tools.0.input_schema.properties.q.description', 'tool_definition']]],
    ['an item type Edge does not know: every string but its type, id, call_id and status', [{ type: 'hologram', id: 'h_1', call_id: 'c', status: 'completed', payload: { note: SECRET } }],
      [['input.0.payload.note', 'other']]],
    ['an unknown *_output item: read as a tool result, also when its output is not a string', [{ type: 'telepathy_call_output', call_id: 'c', output: [{ text: SECRET }] }],
      [['input.0.output.0.text', 'tool_result']]],
    ['local_shell_call_output and apply_patch_call_output: their output', [{ type: 'local_shell_call_output', id: 'l', output: SECRET }, { type: 'apply_patch_call_output', call_id: 'c', status: 'completed', output: SECRET }],
      [['input.0.output', 'tool_result'], ['input.1.output', 'tool_result']]],
  ])('%s', (_name, input, spans) => {
    expect(secretSpans(readResponses({ input }))).toEqual(spans);
  });

  it('opaque fields are not read: ids, status, encrypted content, signatures, images', () => {
    const request = readResponses({
      input: [
        { type: 'reasoning', id: 'rs_1', status: 'completed', summary: [], encrypted_content: SECRET },
        { type: 'item_reference', id: 'msg_1' }, { type: 'compaction', id: 'cmp_1', encrypted_content: SECRET }, { type: 'compaction_trigger' },
        { type: 'program', id: 'p', call_id: 'c', code: 'print(1)', fingerprint: SECRET },
        { type: 'image_generation_call', id: 'ig_1', status: 'completed', result: 'iVBORw0KGgo' },
        { type: 'computer_call_output', call_id: 'c', output: { type: 'computer_screenshot', image_url: `data:image/png;base64,${SECRET}`, file_id: 'file_1' } },
        { role: 'user', content: [{ type: 'input_image', image_url: `data:image/png;base64,${SECRET}` }, { type: 'input_text', text: 'hi' }] },
      ],
    });
    expect(request.texts.map((span) => span.path.join('.'))).toEqual(['input.4.code', 'input.6.output.type', 'input.7.content.1.text']);
  });
});

describe('model output and calls replayed as context: the client writes every field, so each is read', () => {
  it.each<[string, unknown[], Array<[string, string]>]>([
    ['a reasoning summary and reasoning text, as the assistant\'s', [{ type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: SECRET }], content: [{ type: 'reasoning_text', text: SECRET }], encrypted_content: 'gAAAA' }],
      [['input.0.summary.0.text', 'assistant'], ['input.0.content.0.text', 'assistant']]],
    ['an assistant message\'s refusal part', [{ type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'refusal', refusal: SECRET }] }],
      [['input.0.content.0.refusal', 'assistant']]],
    ['a message part of type reasoning_text', [{ role: 'user', content: [{ type: 'reasoning_text', text: SECRET }] }],
      [['input.0.content.0.text', 'user']]],
    ['a content part type Edge does not know: every string but its type', [{ role: 'user', content: [{ type: 'input_hologram', caption: SECRET, meta: { note: SECRET } }] }],
      [['input.0.content.0.caption', 'user'], ['input.0.content.0.meta.note', 'user']]],
    ['local_shell_call: its command and environment', [{ type: 'local_shell_call', id: 'l', call_id: 'c', status: 'completed', action: { type: 'exec', command: ['echo', SECRET], env: { TOKEN: SECRET } } }],
      [['input.0.action.command.1', 'tool_arguments'], ['input.0.action.env.TOKEN', 'tool_arguments']]],
    ['shell_call: its commands', [{ type: 'shell_call', call_id: 'c', action: { commands: [`export T=${SECRET}`] } }],
      [['input.0.action.commands.0', 'tool_arguments']]],
    ['apply_patch_call: its diff', [{ type: 'apply_patch_call', call_id: 'c', status: 'completed', operation: { type: 'create_file', path: 'a.env', diff: `+T=${SECRET}` } }],
      [['input.0.operation.diff', 'tool_arguments']]],
    ['computer_call: the text it types, a safety check\'s message', [{ type: 'computer_call', id: 'cu', call_id: 'c', status: 'completed', pending_safety_checks: [{ id: 's', message: SECRET }], action: { type: 'type', text: SECRET } }],
      [['input.0.pending_safety_checks.0.message', 'tool_arguments'], ['input.0.action.text', 'tool_arguments']]],
    ['code_interpreter_call: its code, and its logs as a tool result', [{ type: 'code_interpreter_call', id: 'ci', status: 'completed', container_id: 'cnt', code: `print("${SECRET}")`, outputs: [{ type: 'logs', logs: SECRET }] }],
      [['input.0.code', 'tool_arguments'], ['input.0.outputs.0.logs', 'tool_result']]],
    ['web_search_call: its query', [{ type: 'web_search_call', id: 'ws', status: 'completed', action: { type: 'search', query: SECRET } }],
      [['input.0.action.query', 'tool_arguments']]],
    ['file_search_call: its queries, and its results as a tool result', [{ type: 'file_search_call', id: 'fs', status: 'completed', queries: [SECRET], results: [{ file_id: 'f', filename: 'a.txt', text: SECRET }] }],
      [['input.0.queries.0', 'tool_arguments'], ['input.0.results.0.text', 'tool_result']]],
    ['program: its code', [{ type: 'program', id: 'p', call_id: 'c', code: SECRET, fingerprint: 'fp' }],
      [['input.0.code', 'tool_arguments']]],
    ['item_reference and compaction carrying more than their id and encrypted content', [{ type: 'item_reference', id: 'msg_1', content: SECRET }, { type: 'compaction', encrypted_content: 'gAAAA', summary: SECRET }],
      [['input.0.content', 'other'], ['input.1.summary', 'other']]],
  ])('%s', (_name, input, spans) => {
    expect(secretSpans(readResponses({ input: [...input, { role: 'user', content: 'hi' }] }))).toEqual(spans);
  });

  it('a hosted tool\'s keys beyond its settings are read like an unknown tool\'s; a shell tool\'s skills too', () => {
    const request = readResponses({
      input: 'hi',
      tools: [
        { type: 'web_search', description: SECRET, user_location: { type: 'approximate', city: 'Paris' } },
        { type: 'shell', environment: { type: 'local', skills: [{ name: 'deploy', description: SECRET, path: '/skills/deploy' }] } },
      ],
    });
    expect(secretSpans(request)).toEqual([['tools.0.description', 'tool_definition'], ['tools.1.environment.skills.0.description', 'tool_definition']]);
  });
});

describe('the WebSocket mode reads them the same way', () => {
  it('a namespace tool in a response.create', () => {
    const tools = [{ type: 'namespace', name: 'crm', description: `ns ${SECRET}`, tools: [fn('f', SECRET)] }];
    const message = readClientMessage('openai-responses', Buffer.from(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'hi', tools })), false, 1 << 20);
    if (message.kind !== 'json') throw new Error(`not read: ${JSON.stringify(message)}`);
    expect(secretSpans(message)).toEqual([['tools.0.description', 'tool_definition'], ['tools.0.tools.0.description', 'tool_definition']]);
  });
});
