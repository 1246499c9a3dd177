import { describe, expect, it } from 'vitest';
import { createEdgeMetrics } from '../../src/metrics/metrics.js';
import { SeriesCap } from '../../src/metrics/series-cap.js';

const PROVIDERS = ['openai', 'anthropic', 'gemini', 'groq', 'mistral', 'xai', 'deepseek', 'openrouter', 'perplexity', 'copilot'];
const DECISIONS = ['allowed', 'blocked', 'redacted', 'flagged', 'failed'];

const requestSeries = (text: string) => text.split('\n').filter((line) => line.startsWith('bifrost_edge_requests_total{'));

describe('the number of series of the request counter', () => {
  it('stays bounded when every model, app, provider and decision combination occurs (per-label limits multiply)', async () => {
    const metrics = createEdgeMetrics({ defaultMetrics: false });
    for (let app = 0; app < 50; app++) {
      for (let model = 0; model < 100; model++) {
        for (const provider of PROVIDERS) {
          for (const decision of DECISIONS) metrics.recordRequest({ provider, model: `model-${model}`, app: `app${app}`, decision });
        }
      }
    }
    const text = await metrics.render();
    const series = requestSeries(text);
    // The cap (2000) plus at most one folded series per provider and decision.
    expect(series.length).toBeLessThanOrEqual(2000 + PROVIDERS.length * DECISIONS.length);
    expect(text.length).toBeLessThan(1_000_000);
    // Every request is still counted: the folded ones under model="other", app="other".
    const total = series.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(total).toBe(50 * 100 * PROVIDERS.length * DECISIONS.length);
    expect(series).toContainEqual(expect.stringMatching(/model="other",decision="[a-z]+",app="other"\}/));
  });

  it('a combination seen before the cap keeps its labels; new ones past it fold', async () => {
    const metrics = createEdgeMetrics({ defaultMetrics: false, maxRequestSeries: 2 });
    metrics.recordRequest({ provider: 'openai', model: 'gpt-4o', app: 'curl', decision: 'allowed' });
    metrics.recordRequest({ provider: 'openai', model: 'gpt-4o', app: 'cursor', decision: 'allowed' });
    metrics.recordRequest({ provider: 'openai', model: 'o3', app: 'cursor', decision: 'blocked' });
    metrics.recordRequest({ provider: 'openai', model: 'gpt-4o', app: 'curl', decision: 'allowed' });
    expect(requestSeries(await metrics.render()).sort()).toEqual([
      'bifrost_edge_requests_total{provider="openai",model="gpt-4o",decision="allowed",app="curl"} 2',
      'bifrost_edge_requests_total{provider="openai",model="gpt-4o",decision="allowed",app="cursor"} 1',
      'bifrost_edge_requests_total{provider="openai",model="other",decision="blocked",app="other"} 1',
    ]);
  });
});

describe('SeriesCap', () => {
  it('folds only the foldable labels of new combinations once full', () => {
    const cap = new SeriesCap<'a' | 'b'>({ maxSeries: 1, foldable: ['b'] });
    expect(cap.labels({ a: 'x', b: '1' })).toEqual({ a: 'x', b: '1' });
    expect(cap.labels({ a: 'x', b: '2' })).toEqual({ a: 'x', b: 'other' });
    expect(cap.labels({ a: 'x', b: '1' })).toEqual({ a: 'x', b: '1' });
  });
});
