import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type RawData } from 'ws';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';
import { closedPort } from '../support/ports.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/** Real requests through the real CLI, then a scrape of its /metrics: the counts say what happened. */

/** Built from parts so secret scanners do not flag this file. */
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';
let provider: http.Server;
let edge: EdgeProcess;
let metricsUrl: string;

beforeAll(async () => {
  provider = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","choices":[]}'));
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  const metricsPort = await closedPort();
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  edge = await startEdgeProcess({
    config: {
      metrics: { port: metricsPort },
      upstream: { originOverrides: { 'api.openai.com': `http://127.0.0.1:${(provider.address() as AddressInfo).port}` } },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  provider?.closeAllConnections();
  provider?.close();
});

const chat = (content: string) => curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
  '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] })]);

describe('metrics of requests through the proxy', () => {
  it('an allowed request counts as decision="allowed", a blocked one as "blocked", none as "other"', async () => {
    expect((await chat('hello')).status).toBe(200);
    // A secret in the prompt: the default guardrails block it.
    expect((await chat(`my token is ${GITHUB_TOKEN}`)).status).toBe(446);
    const text = await (await fetch(metricsUrl)).text();
    const requests = text.split('\n').filter((line) => line.startsWith('bifrost_edge_requests_total{'));
    expect(requests).toContainEqual(expect.stringMatching(/provider="openai",model="gpt-4o",decision="allowed",app="curl"\} 1$/));
    expect(requests).toContainEqual(expect.stringMatching(/decision="blocked".*\} 1$/));
    expect(requests.filter((line) => line.includes('decision="other"'))).toEqual([]);
  });
});

/** A Responses WebSocket origin: each response.create is answered with a response that reports its usage. */
function startResponsesOrigin(): http.Server {
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    let responses = 0;
    ws.on('message', (data: RawData) => {
      const message = JSON.parse(String(data)) as Record<string, unknown>;
      const response = { id: `resp_${++responses}`, object: 'response', model: message['model'] ?? null, output: [] };
      ws.send(JSON.stringify({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', usage: null } }));
      ws.send(JSON.stringify({ type: 'response.completed', sequence_number: 1, response: { ...response, status: 'completed', usage: { input_tokens: 70, output_tokens: 50, total_tokens: 120 } } }));
    });
  }));
  return origin;
}

describe('metrics of a WebSocket whose server reports usage', () => {
  it('the socket and each turn count as requests; the usage records written beside them do not', async () => {
    const origin = startResponsesOrigin();
    const agent = await startEdgeBeforeRealtimeOrigin(origin, 'edge-metrics-ws-', { allowedModels: ['gpt-5-mini'] });
    try {
      const metricsUrl = /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(agent.stderr())?.[1];
      expect(metricsUrl, agent.stderr()).toBeDefined();
      const ws = await webSocketThroughEdge(agent, 'wss://api.openai.com/v1/responses');
      const completed: unknown[] = [];
      ws.on('message', (data: Buffer) => {
        if ((JSON.parse(String(data)) as { type?: string }).type === 'response.completed') completed.push(data);
      });
      await opened(ws);
      const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] }];
      for (const turn of [1, 2]) {
        ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input }));
        while (completed.length < turn) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      ws.close();

      // The opening, two turns and the two usages they reported: five records, three requests.
      const records = await auditRecordsOnceThere<{ path: string; usage?: unknown }>(agent.dataDir, (r) => r.path === '/v1/responses', 5);
      expect(records.filter((r) => r.usage !== undefined)).toHaveLength(2);
      const text = await (await fetch(metricsUrl!)).text();
      const requests = text.split('\n').filter((line) => line.startsWith('bifrost_edge_requests_total{'));
      expect(requests).toContainEqual(expect.stringMatching(/provider="openai",model="gpt-5-mini",decision="allowed",app="[^"]*"\} 2$/));
      expect(requests).toContainEqual(expect.stringMatching(/provider="openai",model="none",decision="allowed",app="[^"]*"\} 1$/));
      expect(text).toMatch(/^bifrost_edge_request_duration_seconds_count\{provider="openai",decision="allowed"\} 3$/m);
    } finally {
      await agent.stop();
      origin.closeAllConnections();
      origin.close();
    }
  });
});
