import { expect, it } from 'vitest';
import type { TrueUpNote } from '../../src/policy/enforcer.js';
import { trueUpMessage } from '../../src/policy/true-up-note.js';

/** The audit record of a true-up says it corrects an earlier record, and by how much, so records are not summed twice. */

const usage = (totalTokens: number) => ({ inputTokens: totalTokens, outputTokens: 0, totalTokens, cachedInputTokens: 0, reasoningTokens: 0 });
const note = (overrides: Partial<TrueUpNote> = {}): TrueUpNote => ({
  before: { usage: usage(2100), costUsd: 0.00126 }, difference: { totalTokens: -1440, costUsd: -0.00087 },
  refundedInFull: true, cause: 'usage_reported', windowsGone: [], ...overrides,
});

it.each<[string, TrueUpNote, string]>([
  ['given back in full', note(),
    'true-up of run_1: 2,100 tokens ($0.0013) charged before as an estimate; difference -1,440 tokens (-$0.0009)'],
  ['part kept: its window had rolled over', note({ refundedInFull: false }),
    'true-up of run_1: 2,100 tokens ($0.0013) charged before as an estimate; difference -1,440 tokens (-$0.0009), part not given back: its window had rolled over'],
  ['the rest charged', note({ difference: { totalTokens: 98_000, costUsd: 12.5 } }),
    'true-up of run_1: 2,100 tokens ($0.0013) charged before as an estimate; difference 98,000 tokens ($12.50)'],
  ['a window the policy no longer has', note({ windowsGone: ['vk:tokens:1d'] }),
    'true-up of run_1: 2,100 tokens ($0.0013) charged before as an estimate; difference -1,440 tokens (-$0.0009); not corrected in 1 window(s) the policy no longer has: vk:tokens:1d'],
])('%s', (_case, trueUp, message) => {
  expect(trueUpMessage('run_1', trueUp)).toBe(message);
});
