import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A JSON-RPC request a test MCP server gets: the fields the tests read. */
export interface McpRequest {
  id: unknown;
  method: string;
  params?: { protocolVersion?: string; name?: string; cursor?: string };
}

/** One POSTed request and what to answer it with. */
export interface McpExchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  /** Answers 200 with `body` as JSON, naming session `session`. */
  json(body: unknown, session: string): void;
}

export interface McpJsonServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A Streamable HTTP MCP server on 127.0.0.1, for the tests' own answers: it takes only POSTs (405 otherwise), reads
 * each one's JSON-RPC message, answers notifications 202, and hands every request to `answer`.
 */
export async function startMcpJsonServer(answer: (message: McpRequest, exchange: McpExchange) => void): Promise<McpJsonServer> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(405).end();
        return;
      }
      const message = JSON.parse(Buffer.concat(chunks).toString()) as Partial<McpRequest> & { method: string };
      if (message.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const json = (body: unknown, session: string) => res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': session }).end(JSON.stringify(body));
      answer({ ...message, id: message.id }, { req, res, json });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The answer to `initialize`: the client's protocol version, the server `name` with `capabilities`. */
export function initializeAnswer(message: McpRequest, name: string, capabilities: Record<string, unknown>): unknown {
  return { jsonrpc: '2.0', id: message.id, result: { protocolVersion: message.params?.protocolVersion, capabilities, serverInfo: { name, version: '1' } } };
}
