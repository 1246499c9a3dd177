import { afterEach, expect, it } from 'vitest';
import { estimateCost, lookupPrice } from '../../src/policy/pricing.js';
import { usageFromJson } from '../../src/policy/usage.js';
import { readServerUsage } from '../../src/proxy/websocket-usage.js';
import { message, meteringAgent, type MeteringAgent } from '../proxy/websocket-metering-agent.js';

/**
 * A voice conversation re-reads its earlier turns from the provider's cache every turn: OpenAI's response.done counts
 * them in `input_token_details.audio_tokens` and again in `cached_tokens_details.audio_tokens`, and bills them near
 * its cached text rate (gpt-realtime: $0.40 per Mtok, fresh audio $32). Charged at the fresh audio rate, a session
 * cost Edge five times its list price and was closed for a budget it had not spent. Cached audio is charged at the
 * model's text input rate (Edge knows no cache rates; cached text is charged so too).
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

/** A later turn: 300 text tokens and 60,000 audio tokens in, 58,500 of the audio cached; 400 audio tokens out. */
const usage = {
  total_tokens: 60700, input_tokens: 60300, output_tokens: 400,
  input_token_details: { text_tokens: 300, audio_tokens: 60000, cached_tokens: 58500, cached_tokens_details: { text_tokens: 0, audio_tokens: 58500 } },
  output_token_details: { text_tokens: 0, audio_tokens: 400 },
};
/** gpt-realtime: text $4 in; audio $32 in, $64 out. */
const expectedUsd = (300 * 4 + 58500 * 4 + 1500 * 32 + 400 * 64) / 1e6;

it('reads the cached audio of a Realtime response.done and of Gemini\'s usageMetadata', () => {
  expect(readServerUsage('openai-realtime', message({ type: 'response.done', response: { id: 'r', status: 'completed', usage } })))
    .toMatchObject({ usage: { inputTokens: 60300, audioInputTokens: 60000, cachedAudioInputTokens: 58500, audioOutputTokens: 400 } });
  expect(usageFromJson({ usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 10, cachedContentTokenCount: 900,
    promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 1000 }], cacheTokensDetails: [{ modality: 'AUDIO', tokenCount: 900 }] } }))
    .toMatchObject({ inputTokens: 1000, audioInputTokens: 1000, cachedAudioInputTokens: 900 });
});

it('cached audio is charged at the model\'s text input rate, fresh audio at its audio rate', () => {
  const price = lookupPrice('openai', 'gpt-realtime').price;
  const tokens = { inputTokens: 60300, outputTokens: 400, totalTokens: 60700, cachedInputTokens: 58500, reasoningTokens: 0, audioInputTokens: 60000, cachedAudioInputTokens: 58500, audioOutputTokens: 400 };
  expect(estimateCost(tokens, price, { input_per_mtok: 32, output_per_mtok: 64 })).toBeCloseTo(expectedUsd, 9);
});

it('a Realtime session is charged its cached audio at the text rate', async () => {
  agent = meteringAgent({ budgets: [{ max_limit: 100, reset_duration: '1d' }] });
  const socket = await agent.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  await socket.serverMessage(message({ type: 'response.done', response: { id: 'r1', status: 'completed', usage } }));
  expect(agent.records.find((r) => r.usage)!.costUsd).toBeCloseTo(expectedUsd, 9);
});
