import { describe, expect, it } from 'vitest';
import { DurationPricingSchema } from '../../src/control/protocol/duration-pricing.js';
import { ModelPriceSchema, PolicyBundleSchema } from '../../src/control/protocol/policy-bundle.js';
import { durationCost } from '../../src/policy/pricing.js';
import { ISSUED, vkInput } from './support.js';

const bundleInput = () => ({ schema: 'bifrost-edge.policy/v1', version: 7, issued_at: ISSUED, subject: { sub: 'user-1' }, virtual_keys: [vkInput()] });

/**
 * A company prices the models billed by the minute (whisper-1, a transcription model its contract bills so) in its
 * bundle's `duration_pricing`, as it prices token models in `pricing`: the bundle's price is what a transcription's
 * seconds are charged, ahead of the built-in list price; entries it does not set keep the built-in ones; and a
 * malformed price is refused with a message naming the field and what it takes.
 */

const BUNDLE = {
  'openai/whisper-1': { usd_per_minute: 0.004 },
  'gpt-4o-transcribe': { usd_per_minute: 0.012 },
  'openai/corp-whisper-2025-01-01': { usd_per_minute: 0.02 },
};

describe('durationCost with the bundle\'s per-minute prices', () => {
  it.each([
    // The bundle's entry wins over the built-in one for the same model, qualified or bare, and its releases.
    ['whisper-1', 60, 0.004, 'bundle:openai/whisper-1'],
    ['whisper-1-2024-01-01', 30, 0.002, 'bundle:openai/whisper-1'],
    ['gpt-4o-transcribe', 90, 0.018, 'bundle:gpt-4o-transcribe'],
    // A bundle price for one release is not hidden by a built-in price of its alias, nor taken for another release.
    ['corp-whisper-2025-01-01', 60, 0.02, 'bundle:openai/corp-whisper-2025-01-01'],
    // A model neither table knows: the dearest per-minute price of its provider, the bundle's included.
    ['corp-whisper-2026-01-01', 60, 0.02, 'fallback:duration'],
    [null, 60, 0.02, 'fallback:duration'],
  ])('%s, %ss: $%s (%s)', (model, seconds, cost, source) => {
    const priced = durationCost('openai', model, seconds, BUNDLE);
    expect(priced.costUsd).toBeCloseTo(cost, 12);
    expect(priced.priceSource).toBe(source);
  });

  it('a bundle that prices other models leaves whisper-1 at its list price', () => {
    expect(durationCost('openai', 'whisper-1', 60, { 'deepgram/nova-3': { usd_per_minute: 0.0043 } })).toEqual({ costUsd: 0.006, priceSource: 'built-in:openai/whisper-1' });
  });

  it('a free model priced 0 in the bundle costs nothing', () => {
    expect(durationCost('openai', 'whisper-1', 600, { 'whisper-1': { usd_per_minute: 0 } })).toEqual({ costUsd: 0, priceSource: 'bundle:whisper-1' });
  });
});

describe('duration_pricing schema', () => {
  it('accepts per-minute prices under provider/model and bare names', () => {
    expect(DurationPricingSchema.parse(BUNDLE)).toEqual(BUNDLE);
  });

  it('accepts a price up to the bound', () => {
    expect(DurationPricingSchema.parse({ 'whisper-1': { usd_per_minute: 1000 } })).toEqual({ 'whisper-1': { usd_per_minute: 1000 } });
  });

  it.each([
    ['a negative price', { 'whisper-1': { usd_per_minute: -0.006 } }, ['whisper-1', 'usd_per_minute'], 'usd_per_minute cannot be negative'],
    ['a price in text', { 'whisper-1': { usd_per_minute: '0.006' } }, ['whisper-1', 'usd_per_minute'], 'usd_per_minute must be a number'],
    ['no price', { 'whisper-1': {} }, ['whisper-1', 'usd_per_minute'], 'usd_per_minute must be a number'],
    ['token prices', { 'whisper-1': { usd_per_minute: 0.006, input_per_mtok: 1 } }, ['whisper-1'], 'takes only usd_per_minute (token prices go in pricing): remove input_per_mtok'],
    ['a bare number', { 'whisper-1': 0.006 }, ['whisper-1'], 'a per-minute price is an object such as {"usd_per_minute": 0.006}'],
    ['a key with a space', { 'whisper 1': { usd_per_minute: 0.006 } }, ['whisper 1'], 'a duration_pricing key names a model'],
    // A price past any real one would make a cost Infinity (1e308 a minute): a unit mistake, refused.
    ['a price past any real one', { 'whisper-1': { usd_per_minute: 1e308 } }, ['whisper-1', 'usd_per_minute'], 'usd_per_minute cannot be above 1000'],
    ['a price just above the bound', { 'whisper-1': { usd_per_minute: 1000.01 } }, ['whisper-1', 'usd_per_minute'], 'check the unit'],
  ])('refuses %s, naming the field', (_name, input, path, message) => {
    const parsed = DurationPricingSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]).toMatchObject({ path, message: expect.stringContaining(message) });
  });
});

describe('token prices in a bundle\'s pricing', () => {
  const price = (input_per_mtok: number, output_per_mtok: number) => ModelPriceSchema.safeParse({ input_per_mtok, output_per_mtok });

  it('accepts the dearest list prices and a free model', () => {
    expect(price(150, 600).success).toBe(true);
    expect(price(0, 0).success).toBe(true);
    expect(price(10_000, 10_000).success).toBe(true);
  });

  it.each([
    ['an input price past any real one', 1e308, 10, ['input_per_mtok'], 'input_per_mtok cannot be above 10000'],
    ['an output price past any real one', 2.5, 1e308, ['output_per_mtok'], 'output_per_mtok cannot be above 10000'],
    ['a negative price', -1, 10, ['input_per_mtok'], 'input_per_mtok cannot be negative'],
  ])('refuses %s, naming the field', (_name, input, output, path, message) => {
    const parsed = price(input, output);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]).toMatchObject({ path, message: expect.stringContaining(message) });
  });

  it('refuses a bundle whose pricing holds one, with the entry\'s path', () => {
    const parsed = PolicyBundleSchema.safeParse({ ...bundleInput(), pricing: { 'openai/gpt-4o': { input_per_mtok: 2.5, output_per_mtok: 1e308 } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path).toEqual(['pricing', 'openai/gpt-4o', 'output_per_mtok']);
  });
});
