import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * Gateway mode: the Responses WebSocket written as an origin routes it but not as the plain path (a trailing slash,
 * a letter percent-encoded) goes where an HTTP POST to the same path goes, the gateway, with the virtual key, and its
 * messages are read. Before, where the socket went and whether it was read were decided each on its own, neither
 * as HTTP routes: these forms went to OpenAI with the app's key, and the encoded ones unread.
 */

const VIRTUAL_KEY = 'sk-bf-ws-path-forms-0001';
// Assembled at run time so the repository never holds a credential-shaped literal.
const APP_KEY = 'sk-' + 'proj-app-key-that-stays-on-the-laptop';
const GITHUB_TOKEN = 'ghp_' + 'R8cVq2LmZt7XwYb4NpKd' + 'Hs9FjAe3Gu6Wx1Qo';

let standin: BifrostStandin;
let origin: http.Server;
let edge: EdgeProcess;
/** The request targets of the upgrades the origin received. */
const originUpgrades: string[] = [];

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: VIRTUAL_KEY, name: 'ada' }] });
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => {
    originUpgrades.push(req.url ?? '');
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', () => ws.send(JSON.stringify({ type: 'response.completed', response: { id: 'resp_origin', output: [] } }))));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  edge = await startEdgeProcess({
    config: {
      gateway: { url: standin.url, virtualKey: VIRTUAL_KEY },
      identity: { user: 'ada@example.com', device: 'ada-laptop' },
      upstream: { originOverrides: { 'api.openai.com': `http://127.0.0.1:${(origin.address() as AddressInfo).port}` } },
    },
  });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

beforeEach(() => {
  standin.clear();
  originUpgrades.length = 0;
});

interface ServerEvent { type: string; status?: number; error?: { type?: string } }

/** A `ws` client on `url` through Edge (ws keeps a trailing slash and escapes as written), with the app's key. */
async function open(url: string) {
  const ws = await webSocketThroughEdge(edge, url, { headers: { authorization: `Bearer ${APP_KEY}` } });
  const events: ServerEvent[] = [];
  ws.on('message', (data) => events.push(JSON.parse(String(data)) as ServerEvent));
  await opened(ws);
  /** Sends a turn; resolves to the first event that ends it (completed or error). */
  const turn = async (input: string): Promise<ServerEvent> => {
    const before = events.length;
    ws.send(JSON.stringify({ type: 'response.create', model: 'gpt-4o-mini', input }));
    await expect.poll(() => events.slice(before).find((e) => e.type === 'response.completed' || e.type === 'error'), { timeout: 5000 }).toBeDefined();
    return events.slice(before).find((e) => e.type === 'response.completed' || e.type === 'error')!;
  };
  return { turn, close: () => ws.close() };
}

describe('gateway mode: the Responses WebSocket path in every form an origin routes as /v1/responses', () => {
  it.each([
    ['a trailing slash', '/v1/responses/'],
    ['a letter of the last segment percent-encoded', '/v1/respons%65s'],
    ['the first letter percent-encoded', '/v1/%72esponses'],
  ])('%s (%s): to the gateway\'s /openai/v1/responses with the virtual key, never the origin; its messages are read', async (_name, path) => {
    const socket = await open(`wss://api.openai.com${path}`);
    try {
      // A secret is refused with the API's error event and reaches nobody; a clean turn goes on to the gateway.
      expect(await socket.turn(`deploy with ${GITHUB_TOKEN}`)).toMatchObject({ type: 'error', status: 446, error: { type: 'guardrail_blocked' } });
      expect(await socket.turn('hello through the gateway')).toMatchObject({ type: 'response.completed' });
    } finally {
      socket.close();
    }
    expect(originUpgrades).toEqual([]);
    expect(standin.webSockets).toHaveLength(1);
    const gateway = standin.webSockets[0]!;
    expect(gateway.request.path).toBe('/openai/v1/responses');
    expect(gateway.request.headers['x-bf-vk']).toBe(VIRTUAL_KEY);
    expect(JSON.stringify(gateway.request.headers)).not.toContain(APP_KEY);
    expect(gateway.messages.map((m) => (JSON.parse(m) as { input: string }).input)).toEqual(['hello through the gateway']);
  });
});
