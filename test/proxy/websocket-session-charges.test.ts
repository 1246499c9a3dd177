import { afterEach, expect, it } from 'vitest';
import { durationCost } from '../../src/policy/pricing.js';
import { bundle } from '../policy/support.js';
import {
  audioDone, expectLastCharge, GPT_REALTIME_AUDIO, GPT_REALTIME_TEXT, MINI_AUDIO, realtimeSessionNaming, sessionCreated, sessionUpdate, textDone,
} from './realtime-session-usage.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * What a Realtime session is charged at, by what its charge would really cost. A session may be decided on several
 * models: its opening's, each a session.update names (the API keeps the opening's), and the one its server says it
 * runs (session.created, session.updated; a session opened by an ephemeral client secret or a WebRTC call names none
 * itself). Each usage is charged to whichever of these decided requests it costs most on, priced as the charge prices
 * it (the route's model, the provider prefix gone; the bundle's prices): never at a name the client chose to look
 * cheap. The server's model is held to the key's model rules. Transcriptions billed by the minute (whisper-1) are
 * charged by their seconds.
 *
 * priceOf and chargeSeconds are the real enforcer's (the metering agent wires them as src/agent.ts does).
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

/** The metering agent asks the real enforcer's priceOf and chargeSeconds, as src/agent.ts does. */
function pricedAgent(key: Parameters<typeof meteringAgent>[0] = {}): MeteringAgent {
  return meteringAgent(key);
}

it.each(['openai/gpt-4o-mini-realtime-preview', 'openai/gpt-realtime-mini'])(
  'naming %s (a cheaper model with its provider prefix) does not lower a gpt-realtime session\'s price, even on list prices alone',
  async (named) => {
    agent = meteringAgent({});
    const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
    expect(await agent.send(session, sessionUpdate(named))).toBe('forward');
    await session.serverMessage(textDone(1000));
    expectLastCharge(agent, GPT_REALTIME_TEXT, { decision: 'forwarded', model: 'gpt-realtime' });
    await session.serverMessage(audioDone(1000));
    expectLastCharge(agent, GPT_REALTIME_AUDIO);
  },
);

/** Has the bundle price `model` (its provider prefixed) at `perMtok` dollars a Mtok, in and out alike. */
function priceInBundle(priced: MeteringAgent, model: string, perMtok: number): void {
  priced.enforcer.setBundle(bundle({ pricing: { [model]: { input_per_mtok: perMtok, output_per_mtok: perMtok } } }, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
  }));
}

it('a model the bundle prices cheaply (unknown to the built-in tables) does not lower the session\'s price', async () => {
  agent = pricedAgent();
  priceInBundle(agent, 'openai/corp-deployment', 0.1);
  const session = await realtimeSessionNaming(agent, '/v1/realtime?model=gpt-realtime', 'corp-deployment');
  await session.serverMessage(textDone(1000));
  expectLastCharge(agent, GPT_REALTIME_TEXT, { model: 'gpt-realtime' });
});

it('a model the bundle prices above the opening\'s is the one charged', async () => {
  agent = pricedAgent();
  priceInBundle(agent, 'openai/gpt-realtime-mini', 500);
  const session = await realtimeSessionNaming(agent, '/v1/realtime?model=gpt-realtime', 'gpt-realtime-mini');
  await session.serverMessage(audioDone(1000));
  // The bundle's text rate, which the audio rate is never below.
  expectLastCharge(agent, (2000 * 500) / 1e6, { model: 'gpt-realtime-mini' });
});

it('a session opened without a model is charged at the model its server runs when the client names a cheaper one', async () => {
  agent = pricedAgent();
  const session = await agent.open('api.openai.com', '/v1/realtime?call_id=rtc_1');
  expect(await session.serverMessage(sessionCreated('gpt-realtime-2025-08-28'))).toBeUndefined();
  await agent.send(session, sessionUpdate('gpt-realtime-mini'));
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO);
});

it('the server\'s model counts even when it arrives after the client named a cheaper one', async () => {
  agent = pricedAgent();
  const session = await realtimeSessionNaming(agent, '/v1/realtime?call_id=rtc_1', 'gpt-realtime-mini');
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, MINI_AUDIO);
  await session.serverMessage(message({ type: 'session.updated', session: { type: 'realtime', model: 'gpt-realtime' } }));
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO);
});

it('a server running a model the key does not allow closes the session as a refused opening, recorded once', async () => {
  agent = pricedAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime-mini'] }] });
  const session = await agent.open('api.openai.com', '/v1/realtime?call_id=rtc_1');
  const close = await session.serverMessage(sessionCreated('gpt-realtime-2025-08-28'));
  expect(close).toMatchObject({ code: 1008, reason: expect.stringContaining('gpt-realtime-2025-08-28') });
  expect(await session.serverMessage(message({ type: 'session.updated', session: { type: 'realtime', model: 'gpt-realtime-2025-08-28' } }))).toBeUndefined();
  expect(agent.records.filter((r) => r.decision === 'blocked')).toMatchObject([{ via: 'edge', errorType: 'model_blocked', model: 'gpt-realtime-2025-08-28' }]);
});

it('a server naming the release of a model the key allows by its alias leaves the session open, with no refusal notice', async () => {
  agent = pricedAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] });
  const session = await agent.open('api.openai.com', '/v1/realtime?call_id=rtc_1');
  expect(await session.serverMessage(sessionCreated('gpt-realtime-2025-08-28'))).toBeUndefined();
  expect(agent.notices.filter((n) => n.kind !== 'app_pending')).toEqual([]);
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO);
});

it('a transcription session\'s session.created (no session model) is not a model to decide', async () => {
  agent = pricedAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-4o-transcribe'] }] });
  const session = await agent.open('api.openai.com', '/v1/realtime?intent=transcription');
  const created = message({ type: 'session.created', session: { type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } } });
  expect(await session.serverMessage(created)).toBeUndefined();
  expect(agent.records.filter((r) => r.decision === 'blocked')).toEqual([]);
});

it('a transcription billed by the minute (whisper-1) is charged by its seconds', async () => {
  agent = pricedAgent();
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  await agent.send(session, message({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } }));
  await session.serverMessage(message({
    type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', content_index: 0, transcript: 'hello',
    usage: { type: 'duration', seconds: 600 },
  }));
  // whisper-1's list price: $0.006 a minute.
  expectLastCharge(agent, 0.06, { decision: 'forwarded', model: 'whisper-1' });
});

it.each([
  ['whisper-1', 60, 0.006, 'built-in:openai/whisper-1'],
  ['whisper-1-2024-01-01', 30, 0.003, 'built-in:openai/whisper-1'],
  ['corp-whisper', 60, 0.006, 'fallback:duration'],
  [null, 60, 0.006, 'fallback:duration'],
])('durationCost(openai, %s, %ss) = $%s (%s)', (model, seconds, cost, source) => {
  const priced = durationCost('openai', model, seconds);
  expect(priced.costUsd).toBeCloseTo(cost, 12);
  expect(priced.priceSource).toBe(source);
});
