import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { waitFor } from '../control/support/control-fixture.js';
import type { StandinVirtualKeyInput } from '../support/bifrost-standin.js';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { nextMessage, startEnrolledRealtimeEdge, type EnrolledRealtimeEdge } from '../support/enrolled-realtime-edge.js';
import { closeWithin } from '../support/websocket-through-edge.js';

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

let agent: EnrolledRealtimeEdge;

beforeAll(async () => {
  agent = await startEnrolledRealtimeEdge({
    keyValue: KEY_VALUE,
    virtualKeys: [KEY],
    answer: (ws, type) => {
      if (type === 'response.create') {
        ws.send(JSON.stringify({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } }));
      } else if (type === 'session.update') {
        ws.send(JSON.stringify({
          type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', content_index: 0, transcript: 'hello',
          usage: { type: 'duration', seconds: 600 },
        }));
      }
    },
  });
});

afterAll(() => agent?.close());

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`agent log:\n${agent?.edge.stderr()}`);
});

/** Publishes `template` as the admin's policy and waits until the agent applied the bundle Edge Control pushes for it. */
async function publish(template: Record<string, unknown>): Promise<void> {
  await waitFor(() => agent.bundlesApplied() > 0, 10_000, 'the first bundle');
  const before = agent.bundlesApplied();
  const put = await agent.fixture.admin('PUT', '/api/edge/v1/admin/policy', template);
  expect(put.status).toBe(200);
  await waitFor(() => agent.bundlesApplied() > before, 10_000, 'the agent to apply the published bundle');
}

const openRealtimeSession = (): Promise<WebSocket> => agent.openRealtimeSession({ 'user-agent': USER_AGENT });

it('a whisper-1 transcription is charged the per-minute price the admin published', async () => {
  await publish({ apps: { catalog: [SDK_ENTRY('approved')] }, duration_pricing: { 'openai/whisper-1': { usd_per_minute: 0.01 } } });
  const ws = await openRealtimeSession();
  const transcribed = nextMessage(ws);
  ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } }));
  expect(await transcribed).toMatchObject({ type: 'conversation.item.input_audio_transcription.completed' });
  // Ten minutes at the bundle's $0.01, not the built-in $0.006.
  const [record] = await auditRecordsOnceThere<{ model?: string; cost_usd?: number }>(agent.edge.dataDir, (r) => r.model === 'whisper-1' && r.cost_usd !== undefined);
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
  await auditRecordsOnceThere<{ decision: string; reason?: string }>(agent.edge.dataDir, (r) => r.decision === 'blocked' && r.reason === 'app_blocked');
});
