import { expect, it } from 'vitest';
import { estimateCost, lookupAudioPrice, lookupPrice } from '../../src/policy/pricing.js';
import { usageFromJson } from '../../src/policy/usage.js';

/**
 * Text models that take audio in report audio tokens too (a transcription's usage, Gemini's AUDIO modality), and
 * were charged the dearest speech-session rate of their provider (gpt-4o-transcribe at $40 per Mtok, list $6;
 * gemini-2.5-flash at $3, list $1). They have their own audio rates now; a model no table knows is charged the
 * dearest audio rate only when its name is a speech model's, else its text rate.
 */

const audioIn = (provider: string, model: string) => lookupAudioPrice(provider, model, lookupPrice(provider, model).price).input_per_mtok;

it('transcription models and Gemini\'s text models are charged their list audio input rates', () => {
  expect(audioIn('openai', 'gpt-4o-transcribe')).toBe(6);
  expect(audioIn('openai', 'gpt-4o-mini-transcribe')).toBe(3);
  expect(audioIn('gemini', 'gemini-2.5-flash')).toBe(1);
  expect(audioIn('gemini', 'gemini-2.5-flash-lite')).toBe(0.3);
  expect(audioIn('gemini', 'gemini-2.5-pro')).toBe(1.25);
  expect(audioIn('gemini', 'gemini-2.0-flash')).toBe(0.7);
  // Their text rates are their own, not the text model a name extends.
  expect(lookupPrice('openai', 'gpt-4o-mini-transcribe').price).toEqual({ input_per_mtok: 1.25, output_per_mtok: 5 });
});

it('a transcription\'s usage is charged audio in at $6 and text out at $10 per Mtok', () => {
  const usage = usageFromJson({ text: 'hello', usage: { type: 'tokens', input_tokens: 1000, output_tokens: 200, total_tokens: 1200, input_token_details: { text_tokens: 0, audio_tokens: 1000 } } })!;
  const price = lookupPrice('openai', 'gpt-4o-transcribe').price;
  expect(estimateCost(usage, price, lookupAudioPrice('openai', 'gpt-4o-transcribe', price))).toBeCloseTo((1000 * 6 + 200 * 10) / 1e6, 12);
});

it('a model no table knows: the dearest audio rate only for a speech model\'s name, else its text rate', () => {
  expect(audioIn('openai', 'gpt-9-realtime')).toBe(40);
  expect(audioIn('openai', 'gpt-9-transcribe')).toBe(40);
  const text = lookupPrice('openai', 'gpt-5-mini').price;
  expect(lookupAudioPrice('openai', 'gpt-5-mini', text)).toEqual(text);
  // A speech model extending a text model the audio table knows is not that text model.
  expect(audioIn('gemini', 'gemini-2.5-flash-preview-tts')).toBeGreaterThanOrEqual(3);
});
