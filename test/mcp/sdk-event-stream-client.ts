import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createToolListFilter, type ToolListFilterOptions } from '../../src/mcp/tool-list-filter.js';

/**
 * How a real MCP client reads what Edge's event-stream filter sends: a Streamable HTTP server on loopback answers the
 * official SDK client's `tools/list` with an event stream (`chunks`, written one by one) through createToolListFilter,
 * and the client's SSE reader (TextDecoder, eventsource-parser) decides what the list is, or which error answers it.
 */
export async function listToolsThroughFilter(
  chunks: (listId: number) => Array<string | Buffer>, options: Omit<ToolListFilterOptions, 'listIds' | 'request'>,
): Promise<{ tools?: string[]; error?: string }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') return res.writeHead(405).end();
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => {
      const message = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
      if (message.id === undefined) return res.writeHead(202).end();
      if (message.method === 'initialize') {
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          jsonrpc: '2.0', id: message.id, result: { protocolVersion: message.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'fixture', version: '1.0.0' } },
        }));
      }
      const head = { statusCode: 200, headers: { 'content-type': 'text/event-stream' } };
      const filter = createToolListFilter(head, { ...options, listIds: [message.id], request: message });
      if (filter === undefined) throw new Error('the filter should read this stream');
      res.writeHead(200, head.headers);
      filter.pipe(res);
      for (const chunk of chunks(message.id)) filter.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      filter.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new Client({ name: 'sse-reader-test', version: '1.0.0' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`)));
    try {
      // The guard only ends a test that regressed (a client waiting forever); it asserts nothing about speed.
      const result = await client.listTools(undefined, { timeout: 10_000 });
      return { tools: result.tools.map((tool) => tool.name) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
