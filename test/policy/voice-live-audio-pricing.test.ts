import { afterEach, expect, it } from 'vitest';
import { lookupAudioPrice, lookupPrice } from '../../src/policy/pricing.js';
import { message, meteringAgent, type MeteringAgent } from '../proxy/websocket-metering-agent.js';

/**
 * A Voice Live session names a text model (`?model=gpt-4o`) while its audio is heard and spoken by Azure's speech
 * pipeline, billed at audio rates far above the text model's. Edge knows no Azure audio prices and invents none, so
 * Azure audio is charged the dearest audio rate it knows ($40 / $80 per million tokens in / out, OpenAI's
 * gpt-4o-realtime-preview), never the text model's ($2.50 / $10 for gpt-4o): a spend window must not undercount it.
 */

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const DEAREST_AUDIO = { input_per_mtok: 40, output_per_mtok: 80 };

it.each([['gpt-4o'], ['GPT-4o'], ['gpt-4o-mini'], ['gpt-4.1'], ['gpt-4o-2024-11-20']])('Azure audio on %s is priced as a speech model\'s', (model) => {
  expect(lookupAudioPrice('azure', model, lookupPrice('azure', model).price)).toEqual(DEAREST_AUDIO);
});

it('audio on a name no table knows (an Azure deployment\'s own), and elsewhere on a text model, keeps the text rate', () => {
  const deployment = lookupPrice('azure', 'voice-prod').price;
  expect(lookupAudioPrice('azure', 'voice-prod', deployment)).toEqual(deployment);
  const text = lookupPrice('openai', 'gpt-4.1').price;
  expect(lookupAudioPrice('openai', 'gpt-4.1', text)).toEqual(text);
});

it('a Voice Live session\'s audio is charged at that rate', async () => {
  agent = meteringAgent({ provider_configs: [{ provider: 'azure', weight: 1, allowed_models: ['gpt-4o'] }], budgets: [{ max_limit: 100, reset_duration: '1d' }] });
  const socket = await agent.open('contoso.services.ai.azure.com', '/voice-live/realtime?api-version=2025-10-01&model=gpt-4o');
  await socket.serverMessage(message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: {
    total_tokens: 150000, input_tokens: 100000, output_tokens: 50000,
    input_token_details: { audio_tokens: 100000, text_tokens: 0, cached_tokens: 0 }, output_token_details: { audio_tokens: 50000, text_tokens: 0 },
  } } }));
  // 100,000 audio tokens in at $40 a million and 50,000 out at $80: $8, not gpt-4o's text-rate $0.75.
  expect(agent.records.filter((r) => r.usage).at(-1)!.costUsd).toBeCloseTo(8, 6);
});
