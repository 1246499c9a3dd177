import { afterEach, expect, it } from 'vitest';
import { estimateCost, lookupAudioPrice, lookupPrice } from '../../src/policy/pricing.js';
import { usageFromJson } from '../../src/policy/usage.js';
import { readServerUsage } from '../../src/proxy/websocket-usage.js';
import { message, meteringAgent, type MeteringAgent } from '../proxy/websocket-metering-agent.js';

/**
 * Speech sessions (OpenAI Realtime, Gemini Live) never reach the gateway, so what Edge charges locally is the only
 * accounting of their spend, and their audio costs 10–40 times their text. Audio tokens are priced at the model's
 * audio rate; a speech model's name never falls back to the cheaper text model it extends; a session naming no
 * model (a WebRTC call's sideband socket, `?call_id=`) is charged the dearest rates Edge knows, not $0.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

/** 100,000 audio tokens in and 50,000 out, as a Realtime response.done reports them. */
const audioUsage = {
  total_tokens: 150000, input_tokens: 100000, output_tokens: 50000,
  input_token_details: { audio_tokens: 100000, text_tokens: 0, cached_tokens: 0 }, output_token_details: { audio_tokens: 50000, text_tokens: 0 },
};
const done = message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: audioUsage } });

it('reads the audio tokens a Realtime response.done, a chat completion and Gemini report', () => {
  expect(readServerUsage('openai-realtime', done)).toMatchObject({ usage: { inputTokens: 100000, outputTokens: 50000, audioInputTokens: 100000, audioOutputTokens: 50000 } });
  expect(usageFromJson({ usage: { prompt_tokens: 30, completion_tokens: 20, prompt_tokens_details: { audio_tokens: 10 }, completion_tokens_details: { audio_tokens: 15 } } }))
    .toMatchObject({ inputTokens: 30, outputTokens: 20, audioInputTokens: 10, audioOutputTokens: 15 });
  expect(usageFromJson({ usageMetadata: { promptTokenCount: 30, candidatesTokenCount: 20, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 5 }, { modality: 'AUDIO', tokenCount: 25 }], candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: 20 }] } }))
    .toMatchObject({ inputTokens: 30, outputTokens: 20, audioInputTokens: 25, audioOutputTokens: 20 });
});

it('a speech model is never priced as the text model its name extends', () => {
  expect(lookupPrice('openai', 'gpt-4o-mini-realtime-preview-2024-12-17').price).toEqual({ input_per_mtok: 0.6, output_per_mtok: 2.4 });
  expect(lookupPrice('gemini', 'gemini-2.5-flash-native-audio-preview-09-2025').price).toEqual({ input_per_mtok: 0.5, output_per_mtok: 2 });
  // One no table knows: at least the fallback, as a premium variant is.
  const unknown = lookupPrice('openai', 'gpt-4.1-realtime-beta');
  expect(unknown.price.input_per_mtok).toBeGreaterThanOrEqual(15);
  expect(unknown.source).toContain('speech-variant');
  // A model named nowhere: the fallback, not free.
  expect(lookupPrice('openai', null).price).toEqual({ input_per_mtok: 15, output_per_mtok: 75 });
});

it('audio tokens are charged at the audio rate; an unknown speech model\'s at the dearest audio rate Edge knows for its provider', () => {
  const usage = { inputTokens: 100000, outputTokens: 50000, totalTokens: 150000, cachedInputTokens: 0, reasoningTokens: 0, audioInputTokens: 100000, audioOutputTokens: 50000 };
  const mini = lookupPrice('openai', 'gpt-4o-mini-realtime-preview').price;
  expect(estimateCost(usage, mini, lookupAudioPrice('openai', 'gpt-4o-mini-realtime-preview', mini))).toBeCloseTo(2, 6);
  const unknown = lookupPrice('openai', 'gpt-9-realtime').price;
  expect(lookupAudioPrice('openai', 'gpt-9-realtime', unknown)).toEqual({ input_per_mtok: 40, output_per_mtok: 80 });
  expect(lookupAudioPrice('gemini', 'gemini-9-live', lookupPrice('gemini', 'gemini-9-live').price)).toEqual({ input_per_mtok: 15, output_per_mtok: 75 });
  // Text tokens keep the text rate.
  const text = { ...usage, audioInputTokens: 0, audioOutputTokens: 0 };
  expect(estimateCost(text, mini, lookupAudioPrice('openai', 'gpt-4o-mini-realtime-preview', mini))).toBeCloseTo(0.06 + 0.12, 6);
});

it('Realtime and Gemini Live sessions are charged their audio at audio rates, and a session naming no model is not free', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 100, reset_duration: '1d' }] });
  const costOf = async (target: string) => {
    const socket = await agent!.open('api.openai.com', target);
    await socket.serverMessage(done);
    return agent!.records.filter((r) => r.usage).at(-1)!.costUsd!;
  };
  // OpenAI's list prices: $10 / $20 per million audio tokens in / out for the mini, $40 / $80 for gpt-4o's.
  expect(await costOf('/v1/realtime?model=gpt-4o-mini-realtime-preview')).toBeCloseTo(2, 6);
  expect(await costOf('/v1/realtime?model=gpt-4o-realtime-preview')).toBeCloseTo(8, 6);
  // A WebRTC call's sideband socket names no model: the dearest audio rates Edge knows for OpenAI.
  expect(await costOf('/v1/realtime?call_id=rtc_abc123')).toBeCloseTo(8, 6);

  const live = await agent.open('generativelanguage.googleapis.com', '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent');
  await agent.send(live, message({ setup: { model: 'models/gemini-2.5-flash-native-audio-preview-09-2025' } }));
  await live.serverMessage(message({ serverContent: { turnComplete: true }, usageMetadata: {
    promptTokenCount: 100000, responseTokenCount: 50000, totalTokenCount: 150000,
    promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 100000 }], responseTokensDetails: [{ modality: 'AUDIO', tokenCount: 50000 }],
  } }));
  // Google's list price for native audio: $3 / $12 per million audio tokens in / out.
  expect(agent.records.filter((r) => r.usage).at(-1)!.costUsd).toBeCloseTo(0.9, 6);
});
