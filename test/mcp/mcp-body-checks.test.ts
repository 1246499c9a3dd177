import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_RPC_INVALID_REQUEST } from '../../src/providers/mcp-jsonrpc.js';
import type { HttpRequestInfo, ParseResult } from '../../src/providers/types.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { writeMcpPolicy } from './support.js';

/**
 * MCP bodies get the checks every inspected JSON body gets: a key twice in one object, and keys that differ only in
 * letter case (a Go MCP server matches `NAME` to its `name` field, the later key winning). A JSON-RPC message that
 * fails them is refused whether or not MCP's headers announce it; it is never taken for the host's other traffic.
 * JSON that holds no JSON-RPC message is still the host's own, and tool arguments keep whatever keys their users chose.
 */

const HOST = 'mcp.example.test';
const SECRET = 'ghp_R8cVq2LmZt7XwYb4NpKdHs9FjAe3Gu6Wx1Qo';
const ANNOUNCED = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
// A JSON-response server (the Python SDK's) needs no more than this.
const UNANNOUNCED = { 'content-type': 'application/json', accept: 'application/json' };

const resolver = createProviderResolver([HOST]);

function parseAt(text: string, headers: HttpRequestInfo['headers']): ParseResult {
  const resolution = resolver.resolve({ method: 'POST', host: HOST, path: '/mcp', headers });
  if (resolution.kind !== 'recognized') throw new Error('not recognised as MCP');
  return resolution.parse(Buffer.from(text));
}

/** Bodies a Go MCP server reads otherwise than Edge did before. */
const SMUGGLED = {
  'a tool name twice under letter case (a Go server runs NAME)': '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","NAME":"delete_repo","arguments":{}}}',
  'params twice (Go merges the arguments of the first into the second)': `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"${SECRET}"}},"params":{"name":"echo"}}`,
  'method twice (a first-key parser runs the tools/call)': '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo"},"method":"ping"}',
  'a key twice in the tool arguments': `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"${SECRET}","text":"hi"}}}`,
  'Params, not params': '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"},"Params":{"name":"delete_repo"}}',
};

describe('the MCP adapter refuses JSON-RPC that fails the key checks', () => {
  it.each(Object.entries(SMUGGLED).flatMap(([name, text]) => [
    [`${name}, MCP headers`, text, ANNOUNCED],
    [`${name}, no MCP headers`, text, UNANNOUNCED],
  ] as const))('%s: 400', (_name, text, headers) => {
    const parsed = parseAt(text, headers);
    expect(parsed).toMatchObject({ ok: false, error: { status: 400, type: 'invalid_request' } });
    if (!parsed.ok) expect(parsed.error.message).toMatch(/twice|regardless of letter case/);
    if (!parsed.ok) expect(parsed.error.message).not.toContain(SECRET);
  });

  it('a batch with such a message is refused too', () => {
    const batch = `[{"jsonrpc":"2.0","method":"notifications/initialized"},${SMUGGLED['a tool name twice under letter case (a Go server runs NAME)']}]`;
    expect(parseAt(batch, UNANNOUNCED)).toMatchObject({ ok: false, error: { status: 400 } });
  });

  it('tool arguments are a free-form map: keys differing only in case are read, each as its own text', () => {
    const parsed = parseAt(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { Name: 'a', name: 'b', Text: { Content: 'c', content: 'd' } } } }), UNANNOUNCED);
    expect(parsed).toMatchObject({ ok: true, request: { adapter: 'mcp', operation: 'tools/call', tools: [{ name: `${HOST}-echo` }] } });
    if (parsed.ok) expect(parsed.request.texts.map((t) => t.text)).toEqual(['Name', 'a', 'name', 'b', 'Text', 'Content', 'c', 'content', 'd']);
  });

  it('the SDK\'s own messages pass: initialize, a batch, prompts/get, completion/complete, a response', () => {
    for (const body of [
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: { roots: { listChanged: true }, sampling: {} }, clientInfo: { name: 'client', version: '1.0.0' } } },
      [{ jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }],
      { jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'review', arguments: { Language: 'go', language: 'rust' } } },
      { jsonrpc: '2.0', id: 3, method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'review' }, argument: { name: 'language', value: 'py' }, context: { arguments: { Lang: 'x', lang: 'y' } } } },
      { jsonrpc: '2.0', id: 'srv-1', result: { role: 'assistant', content: { type: 'text', text: 'hi' }, model: 'm', Model: 'n' } },
    ]) {
      expect(parseAt(JSON.stringify(body), UNANNOUNCED), JSON.stringify(body)).toMatchObject({ ok: true, request: { adapter: 'mcp', inspected: true } });
    }
  });

  it.each([
    ['all in capitals', '{"JSONRPC":"2.0","id":1,"METHOD":"tools/call","PARAMS":{"NAME":"delete_repo","ARGUMENTS":{}}}'],
    ['Method alone', '{"Method":"tools/call","params":{"name":"delete_repo"}}'],
    ['jsonrpc with a long s, U+017F', '{"j\u017fonrpc":"2.0","id":1,"params":{"name":"delete_repo"}}'],
    ['in a batch', '[{"x":1},{"JsonRpc":"2.0","id":1,"Method":"tools/call","Params":{"Name":"delete_repo"}}]'],
  ])('a message whose jsonrpc or method differs only in letter case (%s) is JSON-RPC to a Go server: refused, not passed', (_name, text) => {
    JSON.parse(text);
    const parsed = parseAt(text, UNANNOUNCED);
    expect(parsed).toMatchObject({ ok: false, error: { status: 400, type: 'invalid_request' } });
    if (!parsed.ok) expect(parsed.error.message).toMatch(/regardless of letter case/);
  });

  it('JSON that holds no JSON-RPC message is still the host\'s other traffic, whatever its keys', () => {
    for (const text of ['{"query":"weather","Query":"news"}', '{"a":1,"a":2}', '[{"Input":"x"}]']) {
      expect(parseAt(text, UNANNOUNCED), text).toMatchObject({ ok: true, request: { provider: 'custom', adapter: 'none', inspected: false } });
    }
  });
});

/**
 * A JSON-response MCP server on 127.0.0.1 (as the Python SDK's in JSON mode): it records every body it gets and
 * answers a tools/call with a result; other JSON with `{"ok":true}`.
 */
async function startRecordingServer(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      bodies.push(body);
      const message = JSON.parse(body) as { id?: number; method?: string };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(message.method === undefined ? { ok: true } : { jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: 'ran' }] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('through a real Edge: such a message never reaches the MCP server', () => {
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let edge: EdgeProcess;

  beforeAll(async () => {
    server = await startRecordingServer();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-keys-'));
    edge = await startEdgeProcess({
      dataDir,
      config: { mode: 'local', interceptHosts: [HOST], upstream: { originOverrides: { [HOST]: server.url } }, policyFile: writeMcpPolicy(dataDir, HOST, ['echo']) },
    });
  });
  afterAll(async () => {
    await edge?.stop();
    await server?.close();
  });

  async function post(text: string, headers: Record<string, string>) {
    server.bodies.length = 0;
    const res = await undiciFetch(`https://${HOST}/mcp`, { method: 'POST', dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem), headers, body: text });
    return { status: res.status, body: await res.text(), serverGot: [...server.bodies] };
  }

  it.each(Object.entries(SMUGGLED).flatMap(([name, text]) => [
    [`${name}, MCP headers`, text, ANNOUNCED],
    [`${name}, no MCP headers`, text, UNANNOUNCED],
  ] as const))('%s: a JSON-RPC error, the server never reached', async (_name, text, headers) => {
    const res = await post(text, headers);
    expect(res.serverGot).toEqual([]);
    expect(res.status, res.body).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: JSON_RPC_INVALID_REQUEST, message: expect.stringMatching(/twice|regardless of letter case/) as unknown } });
    expect(res.body).not.toContain(SECRET);
  });

  it('a tools/call spelled in capitals without MCP headers is refused, not passed as the host\'s traffic', async () => {
    const res = await post('{"JSONRPC":"2.0","id":1,"METHOD":"tools/call","PARAMS":{"NAME":"delete_repo","ARGUMENTS":{}}}', UNANNOUNCED);
    expect(res.serverGot).toEqual([]);
    expect(res.status, res.body).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: JSON_RPC_INVALID_REQUEST, message: expect.stringMatching(/regardless of letter case/) as unknown } });
  });

  it('an allowed call with Name and name among its arguments reaches the server as sent', async () => {
    const text = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { Name: 'a', name: 'b' } } });
    const res = await post(text, UNANNOUNCED);
    expect(res.status, res.body).toBe(200);
    expect(res.serverGot).toEqual([text]);
  });

  it('the host\'s other JSON, keys twice or not, goes through as before', async () => {
    const text = '{"query":"weather","Query":"news","a":1,"a":2}';
    const res = await post(text, UNANNOUNCED);
    expect(res).toMatchObject({ status: 200, serverGot: [text] });
  });
});
