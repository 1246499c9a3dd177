import { describe, expect, it } from 'vitest';
import { durationCost, lookupAudioPrice, lookupPrice } from '../../src/policy/pricing.js';

/** An Azure deployment is priced as itself in any letter case: a capitalised name is no way to a cheaper estimate. */
describe('Azure deployments are priced whatever their letter case', () => {
  const bundle = { 'azure/o1-pro-prod': { input_per_mtok: 150, output_per_mtok: 600 }, 'azure/Cheap-Chat': { input_per_mtok: 0.1, output_per_mtok: 0.2 } };

  it.each([
    ['the bundle\'s price for the deployment', 'O1-PRO-PROD', { input_per_mtok: 150, output_per_mtok: 600 }],
    ['the bundle\'s price named in capitals', 'cheap-chat', { input_per_mtok: 0.1, output_per_mtok: 0.2 }],
    ['the built-in price of a premium model', 'O1-Pro', { input_per_mtok: 150, output_per_mtok: 600 }],
    ['the built-in price without a release suffix', 'GPT-4O-2024-08-06', { input_per_mtok: 2.5, output_per_mtok: 10 }],
  ])('%s', (_name, model, price) => {
    expect(lookupPrice('azure', model, bundle).price).toEqual(price);
  });

  it('a speech deployment in capitals is charged a speech model\'s audio rate', () => {
    const text = lookupPrice('azure', 'GPT-REALTIME-PROD').price;
    expect(lookupAudioPrice('azure', 'GPT-REALTIME-PROD', text)).toEqual(lookupAudioPrice('azure', 'gpt-realtime-prod', text));
  });

  it('a per-minute price named in any case prices the deployment', () => {
    expect(durationCost('azure', 'WHISPER-1', 60, { 'azure/Whisper-1': { usd_per_minute: 0.5 }, 'azure/dear-transcriber': { usd_per_minute: 2 } }).costUsd).toBe(0.5);
  });

  it('other providers keep exact names', () => {
    expect(lookupPrice('openai', 'O1-PRO').source).toBe('fallback');
  });

  it('two entries that differ only in case are charged the dearer of each rate, whichever spelling is asked', () => {
    const collide = { 'azure/emb': { input_per_mtok: 100, output_per_mtok: 0 }, 'azure/EMB': { input_per_mtok: 1, output_per_mtok: 200 } };
    const reversed = { 'azure/EMB': collide['azure/EMB'], 'azure/emb': collide['azure/emb'] };
    for (const table of [collide, reversed]) {
      for (const model of ['emb', 'EMB', 'Emb']) expect(lookupPrice('azure', model, table).price).toEqual({ input_per_mtok: 100, output_per_mtok: 200 });
    }
    expect(durationCost('azure', 'w', 60, { 'azure/w': { usd_per_minute: 0.5 }, 'azure/W': { usd_per_minute: 0.2 } }).costUsd).toBe(0.5);
  });
});
