import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * The Responses WebSocket's `response.append` through a real Edge: it carries input items only (Codex sends `input`
 * and `client_metadata`), and runs on the model of the response.create before it. An append naming its own model,
 * instructions or tools closes the socket before anything of it reaches the origin: servers that implement append
 * build the turn from those fields, which Edge would otherwise relay unread, on a model it never checked.
 */

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;

/** An origin answering each message with `response.completed`; keeps the text of what it received. */
function startResponsesOrigin(received: string[]): http.Server {
  const wss = new WebSocketServer({ noServer: true });
  const origin = http.createServer();
  let responses = 0;
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data) => {
      received.push(String(data));
      const response = { id: `resp_${++responses}`, object: 'response', status: 'completed', output: [] };
      ws.send(JSON.stringify({ type: 'response.completed', sequence_number: 1, response }));
    });
  }));
  return origin;
}

type Outcome = { kind: 'event'; type: string; status?: number } | { kind: 'closed'; code: number; reason: string };

/** A raw `ws` client on wss://api.openai.com/v1/responses through Edge; `send` says how the message ended. */
async function openSocket(edge: EdgeProcess) {
  const ws = await webSocketThroughEdge(edge, 'wss://api.openai.com/v1/responses');
  const outcomes: Outcome[] = [];
  ws.on('message', (data) => {
    const event = JSON.parse(String(data)) as { type: string; status?: number };
    outcomes.push({ kind: 'event', type: event.type, ...(event.status !== undefined ? { status: event.status } : {}) });
  });
  ws.on('close', (code, reason) => outcomes.push({ kind: 'closed', code, reason: reason.toString() }));
  await opened(ws);
  const send = async (message: Record<string, unknown>): Promise<Outcome> => {
    const before = outcomes.length;
    ws.send(JSON.stringify(message));
    await expect.poll(() => outcomes.length, { timeout: 5000 }).toBeGreaterThan(before);
    return outcomes[before]!;
  };
  return { send, close: () => ws.close() };
}

describe('Responses WebSocket: a response.append carries input items only', () => {
  const received: string[] = [];
  let origin: http.Server;
  let edge: EdgeProcess;

  beforeAll(async () => {
    origin = startResponsesOrigin(received);
    edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-responses-append-', { allowedModels: ['gpt-5-mini'] });
  });

  afterAll(async () => {
    await edge?.stop();
    origin?.closeAllConnections();
    await new Promise((resolve) => origin?.close(resolve));
  });

  it('Codex\'s append (input, client_metadata) continues the turn', async () => {
    const socket = await openSocket(edge);
    expect(await socket.send({ type: 'response.create', model: 'gpt-5-mini', input: 'hi' })).toEqual({ kind: 'event', type: 'response.completed' });
    const append = { type: 'response.append', input: [{ type: 'message', role: 'user', content: 'go on' }], client_metadata: { turn: '2' } };
    expect(await socket.send(append)).toEqual({ kind: 'event', type: 'response.completed' });
    expect(JSON.parse(received.at(-1)!)).toEqual(append);
    socket.close();
  });

  it('an append naming another model, with a secret in its instructions and tools, closes the socket; the origin never sees it', async () => {
    const socket = await openSocket(edge);
    expect(await socket.send({ type: 'response.create', model: 'gpt-5-mini', input: 'hi' })).toEqual({ kind: 'event', type: 'response.completed' });
    const before = received.length;
    const outcome = await socket.send({
      type: 'response.append', model: 'o3-pro', instructions: `deploy with ${SECRET}`,
      tools: [{ type: 'function', name: 'f', description: SECRET }], input: [{ role: 'user', content: 'go' }],
    });
    expect(outcome).toEqual({ kind: 'closed', code: 1008, reason: "Bifrost Edge: the message's model is refused on a response.append; use response.create; it was not sent" });
    expect(received.length).toBe(before);
    expect(received.join('\n')).not.toContain(SECRET);
  });
});
