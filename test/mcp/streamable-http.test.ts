import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { auditRecords, writeMcpPolicy } from './support.js';

/**
 * A remote MCP server (the SDK's Streamable HTTP server on 127.0.0.1) reached by the SDK's own HTTP client
 * through Edge, as an app configured with HTTPS_PROXY would: the host is intercepted, its MCP traffic is
 * governed under the client name `mcp.example.test`.
 */

const HOST = 'mcp.example.test';
const EMAIL = 'ada.lovelace@analytical-engines.co.uk';

/**
 * Stateless Streamable HTTP (one server per request), recording every tool call it runs. It answers
 * POSTs with an SSE stream (the SDK's default), or with plain JSON under /mcp-json.
 */
async function startRemoteMcpServer(): Promise<{ url: string; calls: Array<{ tool: string; args: unknown }>; close(): Promise<void> }> {
  const calls: Array<{ tool: string; args: unknown }> = [];
  const build = () => {
    const server = new McpServer({ name: 'remote-tools', version: '1.0.0' });
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
    const server = build();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: (req.url ?? '').startsWith('/mcp-json') });
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
    close: () => new Promise((resolve) => {
      httpServer.closeAllConnections();
      httpServer.close(() => resolve());
    }),
  };
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
    const dispatcher = proxyDispatcher(edge.proxyUrl, edge.caPem);
    viaEdge = ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
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
});
