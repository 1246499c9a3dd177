import { afterEach, expect, it } from 'vitest';
import { audioDone, expectLastCharge, GPT_REALTIME_AUDIO, realtimeSessionNaming, sessionUpdate } from './realtime-session-usage.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * What a Realtime session is charged at. The API fixes a session's model at its opening (`session.update` may
 * change any field but `model`), so a client naming a cheaper model in a session.update must not lower its own
 * price: the session is charged at the dearest model it named, the opening's included. Its input audio
 * transcriptions are billed by the transcription model the session configured, at that model's rates, not at the
 * session model's audio rate; that model is held to the key's model rules as the session's own is.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

/** A transcription of 1,000 audio tokens into 200 text tokens. */
const transcribed = message({
  type: 'conversation.item.input_audio_transcription.completed', item_id: 'item_1', content_index: 0, transcript: 'hello',
  usage: { type: 'tokens', input_tokens: 1000, output_tokens: 200, total_tokens: 1200, input_token_details: { text_tokens: 0, audio_tokens: 1000 } },
});

it('a session.update naming a cheaper model does not lower the price of a session opened on a dearer one', async () => {
  agent = meteringAgent({});
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  expect(await agent.send(session, sessionUpdate('gpt-realtime-mini'))).toBe('forward');
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO, { decision: 'forwarded', model: 'gpt-realtime' });
});

it('a session opened without a model is charged at the dearest model it named', async () => {
  agent = meteringAgent({});
  const session = await realtimeSessionNaming(agent, '/v1/realtime?call_id=rtc_1', 'gpt-realtime', 'gpt-realtime-mini');
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO, { model: 'gpt-realtime' });
});

it('a session opened on a cheaper model that names a dearer one is charged at the dearer', async () => {
  agent = meteringAgent({});
  const session = await realtimeSessionNaming(agent, '/v1/realtime?model=gpt-realtime-mini', 'gpt-realtime');
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO);
});

it.each([
  ['GA', { type: 'realtime', audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } } }],
  ['beta', { input_audio_transcription: { model: 'gpt-4o-transcribe' } }],
])('a %s session\'s input transcriptions are charged at the transcription model\'s rates', async (_name, sessionConfig) => {
  agent = meteringAgent({});
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  expect(await agent.send(session, message({ type: 'session.update', session: sessionConfig }))).toBe('forward');
  await session.serverMessage(transcribed);
  // gpt-4o-transcribe: audio in at $6, text out at $10 per Mtok (not gpt-realtime's $32 audio, $16 text).
  expectLastCharge(agent, (1000 * 6 + 200 * 10) / 1e6, { decision: 'forwarded', model: 'gpt-4o-transcribe' });
  // The session's own answers stay at its model's rates.
  await session.serverMessage(audioDone(1000));
  expectLastCharge(agent, GPT_REALTIME_AUDIO, { model: 'gpt-realtime' });
});

it('transcriptions of a session that named no transcription model stay at the session model\'s rates', async () => {
  agent = meteringAgent({});
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  await session.serverMessage(transcribed);
  expectLastCharge(agent, (1000 * 32 + 200 * 16) / 1e6, { model: 'gpt-realtime' });
});

it('a transcription model the key does not allow is refused, and the session closed, as a session model is', async () => {
  agent = meteringAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] });
  const session = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  const verdict = await session.inspect(message({ type: 'session.update', session: { input_audio_transcription: { model: 'gpt-4o-transcribe' } } }), false);
  expect(verdict).toMatchObject({ action: 'close', code: 1008, reason: expect.stringContaining('gpt-4o-transcribe') });
  expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', model: 'gpt-4o-transcribe' });
});
