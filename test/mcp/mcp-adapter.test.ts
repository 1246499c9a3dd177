import { describe, expect, it } from 'vitest';
import { edgeError } from '../../src/edge-error.js';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { mcpAdapter } from '../../src/providers/mcp.js';
import { EDGE_REFUSED, JSON_RPC_INTERNAL_ERROR, JSON_RPC_INVALID_REQUEST } from '../../src/providers/mcp-jsonrpc.js';
import type { HttpRequestInfo, NormalizedRequest } from '../../src/providers/types.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { errorBodyText } from '../support/error-body-text.js';

const HOST = 'mcp.example.test';
const resolver = createProviderResolver([HOST, 'api.openai.com']);

const MCP_POST = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

function info(method: string, path: string, headers: HttpRequestInfo['headers']): HttpRequestInfo {
  return { method, host: HOST, path, headers };
}

function summary(method: string, path: string, headers: HttpRequestInfo['headers']): string {
  const resolution = resolver.resolve(info(method, path, headers));
  if (resolution.kind === 'recognized') return `mcp:${resolution.inspected ? 'inspected' : 'uninspected'}`;
  return resolution.kind === 'unrecognized' ? `unrecognized:${resolution.passThrough ? 'pass' : 'reject'}` : resolution.kind;
}

/** Parses a body POSTed to the MCP endpoint the way the proxy does (bytes → JSON → adapter). */
function parse(body: unknown, headers: HttpRequestInfo['headers'] = MCP_POST): NormalizedRequest {
  const resolution = resolver.resolve(info('POST', '/mcp', headers));
  if (resolution.kind !== 'recognized') throw new Error('not recognised as MCP');
  const parsed = resolution.parse(Buffer.from(JSON.stringify(body)));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.request;
}

function parseError(body: unknown): string {
  const resolution = resolver.resolve(info('POST', '/mcp', MCP_POST));
  if (resolution.kind !== 'recognized') throw new Error('not recognised as MCP');
  const parsed = resolution.parse(Buffer.from(JSON.stringify(body)));
  if (parsed.ok) throw new Error('expected a parse error');
  expect(parsed.error).toMatchObject({ status: 400, type: 'invalid_request' });
  return parsed.error.message;
}

const call = (id: number | string, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('MCP over Streamable HTTP is recognised on intercepted hosts no other adapter knows', () => {
  it.each([
    ['POST', '/mcp', MCP_POST, 'mcp:inspected'],
    ['POST', '/any/path', { 'content-type': 'application/json; charset=utf-8', 'mcp-protocol-version': '2025-06-18' }, 'mcp:inspected'],
    ['POST', '/mcp', { 'content-type': 'application/json', 'mcp-session-id': 's-1' }, 'mcp:inspected'],
    ['GET', '/mcp', { accept: 'text/event-stream', 'mcp-session-id': 's-1' }, 'mcp:uninspected'],
    ['DELETE', '/mcp', { 'mcp-session-id': 's-1' }, 'mcp:uninspected'],
    // A JSON POST is read whatever its other headers: a server in JSON-response mode needs only Accept: application/json.
    ['POST', '/api', { 'content-type': 'application/json', accept: 'application/json' }, 'mcp:inspected'],
    ['POST', '/mcp', { 'content-type': 'Application/JSON-RPC' }, 'mcp:inspected'],
    ['POST', '/mcp', {}, 'mcp:inspected'],
    // Not MCP: a body no MCP server reads as JSON-RPC, or no MCP header on GET. The host's other traffic passes as before.
    ['POST', '/upload', { 'content-type': 'multipart/form-data; boundary=x', accept: 'application/json' }, 'unrecognized:pass'],
    ['GET', '/', { accept: 'text/html' }, 'unrecognized:pass'],
    // Unknown routes on an MCP host pass, but not a non-canonical one: upstream it would arrive as /admin.
    ['POST', '/mcp/../admin', MCP_POST, 'unrecognized:reject'],
  ])('%s %s %j → %s', (method, path, headers, expected) => {
    expect(summary(method, path, headers)).toBe(expected);
  });

  it('a JSON POST without MCP headers is MCP when it holds a JSON-RPC message; other JSON is the host\'s own traffic', () => {
    const plain = { 'content-type': 'application/json', accept: 'application/json' };
    expect(parse(call(1, 'delete_repo', { repo: 'prod' }), plain)).toMatchObject({ adapter: 'mcp', operation: 'tools/call', tools: [{ name: `${HOST}-delete_repo` }] });
    expect(parse([{ jsonrpc: '2.0', method: 'notifications/initialized' }, call(2, 'echo')], plain)).toMatchObject({ adapter: 'mcp', operation: 'batch' });
    expect(parse({ query: 'weather', id: 4 }, plain)).toMatchObject({ provider: 'custom', adapter: 'none', inspected: false, tools: [] });
    expect(parse([1, 'two'], plain)).toMatchObject({ adapter: 'none' });
    // A message that names a method but is not JSON-RPC 2.0 is refused, not passed: a lax server could run it.
    const resolution = resolver.resolve(info('POST', '/mcp', plain));
    const refused = (body: unknown) => (resolution.kind === 'recognized' ? resolution.parse(Buffer.from(JSON.stringify(body))) : undefined);
    expect(refused({ method: 'tools/call', params: { name: 'delete_repo' } })).toMatchObject({ ok: false, error: { status: 400 } });
    expect(refused([{ hello: 1 }, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_repo' } }])).toMatchObject({ ok: false, error: { status: 400 } });
  });

  it('a POST MCP\'s headers do not announce is read only when its body holds JSON-RPC: an empty or non-JSON body goes on unread', () => {
    const resolution = resolver.resolve(info('POST', '/api/logout', {}));
    if (resolution.kind !== 'recognized') throw new Error('not recognised');
    const notMcp = { ok: true, request: { provider: 'custom', adapter: 'none', inspected: false } };
    expect(resolution.parse(undefined)).toMatchObject(notMcp);
    expect(resolution.parse(Buffer.alloc(0))).toMatchObject(notMcp);
    expect(resolution.parse(Buffer.from('a=1&b=2'))).toMatchObject(notMcp);
    expect(resolution.parse(Buffer.from('{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "delete_repo"}}'))).toMatchObject({ ok: true, request: { adapter: 'mcp', operation: 'tools/call' } });
    // Python's parsers (the MCP Python SDK's pydantic from_json, json.loads) read NaN and Infinity: a
    // message with them is refused, not passed as "not JSON".
    for (const constant of ['NaN', 'Infinity', '-Infinity']) {
      const lenient = `{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "delete_repo", "arguments": {"n": ${constant}}}}`;
      expect(resolution.parse(Buffer.from(lenient))).toMatchObject({ ok: false, error: { status: 400, message: expect.stringMatching(/not valid JSON/) as unknown } });
    }
    // NaN inside a string, or non-JSON that happens to hold the word, is still the host's own traffic.
    expect(resolution.parse(Buffer.from('{"note": "NaN", "broken": }'))).toMatchObject(notMcp);
    expect(resolution.parse(Buffer.from('{"score": NaN, "method": "GET"'))).toMatchObject(notMcp);
    expect(resolution.parse(Buffer.from('{"score": NaN, "label": "x"}'))).toMatchObject(notMcp);
    // Announced MCP must still be readable JSON-RPC.
    const announced = resolver.resolve(info('POST', '/mcp', MCP_POST));
    if (announced.kind !== 'recognized') throw new Error('not recognised');
    expect(announced.parse(Buffer.alloc(0))).toMatchObject({ ok: false, error: { status: 400, message: expect.stringMatching(/is empty/) as unknown } });
    expect(announced.parse(Buffer.from('a=1&b=2'))).toMatchObject({ ok: false, error: { status: 400, message: expect.stringMatching(/not valid JSON/) as unknown } });
  });

  it('known AI hosts keep their own adapter', () => {
    const resolution = resolver.resolve({ method: 'POST', host: 'api.openai.com', path: '/v1/chat/completions', headers: MCP_POST });
    expect(resolution.kind).toBe('recognized');
    const parsed = resolution.kind === 'recognized' ? resolution.parse(Buffer.from(JSON.stringify({ model: 'gpt-4o', messages: [] }))) : undefined;
    expect(parsed).toMatchObject({ ok: true, request: { adapter: 'openai-compatible' } });
  });
});

describe('normalization', () => {
  it('a tools/call is an MCP call named clientName-toolName, the client being the host, with each argument string (and key) as a span', () => {
    const request = parse(call(7, 'create_issue', { title: 'Bug', body: { text: 'see log', labels: ['p1', 3, 'ui'] } }));
    expect(request).toMatchObject({ provider: 'mcp', adapter: 'mcp', operation: 'tools/call', model: null, stream: false, inspected: true });
    expect(request.tools).toEqual([{ name: `${HOST}-create_issue`, kind: 'call', path: ['params', 'name'], mcpClient: HOST }]);
    // A key's span points at the object holding it (nothing to redact in place there: see mcp-messages.ts).
    expect(request.texts).toEqual([
      { path: ['params', 'arguments'], text: 'title', kind: 'tool_arguments' },
      { path: ['params', 'arguments', 'title'], text: 'Bug', kind: 'tool_arguments' },
      { path: ['params', 'arguments'], text: 'body', kind: 'tool_arguments' },
      { path: ['params', 'arguments', 'body'], text: 'text', kind: 'tool_arguments' },
      { path: ['params', 'arguments', 'body', 'text'], text: 'see log', kind: 'tool_arguments' },
      { path: ['params', 'arguments', 'body'], text: 'labels', kind: 'tool_arguments' },
      { path: ['params', 'arguments', 'body', 'labels', 0], text: 'p1', kind: 'tool_arguments' },
      { path: ['params', 'arguments', 'body', 'labels', 2], text: 'ui', kind: 'tool_arguments' },
    ]);
  });

  it('the client name drops the port and case of the Host', () => {
    const resolution = resolver.resolve({ method: 'POST', host: 'MCP.Example.Test:443', path: '/mcp', headers: MCP_POST });
    const parsed = resolution.kind === 'recognized' ? resolution.parse(Buffer.from(JSON.stringify(call(1, 'echo')))) : undefined;
    expect(parsed).toMatchObject({ ok: true, request: { tools: [{ name: `${HOST}-echo`, mcpClient: HOST }] } });
  });

  it('a batch: operation "batch", paths start at the message index', () => {
    const request = parse([call(1, 'echo', { text: 'a' }), { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }, call(2, 'add', { x: 'b' })]);
    expect(request.operation).toBe('batch');
    expect(request.tools.map((t) => [t.name, t.path])).toEqual([[`${HOST}-echo`, [0, 'params', 'name']], [`${HOST}-add`, [2, 'params', 'name']]]);
    expect(request.texts.map((t) => [t.path, t.text])).toEqual([
      [[0, 'params', 'arguments'], 'text'], [[0, 'params', 'arguments', 'text'], 'a'],
      [[2, 'params', 'arguments'], 'x'], [[2, 'params', 'arguments', 'x'], 'b'],
    ]);
  });

  it('prompt arguments and completion values are text the server receives; other methods carry none', () => {
    expect(parse({ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'review', arguments: { code: 'x = 1' } } }).texts)
      .toEqual([{ path: ['params', 'arguments'], text: 'code', kind: 'input' }, { path: ['params', 'arguments', 'code'], text: 'x = 1', kind: 'input' }]);
    expect(parse({ jsonrpc: '2.0', id: 1, method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'r' }, argument: { name: 'lang', value: 'py' } } }).texts)
      .toEqual([{ path: ['params', 'argument', 'value'], text: 'py', kind: 'input' }]);
    expect(parse({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } } }))
      .toMatchObject({ operation: 'initialize', texts: [], tools: [] });
    expect(parse({ jsonrpc: '2.0', id: 4, result: { content: [] } }).operation).toBe('response');
  });

  it('a client that reads only SSE is marked streaming, so its refusal comes as an SSE event', () => {
    expect(parse(call(1, 'echo'), { 'content-type': 'application/json', accept: 'text/event-stream', 'mcp-protocol-version': '2025-06-18' }).stream).toBe(true);
  });

  it.each([
    [{ id: 1, method: 'tools/call', params: { name: 'x' } }, /jsonrpc must be "2\.0"/],
    [{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { arguments: {} } }, /params\.name is required/],
    [{ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: 'rm -rf' } }, /params\.arguments must be an object/],
    [{ jsonrpc: '2.0', id: { nested: true }, method: 'ping' }, /id must be a string or a number/],
    [{ jsonrpc: '2.0', id: 1 }, /neither a request \(method\) nor a response/],
    [[], /empty batch/],
    ['tools/call', /JSON-RPC 2\.0 message object/],
  ])('refuses %j: %s', (body, message) => {
    expect(parseError(body)).toMatch(message);
  });

  it('guardrails redact one argument in place and leave the JSON-RPC envelope alone', () => {
    const body = call('a-1', 'send_mail', { to: 'ada.lovelace@analytical-engines.co.uk', subject: 'hello' });
    const request = parse(body);
    const compiled = compileGuardrailPolicy({});
    if (!compiled.ok) throw new Error(compiled.errors.join('; '));
    const result = applyGuardrails(request.texts, body, compiled.policy);
    expect(result.decision).toBe('redact');
    expect(result.redactedBody).toEqual(call('a-1', 'send_mail', { to: '[REDACTED:email]', subject: 'hello' }));
  });
});

describe('refusals answer in JSON-RPC', () => {
  const blocked = edgeError(403, 'mcp_tool_blocked', "Your key 'eng' does not allow the MCP tool 'delete_repo' of 'mcp.example.test'.");

  it('a request is answered with an error carrying its id, HTTP 200, so SDKs raise their protocol error with the message', () => {
    const response = mcpAdapter.errorResponse(blocked, { stream: false, requestBody: call('req-9', 'delete_repo') });
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'x-bifrost-edge-blocked': 'mcp_tool_blocked' });
    expect(JSON.parse(errorBodyText(response))).toEqual({
      jsonrpc: '2.0', id: 'req-9',
      error: { code: EDGE_REFUSED, message: blocked.message, data: { type: 'mcp_tool_blocked', status: 403, source: 'bifrost-edge' } },
    });
  });

  it('a batch gets one error per request (notifications get none)', () => {
    const body = [call(1, 'a'), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 0 } }, call(2, 'b')];
    const response = mcpAdapter.errorResponse(blocked, { stream: false, requestBody: body });
    expect((JSON.parse(errorBodyText(response)) as Array<{ id: number }>).map((r) => r.id)).toEqual([1, 2]);
  });

  it('as SSE: one `message` event per response', () => {
    const response = mcpAdapter.errorResponse(blocked, { stream: true, requestBody: call(3, 'delete_repo') });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const match = /^event: message\ndata: (.*)\n\n$/.exec(errorBodyText(response));
    expect(JSON.parse(match![1]!)).toMatchObject({ id: 3, error: { message: blocked.message } });
  });

  it('nothing to answer (no body read, or only notifications): the HTTP status, and an error with a null id', () => {
    for (const requestBody of [undefined, { jsonrpc: '2.0', method: 'notifications/initialized' }]) {
      const response = mcpAdapter.errorResponse(blocked, { stream: false, requestBody });
      expect(response.status).toBe(403);
      expect(JSON.parse(errorBodyText(response))).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: EDGE_REFUSED, message: blocked.message } });
    }
  });

  it('codes: invalid input -32600, Edge failures -32603, refusals -32003', () => {
    const code = (status: number) => (JSON.parse(errorBodyText(mcpAdapter.errorResponse(edgeError(status, 't', 'm'), { stream: false, requestBody: call(1, 'x') }))) as { error: { code: number } }).error.code;
    expect([code(400), code(413), code(502), code(401), code(429), code(446)]).toEqual([JSON_RPC_INVALID_REQUEST, JSON_RPC_INVALID_REQUEST, JSON_RPC_INTERNAL_ERROR, EDGE_REFUSED, EDGE_REFUSED, EDGE_REFUSED]);
  });
});
