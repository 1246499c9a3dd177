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
 * Through a real Edge enrolled at a real Edge Control: a policy the admin publishes that denies the app of a live
 * Realtime session closes it (1008, recorded as app_blocked), and the per-minute price the admin sets for whisper-1 in
 * duration_pricing is what a session's input transcriptions are charged. The Realtime API has no Bifrost route, so the
 * session goes to its origin, a local `ws` server: a response.create gets a response.done, and a session.update that
 * turns on input transcription gets one transcription of ten minutes, reported by its length as whisper-1 reports it.
 */

const KEY_VALUE = 'sk-bf-ws-app-0001';
const KEY: StandinVirtualKeyInput = {
  id: 'vk-ada', value: KEY_VALUE, name: 'ada', provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime', 'whisper-1'] }],
};
const USER_AGENT = 'OpenAI/JS 6.1.0';
const SDK_ENTRY = (status: string) => ({ id: 'openai-sdk', name: 'OpenAI SDK client', status, match: { hosts: [], user_agents: [], processes: [] } });

let fixture: ControlFixture;
let origin: http.Server;
let edge: EdgeProcess;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  fixture = await startControlFixture({ virtualKeys: [KEY] });
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data: RawData) => {
      const type = (JSON.parse(String(data)) as { type?: string }).type;
      if (type === 'response.create') {
        ws.send(JSON.stringify({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } }));
      } else if (type === 'session.update') {
        ws.send(JSON.stringify({
          type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', content_index: 0, transcript: 'hello',
          usage: { type: 'duration', seconds: 600 },
        }));
      }
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

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`agent log:\n${edge?.stderr()}`);
});

const bundlesApplied = () => edge.stderr().split('\n').filter((line) => line.includes('applying policy bundle')).length;

/** Publishes `template` as the admin's policy and waits until the agent applied the bundle Edge Control pushes for it. */
async function publish(template: Record<string, unknown>): Promise<void> {
  await waitFor(() => bundlesApplied() > 0, 10_000, 'the first bundle');
  const before = bundlesApplied();
  const put = await fixture.admin('PUT', '/api/edge/v1/admin/policy', template);
  expect(put.status).toBe(200);
  await waitFor(() => bundlesApplied() > before, 10_000, 'the agent to apply the published bundle');
}

async function openRealtimeSession(): Promise<WebSocket> {
  await waitFor(() => bundlesApplied() > 0, 10_000, 'the first bundle');
  const ws = await webSocketThroughEdge(edge, 'wss://api.openai.com/v1/realtime?model=gpt-realtime', { headers: { 'user-agent': USER_AGENT } });
  sockets.push(ws);
  await opened(ws);
  return ws;
}

/** The next message the session gets, parsed (3 s at most). */
function nextMessage(ws: WebSocket): Promise<{ type?: string } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 3000);
    ws.once('message', (data: RawData) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)) as { type?: string });
    });
  });
}

it('a whisper-1 transcription is charged the per-minute price the admin published', async () => {
  await publish({ apps: { catalog: [SDK_ENTRY('approved')] }, duration_pricing: { 'openai/whisper-1': { usd_per_minute: 0.01 } } });
  const ws = await openRealtimeSession();
  const transcribed = nextMessage(ws);
  ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } }));
  expect(await transcribed).toMatchObject({ type: 'conversation.item.input_audio_transcription.completed' });
  // Ten minutes at the bundle's $0.01, not the built-in $0.006.
  const [record] = await auditRecordsOnceThere<{ model?: string; cost_usd?: number }>(edge.dataDir, (r) => r.model === 'whisper-1' && r.cost_usd !== undefined);
  expect(record!.cost_usd).toBeCloseTo(0.1, 9);
  ws.close();
});

it('a published policy that denies the session\'s app closes it, recorded', async () => {
  const ws = await openRealtimeSession();
  const answered = nextMessage(ws);
  ws.send(JSON.stringify({ type: 'response.create' }));
  expect(await answered).toMatchObject({ type: 'response.done' });
  const closed = closeWithin(ws, 15_000);
  await publish({ apps: { catalog: [SDK_ENTRY('denied')] } });
  expect(await closed).toMatchObject({ code: 1008, reason: expect.stringContaining('your organization no longer allows OpenAI SDK client') });
  await auditRecordsOnceThere<{ decision: string; reason?: string }>(edge.dataDir, (r) => r.decision === 'blocked' && r.reason === 'app_blocked');
});
