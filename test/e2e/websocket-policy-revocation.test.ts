import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import type { StandinVirtualKeyInput } from '../support/bifrost-standin.js';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { closeWithin, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * A Realtime session is decided once, at its opening; when the policy Edge Control pushes afterwards no longer allows
 * the session's key, Edge closes the live session (1008, saying why) and records the close as blocked. A pushed
 * policy that still allows the key leaves it open. Through a real Edge enrolled at a real Edge Control, whose keys
 * come from the Bifrost stand-in: the administrator changes the key at the gateway, Edge Control pushes the bundle.
 * The Realtime API has no Bifrost route, so the session goes to its origin, a local `ws` server that answers each
 * response.create with a small response.done.
 */

const KEY_VALUE = 'sk-bf-ws-revoke-0001';
const realtimeKey = (change: Partial<StandinVirtualKeyInput> = {}): StandinVirtualKeyInput => ({
  id: 'vk-ada', value: KEY_VALUE, name: 'ada', provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime'] }], ...change,
});

let fixture: ControlFixture;
let origin: http.Server;
let edge: EdgeProcess;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  fixture = await startControlFixture({ virtualKeys: [realtimeKey()] });
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data: RawData) => {
      if ((JSON.parse(String(data)) as { type?: string }).type !== 'response.create') return;
      ws.send(JSON.stringify({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } }));
    });
  }));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  edge = await startEdgeProcess({
    config: {
      gateway: { url: fixture.standin.url, virtualKey: KEY_VALUE },
      control: { url: fixture.server.url, enrollment: 'virtual_key' },
      upstream: { originOverrides: { 'api.openai.com': `http://127.0.0.1:${(origin.address() as AddressInfo).port}` } },
    },
  });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await edge?.stop();
  await fixture?.close();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

// A failure here is about timing between three processes: the agent's own log says what it saw.
afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`agent log:\n${edge?.stderr()}`);
});

/** How many bundles the agent has applied so far (its log says so for each). */
const bundlesApplied = () => edge.stderr().split('\n').filter((line) => line.includes('applying policy bundle')).length;

/** Changes the key at the gateway and waits until the agent applied the bundle Edge Control pushes for it. */
async function changeKeyAtGateway(change: Partial<StandinVirtualKeyInput> | null): Promise<void> {
  const before = bundlesApplied();
  fixture.standin.setVirtualKeys(change === null ? [] : [realtimeKey(change)]);
  await waitFor(() => bundlesApplied() > before, 10_000, 'the agent to apply the pushed bundle');
}

/** A Realtime session through Edge, once the agent holds a bundle and the session is open. */
async function openRealtimeSession(): Promise<WebSocket> {
  await waitFor(() => bundlesApplied() > 0, 10_000, 'the first bundle');
  const ws = await webSocketThroughEdge(edge, 'wss://api.openai.com/v1/realtime?model=gpt-realtime');
  sockets.push(ws);
  await opened(ws);
  return ws;
}

/** Whether the session still answers: a response.create gets its response.done. */
async function answers(ws: WebSocket): Promise<boolean> {
  const answer = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 3000);
    ws.once('message', (data: RawData) => {
      clearTimeout(timer);
      resolve((JSON.parse(String(data)) as { type?: string }).type === 'response.done');
    });
  });
  ws.send(JSON.stringify({ type: 'response.create' }));
  return answer;
}

it('a pushed policy that still allows the key leaves the session open; one that stops allowing its model closes it, recorded', async () => {
  const ws = await openRealtimeSession();
  expect(await answers(ws)).toBe(true);

  await changeKeyAtGateway({ provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime', 'gpt-realtime-mini'] }] });
  expect(await closeWithin(ws, 500)).toBe('still open');
  expect(await answers(ws)).toBe(true);

  // Listened for before the change: the close may come before the agent's log line does.
  const closed = closeWithin(ws, 15_000);
  await changeKeyAtGateway({ provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime-mini'] }] });
  expect(await closed).toMatchObject({ code: 1008, reason: expect.stringContaining("key 'ada' no longer allows gpt-realtime") });
  const [record] = await auditRecordsOnceThere<{ decision: string; status?: number; reason?: string; model?: string }>(edge.dataDir, (r) => r.decision === 'blocked' && r.reason === 'model_blocked');
  expect(record).toMatchObject({ decision: 'blocked', status: 403, reason: 'model_blocked', model: 'gpt-realtime' });
});

it('a session whose key is switched off at the gateway is closed when the policy arrives, recorded', async () => {
  await changeKeyAtGateway({});
  const ws = await openRealtimeSession();
  expect(await answers(ws)).toBe(true);
  const closed = closeWithin(ws, 15_000);
  await changeKeyAtGateway({ is_active: false });
  expect(await closed).toMatchObject({ code: 1008, reason: expect.stringContaining("key 'ada' was switched off") });
  await auditRecordsOnceThere<{ decision: string; reason?: string }>(edge.dataDir, (r) => r.decision === 'blocked' && r.reason === 'virtual_key_blocked');
});
