import { afterEach, expect, it } from 'vitest';
import { BackgroundResponses, type BackgroundJob } from '../../src/policy/background-responses.js';
import type { NormalizedRequest } from '../../src/providers/types.js';

/**
 * Edge remembers a bounded number of background responses (background-responses.ts). A flood of cheap background
 * requests from one key must not crowd out another key's entries: each key holds at most a tenth of the bound, and
 * a key over its share gives up its own oldest. The bound on all keys still gives up the oldest of any.
 */

const request: NormalizedRequest = { provider: 'openai', adapter: 'openai-compatible', operation: 'responses', model: 'gpt-4.1', stream: false, texts: [], tools: [], inspected: true };
const job = (keyId: string): BackgroundJob => ({ request, keyId, outputTokens: 0 });

let held: BackgroundResponses | undefined;
afterEach(() => held?.giveUpAll());

function remembering(maxPending: number): { background: BackgroundResponses; givenUp: string[] } {
  const givenUp: string[] = [];
  held = new BackgroundResponses({ maxPending, onGivenUp: (id) => givenUp.push(id) });
  return { background: held, givenUp };
}

it('one key\'s flood gives up its own oldest entries, never another key\'s', () => {
  const { background, givenUp } = remembering(100);
  expect(background.remember('openai', 'resp_expensive', job('vk-a'))).toBe(true);
  for (let i = 0; i < 1000; i++) background.remember('openai', `resp_cheap_${i}`, job('vk-b'));
  // vk-b holds its share, ten: its latest.
  expect(background.size).toBe(11);
  expect(givenUp).toHaveLength(990);
  expect(givenUp.slice(0, 3)).toEqual(['resp_cheap_0', 'resp_cheap_1', 'resp_cheap_2']);
  expect(givenUp).not.toContain('resp_expensive');
  expect(background.take('openai', 'resp_expensive')).toBeDefined();
  expect(background.take('openai', 'resp_cheap_999')).toBeDefined();
  expect(background.take('openai', 'resp_cheap_989')).toBeUndefined();
});

it('a key whose entries were taken has its whole share again; the bound on all keys gives up the oldest of any', () => {
  const { background, givenUp } = remembering(20);
  // Two entries a key: ten keys fill the bound.
  for (let k = 0; k < 10; k++) {
    background.remember('openai', `resp_${k}_0`, job(`vk-${k}`));
    background.remember('openai', `resp_${k}_1`, job(`vk-${k}`));
  }
  expect(givenUp).toEqual([]);
  background.remember('openai', 'resp_new', job('vk-new'));
  expect(givenUp).toEqual(['resp_0_0']);
  expect(background.take('openai', 'resp_1_0')).toBeDefined();
  expect(background.take('openai', 'resp_1_1')).toBeDefined();
  background.remember('openai', 'resp_1_2', job('vk-1'));
  background.remember('openai', 'resp_1_3', job('vk-1'));
  expect(givenUp).toEqual(['resp_0_0']);
});
