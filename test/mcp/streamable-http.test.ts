import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { auditRecords, fetchThroughEdge, writeMcpPolicy } from './support.js';

/**
 * A remote MCP server (the SDK's Streamable HTTP server on 127.0.0.1) reached by the SDK's own HTTP client
 * through Edge, as an app configured with HTTPS_PROXY would: the host is intercepted, its MCP traffic is
 * governed under the client name `mcp.example.test`.
 */

const HOST = 'mcp.example.test';
const EMAIL = 'ada.lovelace@analytical-engines.co.uk';

/** A tool whose description alone is larger than the Edge started with a small read limit reads. */
const BIG_TOOL_DESCRIPTION = 'Reads everything. '.repeat(2000);

/**
 * Stateless Streamable HTTP (one server per request), recording every tool call it runs and the
 * Accept-Encoding of every POST. It answers POSTs with an SSE stream (the SDK's default), or with plain
 * JSON under /mcp-json, or with gzipped JSON whatever the client accepts under /mcp-gzip (a server
 * behind a careless CDN). Under /mcp-big it also offers a tool with a very long description. Under
 * /python-json it answers as the Python SDK's server does in JSON-response mode (see below).
 */
async function startRemoteMcpServer(): Promise<{ url: string; calls: Array<{ tool: string; args: unknown }>; acceptEncodings: string[]; close(): Promise<void> }> {
  const calls: Array<{ tool: string; args: unknown }> = [];
  const acceptEncodings: string[] = [];
  const build = (url: string) => {
    const server = new McpServer({ name: 'remote-tools', version: '1.0.0' });
    if (url.startsWith('/mcp-big')) server.registerTool('read_everything', { description: BIG_TOOL_DESCRIPTION }, async () => ({ content: [] }));
    server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => {
      calls.push({ tool: 'echo', args: { text } });
      return { content: [{ type: 'text', text }] };
    });
    server.registerTool('delete_repo', { inputSchema: { repo: z.string() } }, async ({ repo }) => {
      calls.push({ tool: 'delete_repo', args: { repo } });
      return { content: [{ type: 'text', text: `deleted ${repo}` }] };
    });
    return server;
  };
  const httpServer = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/python-json')) return answerLikePythonJsonMode(req, res, calls);
    if (req.method === 'POST') acceptEncodings.push(String(req.headers['accept-encoding'] ?? ''));
    if (url.startsWith('/mcp-gzip')) gzipEveryAnswer(res);
    const server = build(url);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: url.startsWith('/mcp-json') || url.startsWith('/mcp-gzip') });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server.connect(transport).then(() => transport.handleRequest(req, res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
    calls,
    acceptEncodings,
    close: () => new Promise((resolve) => {
      httpServer.closeAllConnections();
      httpServer.close(() => resolve());
    }),
  };
}

/**
 * The Python SDK's Streamable HTTP server with `stateless_http=True, json_response=True`: it needs only
 * `Accept: application/json` (no event stream, no MCP header) and runs the tool calls it reads. Any other
 * JSON (not JSON-RPC) gets `{"ok":true}`, as another API on the same host would answer.
 */
function answerLikePythonJsonMode(req: http.IncomingMessage, res: http.ServerResponse, calls: Array<{ tool: string; args: unknown }>): void {
  let body = '';
  req.on('data', (d: Buffer) => { body += d.toString(); });
  req.on('end', () => {
    if (!String(req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(406).end();
      return;
    }
    const message = JSON.parse(body) as { id?: number; method?: string; params?: { name: string; arguments?: unknown } };
    const answer = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (message.method === undefined) return answer({ ok: true });
    if (message.method === 'tools/call') calls.push({ tool: message.params!.name, args: message.params!.arguments });
    answer({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text: `ran ${message.params?.name}` }] } });
  });
}

/** Makes `res` send its body gzipped, whatever the request accepted: head and writes are held until end(). */
function gzipEveryAnswer(res: http.ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: http.OutgoingHttpHeaders) => http.ServerResponse;
  const end = res.end.bind(res) as (body?: Buffer) => http.ServerResponse;
  const chunks: Buffer[] = [];
  let status = 200;
  let headers: http.OutgoingHttpHeaders = {};
  const hold = (chunk: unknown) => {
    if (typeof chunk === 'string' || chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  res.writeHead = ((code: number, head?: http.OutgoingHttpHeaders | http.OutgoingHttpHeader[]) => {
    status = code;
    if (head && !Array.isArray(head)) headers = head;
    return res;
  }) as typeof res.writeHead;
  res.flushHeaders = () => {};
  res.write = ((chunk: unknown) => {
    hold(chunk);
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    hold(chunk);
    const gzipped = zlib.gzipSync(Buffer.concat(chunks));
    for (const name of ['content-length', 'transfer-encoding']) res.removeHeader(name);
    const { 'content-length': _length, 'Content-Length': _Length, ...rest } = headers;
    writeHead(status, { ...rest, 'content-encoding': 'gzip', 'content-length': gzipped.length });
    return end(gzipped);
  }) as typeof res.end;
}

describe('MCP over Streamable HTTP through the proxy', () => {
  let remote: Awaited<ReturnType<typeof startRemoteMcpServer>>;
  let dataDir: string;
  let edge: EdgeProcess;
  let client: Client;
  let viaEdge: typeof fetch;

  beforeAll(async () => {
    remote = await startRemoteMcpServer();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-http-'));
    edge = await startEdgeProcess({
      dataDir,
      config: {
        mode: 'local',
        interceptHosts: [HOST],
        upstream: { originOverrides: { [HOST]: remote.url } },
        policyFile: writeMcpPolicy(dataDir, HOST, ['echo']),
      },
    });
    viaEdge = fetchThroughEdge(edge);
    client = new Client({ name: 'remote-mcp-client', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`https://${HOST}/mcp`), { fetch: viaEdge }));
  });
  afterAll(async () => {
    await client?.close();
    await edge?.stop();
    await remote?.close();
  });

  it('tool lists show only the tools the key lets the user run, whether the server answers in SSE or JSON', async () => {
    // The server itself offers both tools.
    const direct = new Client({ name: 'direct-client', version: '1.0.0' });
    await direct.connect(new StreamableHTTPClientTransport(new URL(`${remote.url}/mcp`)));
    expect((await direct.listTools()).tools.map((t) => t.name).sort()).toEqual(['delete_repo', 'echo']);
    await direct.close();

    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    const jsonClient = new Client({ name: 'json-client', version: '1.0.0' });
    await jsonClient.connect(new StreamableHTTPClientTransport(new URL(`https://${HOST}/mcp-json`), { fetch: viaEdge }));
    try {
      const listed = await jsonClient.listTools();
      expect(listed.tools.map((t) => t.name)).toEqual(['echo']);
      // What is kept is the server's own description, untouched.
      expect(listed.tools[0]!.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });
    } finally {
      await jsonClient.close();
    }
  });

  it('a tool list is asked for plain; one gzipped anyway is still filtered', async () => {
    const gzipClient = new Client({ name: 'gzip-client', version: '1.0.0' });
    await gzipClient.connect(new StreamableHTTPClientTransport(new URL(`https://${HOST}/mcp-gzip`), { fetch: viaEdge }));
    try {
      remote.acceptEncodings.length = 0;
      expect((await gzipClient.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
      // The SDK's fetch offers gzip; Edge asked this server for an uncompressed list instead.
      expect(remote.acceptEncodings).toEqual(['identity']);
      const called = await gzipClient.callTool({ name: 'echo', arguments: { text: 'zipped' } });
      expect((called as { content: Array<{ text: string }> }).content[0]!.text).toBe('zipped');
      expect(remote.acceptEncodings[1]).toMatch(/gzip/);
    } finally {
      await gzipClient.close();
    }
  });

  it('a tool list larger than Edge reads is withheld with an MCP error that says why, not passed unfiltered', async () => {
    const smallEdge = await startEdgeProcess({
      dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'edge-mcp-http-small-')),
      config: {
        mode: 'local',
        interceptHosts: [HOST],
        upstream: { originOverrides: { [HOST]: remote.url } },
        policyFile: writeMcpPolicy(dataDir, HOST, ['echo']),
        proxy: { maxRequestBodyBytes: 16 * 1024 },
      },
    });
    const viaSmallEdge = fetchThroughEdge(smallEdge);
    try {
      for (const route of ['/mcp-big', '/mcp-big-json']) {
        const bigClient = new Client({ name: 'big-client', version: '1.0.0' });
        await bigClient.connect(new StreamableHTTPClientTransport(new URL(`https://${HOST}${route}`), { fetch: viaSmallEdge }));
        try {
          const error = await bigClient.listTools().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(McpError);
          expect((error as McpError).message).toMatch(/Bifrost Edge withheld the tool list from mcp\.example\.test: .*larger than the 16\.0 KiB Edge reads/);
        } finally {
          await bigClient.close();
        }
      }
    } finally {
      await smallEdge.stop();
    }
  });

  it('an allowed call goes through to the server and back', async () => {
    const result = await client.callTool({ name: 'echo', arguments: { text: 'through the proxy' } });
    expect((result as { content: Array<{ text: string }> }).content[0]!.text).toBe('through the proxy');
    expect(remote.calls).toContainEqual({ tool: 'echo', args: { text: 'through the proxy' } });
  });

  it('a denied call surfaces in the SDK client as an MCP error with Edge\'s message; the server never runs it', async () => {
    const error = await client.callTool({ name: 'delete_repo', arguments: { repo: 'acme/prod' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32003);
    expect((error as McpError).message).toMatch(/Your key 'eng-team' does not allow the MCP tool 'delete_repo' of 'mcp\.example\.test'; allowed tools there: echo/);
    expect(remote.calls.map((c) => c.tool)).not.toContain('delete_repo');
  });

  it('guardrails redact personal data in the arguments before the server sees them', async () => {
    const result = await client.callTool({ name: 'echo', arguments: { text: `write to ${EMAIL}` } });
    expect((result as { content: Array<{ text: string }> }).content[0]!.text).toBe('write to [REDACTED:email]');
    expect(JSON.stringify(remote.calls)).not.toContain(EMAIL);
  });

  it('the calls are audited as MCP traffic, and the server is reported as seen', async () => {
    const records = (await auditRecords(dataDir)).filter((r) => r['host'] === HOST && r['method'] === 'POST');
    expect(records.every((r) => r['provider'] === 'mcp')).toBe(true);
    expect(records.map((r) => [r['decision'], r['reason'] ?? null])).toEqual(expect.arrayContaining([
      ['allowed', null], ['blocked', 'mcp_tool_blocked'], ['redacted', null],
    ]));
    const status = await (await fetch(new URL('/status.json', edge.proxyUrl))).json() as { mcpServers: unknown[] };
    expect(status.mcpServers).toContainEqual(expect.objectContaining({ name: HOST, transport: 'http', target: `https://${HOST}/mcp` }));
  });
  it('a tools/call without MCP\'s headers (Accept: application/json only, as a JSON-response server allows) is decided like any other', async () => {
    const post = (body: unknown) => undiciFetch(`https://${HOST}/python-json`, {
      method: 'POST',
      dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem),
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));
    const denied = await post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'delete_repo', arguments: { repo: 'acme/prod' } } });
    expect(denied).toMatchObject({ status: 200, body: { id: 1, error: { code: -32003, message: expect.stringMatching(/does not allow the MCP tool 'delete_repo'/) as unknown } } });
    expect(remote.calls.map((c) => c.tool)).not.toContain('delete_repo');
    const allowed = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'plain json' } } });
    expect(allowed).toMatchObject({ status: 200, body: { id: 2, result: { content: [{ text: 'ran echo' }] } } });
    // JSON that is not JSON-RPC is the host's other traffic: it still goes through.
    expect(await post({ query: 'weather' })).toEqual({ status: 200, body: { ok: true } });
  });
});
