import { afterEach, describe, expect, it } from 'vitest';
import { durationCost, MAX_BILLED_SECONDS } from '../../src/policy/pricing.js';
import { meteringAgent, type MeteringAgent } from '../proxy/websocket-metering-agent.js';
import { info, request } from './support.js';

/**
 * durationCost never gives a cost that is not a finite number of 0 or more, whatever seconds it is handed: a NaN cost
 * fails the counter write (the charge throws), a budget sum holding Infinity is spent for good.
 * Seconds that are not a number, or negative, are the caller's error and cost nothing; seconds past MAX_BILLED_SECONDS
 * (Infinity too) are charged as that bound, more than any budget holds. Then through a real enforcer on a real counter
 * database: such a charge leaves the key's spend a number that later charges add to, and its budget still closes.
 */

const WHISPER_PER_MINUTE = 0.006;

describe('durationCost on seconds that are no real duration', () => {
  it.each([
    ['not a number', Number.NaN],
    ['negative', -30],
    ['minus infinity', Number.NEGATIVE_INFINITY],
  ])('%s: costs nothing', (_name, seconds) => {
    expect(durationCost('openai', 'whisper-1', seconds)).toEqual({ costUsd: 0, priceSource: 'built-in:openai/whisper-1' });
  });

  it.each([
    ['infinity, built-in price', Number.POSITIVE_INFINITY, {}, (MAX_BILLED_SECONDS / 60) * WHISPER_PER_MINUTE],
    ['past the bound, built-in price', 1e18, {}, (MAX_BILLED_SECONDS / 60) * WHISPER_PER_MINUTE],
    // The dearest price a bundle may set (duration-pricing.ts MAX_USD_PER_MINUTE) on the largest finite report: was Infinity.
    ['the largest number, the dearest bundle price', Number.MAX_VALUE, { 'openai/whisper-1': { usd_per_minute: 1000 } }, (MAX_BILLED_SECONDS / 60) * 1000],
  ])('%s: charged as the bound, a finite cost', (_name, seconds, overrides, cost) => {
    const priced = durationCost('openai', 'whisper-1', seconds, overrides);
    expect(Number.isFinite(priced.costUsd)).toBe(true);
    expect(priced.costUsd).toBeCloseTo(cost, 6);
  });

  it('the fallback price on a model no table knows is bounded too', () => {
    const priced = durationCost('openai', 'corp-whisper', Number.POSITIVE_INFINITY);
    expect(priced).toMatchObject({ priceSource: 'fallback:duration' });
    expect(Number.isFinite(priced.costUsd)).toBe(true);
  });

  it('a real duration is charged as before', () => {
    expect(durationCost('openai', 'whisper-1', 90).costUsd).toBeCloseTo(0.009, 12);
  });
});

describe('a bad duration charged through the enforcer', () => {
  let agent: MeteringAgent | undefined;
  afterEach(() => agent?.close());

  /** A whisper-1 request the enforcer decided, under a key with a $1 daily budget. */
  async function decidedTranscription() {
    agent = meteringAgent({ budgets: [{ max_limit: 1, reset_duration: '1d' }] });
    const transcription = request({ model: 'whisper-1' });
    const verdict = await agent.enforcer.inspector()({ request: transcription, body: {}, info: info('api.openai.com'), app: 'probe' });
    expect(verdict.action).toBe('allow');
    return { enforcer: agent.enforcer, transcription };
  }

  it('seconds that are not a number charge nothing, and the budget still closes on the charges after', async () => {
    const { enforcer, transcription } = await decidedTranscription();
    expect(enforcer.recordDurationUsage(transcription, Number.NaN)).toMatchObject({ costUsd: 0 });
    expect(enforcer.usedUp(transcription)).toBeUndefined();
    // 200 minutes of whisper-1: $1.20, past the $1 budget.
    expect(enforcer.recordDurationUsage(transcription, 200 * 60)?.costUsd).toBeCloseTo(1.2, 12);
    expect(enforcer.usedUp(transcription)).toMatchObject({ status: 402, type: 'budget_exceeded' });
  });

  it('infinite seconds spend the budget with a finite charge, which later charges add to', async () => {
    const { enforcer, transcription } = await decidedTranscription();
    const charged = enforcer.recordDurationUsage(transcription, Number.POSITIVE_INFINITY);
    expect(Number.isFinite(charged?.costUsd)).toBe(true);
    expect(enforcer.usedUp(transcription)).toMatchObject({ status: 402, type: 'budget_exceeded' });
    expect(Number.isFinite(enforcer.recordDurationUsage(transcription, Number.POSITIVE_INFINITY)?.costUsd)).toBe(true);
    expect(enforcer.usedUp(transcription)).toMatchObject({ status: 402, type: 'budget_exceeded' });
  });
});
