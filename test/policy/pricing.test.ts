import { describe, expect, it } from 'vitest';
import { estimateCost, FALLBACK_PRICE, lookupPrice } from '../../src/policy/pricing.js';

describe('lookupPrice', () => {
  it.each([
    ['openai', 'gpt-4o', 'built-in:gpt-4o', 2.5],
    ['openai', 'gpt-4o-mini', 'built-in:gpt-4o-mini', 0.15],
    ['openai', 'gpt-4o-2024-08-06', 'built-in:gpt-4o', 2.5],
    ['openai', 'gpt-4o-mini-2024-07-18', 'built-in:gpt-4o-mini', 0.15],
    ['anthropic', 'claude-sonnet-4-5-20250929', 'built-in:claude-sonnet-4-5', 3],
    ['anthropic', 'claude-3-5-haiku-latest', 'built-in:claude-3-5-haiku', 0.8],
    ['gemini', 'gemini-2.5-flash-preview-05-20', 'built-in:gemini-2.5-flash', 0.3],
    ['gemini', 'gemini-2.5-flash-lite', 'built-in:gemini-2.5-flash-lite', 0.1],
    ['openai', 'gpt-4.1-mini-custom', 'built-in:gpt-4.1-mini', 0.4],
    ['openai', 'totally-new-model', 'fallback', FALLBACK_PRICE.input_per_mtok],
  ])('%s/%s → %s', (provider, model, source, input) => {
    const found = lookupPrice(provider, model);
    expect(found.source).toBe(source);
    expect(found.price.input_per_mtok).toBe(input);
  });

  it('a premium variant the tables know only the base of is never priced as the base (o1-pro costs ten times o1)', () => {
    expect(lookupPrice('openai', 'o1-pro')).toMatchObject({ source: 'built-in:o1-pro', price: { input_per_mtok: 150, output_per_mtok: 600 } });
    expect(lookupPrice('openai', 'o1-pro-2025-03-19').source).toBe('built-in:o1-pro');
    expect(lookupPrice('openai', 'gpt-4.5-preview').source).toBe('built-in:gpt-4.5');
    expect(lookupPrice('anthropic', 'claude-3-opus-20240229').source).toBe('built-in:claude-3-opus');
    // Unknown premium variants: at least the fallback, whatever the base costs.
    expect(lookupPrice('openai', 'gpt-4.1-pro')).toEqual({ price: { input_per_mtok: FALLBACK_PRICE.input_per_mtok, output_per_mtok: FALLBACK_PRICE.output_per_mtok }, source: 'built-in:gpt-4.1+premium-variant' });
    expect(lookupPrice('google', 'gemini-2.5-flash-max').source).toBe('built-in:gemini-2.5-flash+premium-variant');
    // An ordinary variant keeps its base's price.
    expect(lookupPrice('openai', 'gpt-4o-search-preview').source).toBe('built-in:gpt-4o');
  });

  it('the bundle overrides the built-in table, qualified entries first', () => {
    const overrides = {
      'gpt-4o': { input_per_mtok: 1, output_per_mtok: 2 },
      'azure/gpt-4o': { input_per_mtok: 3, output_per_mtok: 4 },
      'in-house-7b': { input_per_mtok: 0.01, output_per_mtok: 0.02 },
    };
    expect(lookupPrice('openai', 'gpt-4o', overrides)).toEqual({ price: { input_per_mtok: 1, output_per_mtok: 2 }, source: 'bundle:gpt-4o' });
    expect(lookupPrice('azure', 'gpt-4o', overrides)).toEqual({ price: { input_per_mtok: 3, output_per_mtok: 4 }, source: 'bundle:azure/gpt-4o' });
    expect(lookupPrice('azure', 'gpt-4o-2024-08-06', overrides).source).toBe('bundle:azure/gpt-4o');
    expect(lookupPrice('ollama', 'in-house-7b', overrides).source).toBe('bundle:in-house-7b');
    expect(lookupPrice('openai', 'gpt-4o-mini', overrides).source).toBe('built-in:gpt-4o-mini');
  });

  it('an entry qualified with another provider does not price this one', () => {
    const overrides = { 'azure/special': { input_per_mtok: 9, output_per_mtok: 9 } };
    expect(lookupPrice('openai', 'special', overrides).source).toBe('fallback');
    expect(lookupPrice('openai', 'special-2', overrides).source).toBe('fallback');
  });
});

describe('estimateCost', () => {
  it.each([
    [{ input_per_mtok: 2.5, output_per_mtok: 10 }, 1_000_000, 0, 2.5],
    [{ input_per_mtok: 2.5, output_per_mtok: 10 }, 0, 1_000_000, 10],
    [{ input_per_mtok: 3, output_per_mtok: 15 }, 2000, 500, 0.0135],
    [{ input_per_mtok: 0, output_per_mtok: 0 }, 5000, 5000, 0],
  ])('%o × %i in / %i out = $%f', (price, input, output, usd) => {
    const cost = estimateCost({ inputTokens: input, outputTokens: output, totalTokens: input + output, cachedInputTokens: 0, reasoningTokens: 0 }, price);
    expect(cost).toBeCloseTo(usd, 10);
  });
});
