import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';

/**
 * A Responses turn counts against the key's request limit, and is recorded as forwarded, only once it was handed to
 * an open upstream. Here content safety (the gateway's moderation route, a local server that answers when the test
 * lets it) is still deciding a turn when its client leaves, which closes the upstream: the turn is never sent, so it
 * is recorded as not sent (client_aborted), is charged nothing, and gives its place back: the key's limit (one
 * request) still lets the next turn through.
 */

let origin: http.Server;
let moderation: http.Server;
let edge: EdgeProcess;
/** What the origin received, and how many of its sockets closed. */
const received: string[] = [];
let originClosed = 0;
/** Moderation requests waiting for the test to let them be answered; `held`: new ones wait too. */
const waiting: Array<() => void> = [];
let held = true;

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  let responses = 0;
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('close', () => originClosed++);
    ws.on('message', (data) => {
      received.push(String(data));
      ws.send(JSON.stringify({ type: 'response.completed', sequence_number: 1, response: { id: `resp_${++responses}`, object: 'response', status: 'completed', output: [] } }));
    });
  }));
  moderation = http.createServer((req, res) => {
    req.resume();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'modr-1', model: 'omni-moderation-latest', results: [{ flagged: false, categories: {}, category_scores: { violence: 0.01 } }] }));
    };
    if (held) waiting.push(answer);
    else answer();
  });
  await new Promise<void>((resolve) => moderation.listen(0, '127.0.0.1', resolve));
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-turn-not-sent-', {
    allowedModels: ['gpt-5-mini'],
    rateLimit: { request_max_limit: 1, request_reset_duration: '1h' },
    defaultMode: 'local',
    config: {
      gateway: { url: `http://127.0.0.1:${(moderation.address() as AddressInfo).port}` },
      guardrails: { contentSafety: { model: 'omni-moderation-latest' } },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
  moderation?.closeAllConnections();
  await new Promise((resolve) => moderation?.close(resolve));
});

async function openResponsesSocket(): Promise<{ ws: WebSocket; events: Array<{ type: string; status?: number }> }> {
  const ws = await webSocketThroughEdge(edge, 'wss://api.openai.com/v1/responses');
  const events: Array<{ type: string; status?: number }> = [];
  ws.on('message', (data) => events.push(JSON.parse(String(data)) as { type: string; status?: number }));
  await opened(ws);
  return { ws, events };
}

interface Activity { path: string; model?: string | null; decision: string; status?: number; errorType?: string; estimatedUsage?: unknown }

async function turnRecords(): Promise<Activity[]> {
  const activity = await (await fetch(`${edge.proxyUrl}/activity.json`)).json() as Activity[];
  return activity.filter((a) => a.path === '/v1/responses' && a.model === 'gpt-5-mini').reverse();
}

describe('a Responses turn whose socket closed while it was decided', () => {
  it('is recorded as not sent, charged nothing, and gives its place in the key\'s request limit back', async () => {
    const first = await openResponsesSocket();
    first.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'summarise the meeting notes' }));
    await expect.poll(() => waiting.length, { timeout: 5000 }).toBe(1);
    // The client leaves while content safety decides; Edge closes the upstream with it.
    first.ws.close();
    await expect.poll(() => originClosed, { timeout: 5000 }).toBe(1);
    held = false;
    waiting.splice(0).forEach((answer) => answer());

    await expect.poll(async () => (await turnRecords()).length, { timeout: 5000 }).toBeGreaterThan(0);
    // A moment for a record or charge that would come late.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const records = await turnRecords();
    expect(records.map(({ decision, errorType, estimatedUsage }) => ({ decision, errorType, estimatedUsage }))).toEqual([
      { decision: 'failed', errorType: 'client_aborted', estimatedUsage: undefined },
    ]);
    expect(received).toEqual([]);

    // The limit is one request: the turn never sent did not use it.
    const second = await openResponsesSocket();
    second.ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-5-mini', input: 'and the action items' }));
    await expect.poll(() => second.events.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(second.events[0]).toMatchObject({ type: 'response.completed' });
    expect(received).toHaveLength(1);
    second.ws.close();
  });
});
