import { afterEach, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { bundle } from '../policy/support.js';
import { audioDone, sessionCreated } from './realtime-session-usage.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * The model a Realtime server says it runs (session.created, session.updated) is decided as itself: a key that allows
 * an alias but blocks one of its dated releases closes a session whose server runs that release, though the session
 * opened on the alias; a key that lists only the alias lets every release through, and the session runs on. Through the
 * WebSocket decision and a real enforcer, wired as src/agent.ts wires them (websocket-metering-agent.ts).
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

const ALIAS = 'gpt-4o-realtime-preview';
const DATED = 'gpt-4o-realtime-preview-2024-12-17';
const key = (allowed_models: string[], blacklisted_models: string[] = []): Partial<KeyInput> => ({
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models, blacklisted_models }],
});

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

it.each([
  ['opened on the alias', `/v1/realtime?model=${ALIAS}`],
  ['opened without a model', '/v1/realtime?call_id=rtc_1'],
])('a server running a release the key blocks closes a session %s, recorded once', async (_name, target) => {
  agent = meteringAgent(key([ALIAS], [DATED]));
  const session = await agent.open('api.openai.com', target);
  const close = await session.serverMessage(sessionCreated(DATED));
  expect(close).toMatchObject({ code: 1008, reason: expect.stringContaining(DATED) });
  expect(agent.records.filter((r) => r.decision === 'blocked')).toMatchObject([{ via: 'edge', status: 403, errorType: 'model_blocked', model: DATED }]);
});

it('a key blocking the alias closes a session whose server runs its release, under a key allowing every model', async () => {
  agent = meteringAgent(key(['*'], [ALIAS]));
  const session = await agent.open('api.openai.com', '/v1/realtime?call_id=rtc_1');
  expect(await session.serverMessage(sessionCreated(DATED))).toMatchObject({ code: 1008, reason: expect.stringContaining(DATED) });
});

it.each([
  ['opened on the alias', `/v1/realtime?model=${ALIAS}`],
  ['opened without a model', '/v1/realtime?call_id=rtc_1'],
])('a key listing only the alias lets its release run a session %s, with no refusal', async (_name, target) => {
  agent = meteringAgent(key([ALIAS]));
  const session = await agent.open('api.openai.com', target);
  expect(await session.serverMessage(sessionCreated(DATED))).toBeUndefined();
  expect(await session.serverMessage(audioDone(1000))).toBeUndefined();
  expect(agent.records.filter((r) => r.decision === 'blocked')).toEqual([]);
  expect(agent.notices.filter((n) => n.kind !== 'app_pending')).toEqual([]);
});

it('a key naming other releases of the alias does not let an unlisted release run', async () => {
  agent = meteringAgent(key([ALIAS, 'gpt-4o-realtime-preview-2025-06-03']));
  const session = await agent.open('api.openai.com', `/v1/realtime?model=${ALIAS}`);
  expect(await session.serverMessage(sessionCreated(DATED))).toMatchObject({ code: 1008 });
});

it('a live session on a release its alias allows stays open when a policy change still allows the alias', async () => {
  const listeners = new Set<() => void>();
  agent = meteringAgent(key([ALIAS]), {
    deps: {
      policyChanges: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  });
  const session = await agent.open('api.openai.com', `/v1/realtime?model=${ALIAS}`);
  let closed = false;
  session.watch?.(() => { closed = true; });
  expect(await session.serverMessage(sessionCreated(DATED))).toBeUndefined();
  agent.enforcer.setBundle(bundle({ version: 8 }, { ...key([ALIAS, 'gpt-realtime']) }));
  for (const listener of listeners) listener();
  expect(await session.serverMessage(message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 2, input_tokens: 1, output_tokens: 1 } } }))).toBeUndefined();
  expect(closed).toBe(false);
});

it('a server naming the release does not close a session whose opening used the key\'s last request', async () => {
  agent = meteringAgent({ ...key([ALIAS]), rate_limit: { request_max_limit: 1, request_reset_duration: '1h' } });
  const session = await agent.open('api.openai.com', `/v1/realtime?model=${ALIAS}`);
  expect(await session.serverMessage(sessionCreated(DATED))).toBeUndefined();
  expect(await session.serverMessage(audioDone(1000))).toBeUndefined();
  expect(agent.records.filter((r) => r.decision === 'blocked')).toEqual([]);
});

it('the model a server names counts nothing against the key\'s request limit', async () => {
  // Two requests an hour: the opening is one, the server's model none, so one HTTP request still goes and a second does not.
  agent = meteringAgent({ ...key([ALIAS]), rate_limit: { request_max_limit: 2, request_reset_duration: '1h' } });
  const session = await agent.open('api.openai.com', `/v1/realtime?model=${ALIAS}`);
  expect(await session.serverMessage(sessionCreated(DATED))).toBeUndefined();
  expect((await agent.probe(ALIAS)).action).not.toBe('block');
  expect(await agent.probe(ALIAS)).toMatchObject({ action: 'block', error: { type: 'request_limited' } });
});
