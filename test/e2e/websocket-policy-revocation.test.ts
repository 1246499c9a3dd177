import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { waitFor } from '../control/support/control-fixture.js';
import type { StandinVirtualKeyInput } from '../support/bifrost-standin.js';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { nextMessage, startEnrolledRealtimeEdge, type EnrolledRealtimeEdge } from '../support/enrolled-realtime-edge.js';
import { closeWithin } from '../support/websocket-through-edge.js';

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

let agent: EnrolledRealtimeEdge;

beforeAll(async () => {
  agent = await startEnrolledRealtimeEdge({
    keyValue: KEY_VALUE,
    virtualKeys: [realtimeKey()],
    answer: (ws, type) => {
      if (type !== 'response.create') return;
      ws.send(JSON.stringify({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } }));
    },
  });
});

afterAll(() => agent?.close());

// A failure here is about timing between three processes: the agent's own log says what it saw.
afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`agent log:\n${agent?.edge.stderr()}`);
});

/** Changes the key at the gateway and waits until the agent applied the bundle Edge Control pushes for it. */
async function changeKeyAtGateway(change: Partial<StandinVirtualKeyInput> | null): Promise<void> {
  const before = agent.bundlesApplied();
  agent.fixture.standin.setVirtualKeys(change === null ? [] : [realtimeKey(change)]);
  await waitFor(() => agent.bundlesApplied() > before, 10_000, 'the agent to apply the pushed bundle');
}

/** Whether the session still answers: a response.create gets its response.done. */
async function answers(ws: WebSocket): Promise<boolean> {
  const answer = nextMessage(ws);
  ws.send(JSON.stringify({ type: 'response.create' }));
  return (await answer)?.type === 'response.done';
}

it('a pushed policy that still allows the key leaves the session open; one that stops allowing its model closes it, recorded', async () => {
  const ws = await agent.openRealtimeSession();
  expect(await answers(ws)).toBe(true);

  await changeKeyAtGateway({ provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime', 'gpt-realtime-mini'] }] });
  expect(await closeWithin(ws, 500)).toBe('still open');
  expect(await answers(ws)).toBe(true);

  // Listened for before the change: the close may come before the agent's log line does.
  const closed = closeWithin(ws, 15_000);
  await changeKeyAtGateway({ provider_configs: [{ provider: 'openai', allowed_models: ['gpt-realtime-mini'] }] });
  expect(await closed).toMatchObject({ code: 1008, reason: expect.stringContaining("key 'ada' no longer allows gpt-realtime") });
  const [record] = await auditRecordsOnceThere<{ decision: string; status?: number; reason?: string; model?: string }>(agent.edge.dataDir, (r) => r.decision === 'blocked' && r.reason === 'model_blocked');
  expect(record).toMatchObject({ decision: 'blocked', status: 403, reason: 'model_blocked', model: 'gpt-realtime' });
});

it('a session whose key is switched off at the gateway is closed when the policy arrives, recorded', async () => {
  await changeKeyAtGateway({});
  const ws = await agent.openRealtimeSession();
  expect(await answers(ws)).toBe(true);
  const closed = closeWithin(ws, 15_000);
  await changeKeyAtGateway({ is_active: false });
  expect(await closed).toMatchObject({ code: 1008, reason: expect.stringContaining("key 'ada' was switched off") });
  await auditRecordsOnceThere<{ decision: string; reason?: string }>(agent.edge.dataDir, (r) => r.decision === 'blocked' && r.reason === 'virtual_key_blocked');
});
