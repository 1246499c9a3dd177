import { expect, it } from 'vitest';
import { BackgroundTrueUps, type TrueUp } from '../../src/policy/background-true-ups.js';

/**
 * An estimate closed as it stands (crowded out by the bound on all keys, or past its age) is told to onDropped, so the
 * enforcer charges what it kept to be charged later (a continuation's prompt, background-charging.ts); one crowded out
 * by its own key goes to onCrowdedOut, as before.
 */

const DAY_MS = 24 * 60 * 60_000;
const estimate = (keyId: string, keptAtMs: number): TrueUp => ({
  target: { keyId } as TrueUp['target'], windows: [], usage: { inputTokens: 100, outputTokens: 0, totalTokens: 100, cachedInputTokens: 0, reasoningTokens: 0 }, costUsd: 0,
  reason: 'given_up', worstCaseOutputTokens: 2000, keptAtMs, continuedPromptTokens: 5000,
});

function trueUps(maxEntries: number, maxPerKey: number) {
  const told: string[] = [];
  const ledger = new BackgroundTrueUps({
    maxEntries, maxPerKey,
    onCrowdedOut: (id) => { told.push(`${id} crowded out`); },
    onDropped: (id, trueUp, _provider, why) => { told.push(`${id} ${why} with ${trueUp.continuedPromptTokens}`); },
  });
  return { ledger, told };
}

it('an estimate crowded out by the bound on all keys is told as dropped', () => {
  const { ledger, told } = trueUps(2, 2);
  ledger.keep('openai', 'run_a', estimate('vk-a', 0));
  ledger.keep('openai', 'run_b', estimate('vk-b', 0));
  ledger.keep('openai', 'run_c', estimate('vk-c', 0));
  expect(told).toEqual(['run_a all_keys with 5000']);
});

it('an estimate past its age is told as dropped; one crowded out by its own key is not', () => {
  const { ledger, told } = trueUps(10, 1);
  ledger.keep('openai', 'run_a', estimate('vk-a', 0));
  ledger.keep('openai', 'run_b', estimate('vk-a', 0));
  expect(ledger.find('openai', 'run_b', DAY_MS + 1)).toBeUndefined();
  expect(told).toEqual(['run_a crowded out', 'run_b expired with 5000']);
});

it('while expiry is deferred (charges wait for the first bundle) an estimate past its age stays, and is dropped once expiry resumes', () => {
  const { ledger, told } = trueUps(10, 10);
  ledger.keep('openai', 'run_a', estimate('vk-a', 0));
  ledger.deferExpiry();
  expect(ledger.find('openai', 'run_a', DAY_MS + 1)).toBeDefined();
  expect(told).toEqual([]);
  ledger.expireDeferred(DAY_MS + 1);
  expect(told).toEqual(['run_a expired with 5000']);
  expect(ledger.size).toBe(0);
});
