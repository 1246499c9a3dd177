import { describe, expect, it } from 'vitest';
import { windowSuccessions, type WindowIdentity } from '../../src/policy/window-succession.js';

/** Which counter each window of a new bundle continues (window-succession.ts), as a table of cases. */

/** A daily budget of provider config `config` (a place `@n` or an id `:id`) of openai, with maximum `max`. */
const daily = (config: string, max: number, extra: Partial<WindowIdentity> = {}): WindowIdentity => ({
  counterKey: `vk:vk-eng/provider:openai/config${config}|spend|1d|budget@1`,
  keyId: 'vk-eng', provider: 'openai', metric: 'spend', resetDuration: '1d', max,
  ...(config.startsWith(':') ? { configId: config.slice(1) } : {}),
  byPlace: true,
  ...extra,
});
const hourly = (config: string, max: number): WindowIdentity => ({
  counterKey: `vk:vk-eng/provider:openai/config${config}|requests|1h`,
  keyId: 'vk-eng', provider: 'openai', metric: 'requests', resetDuration: '1h', max,
  ...(config.startsWith(':') ? { configId: config.slice(1) } : {}),
  byPlace: config.startsWith('@'),
});
const key = (w: WindowIdentity) => w.counterKey;

describe('windowSuccessions', () => {
  const cases: Array<[string, WindowIdentity[], WindowIdentity[], Array<[WindowIdentity, WindowIdentity[]]>]> = [
    ['the same bundle again: nothing moves', [daily('@1', 5), daily('@2', 8)], [daily('@1', 5), daily('@2', 8)], []],
    ['the first of two configs removed: the second carries its counter to the first place',
      [daily('@1', 100), daily('@2', 5)], [daily('@1', 5)], [[daily('@1', 5), [daily('@2', 5)]]]],
    ['a config inserted before: the old one moves on, the new one starts afresh (not from the row under its key)',
      [daily('@1', 5)], [daily('@1', 100), daily('@2', 5)], [[daily('@1', 100), []], [daily('@2', 5), [daily('@1', 5)]]]],
    ['two configs trade places', [daily('@1', 5), daily('@2', 8)], [daily('@1', 8), daily('@2', 5)],
      [[daily('@1', 8), [daily('@2', 8)]], [daily('@2', 5), [daily('@1', 5)]]]],
    ['a budget\'s maximum changed in place: the row under its key is still its own', [daily('@1', 5)], [daily('@1', 10)], []],
    ['a config added at the end: nothing moves', [daily('@1', 5)], [daily('@1', 5), daily('@2', 8)], []],
    ['identical configs, the first removed: it cannot be told which; the one left continues from the larger',
      [daily('@1', 5), daily('@2', 5)], [daily('@1', 5)], [[daily('@1', 5), [daily('@1', 5), daily('@2', 5)]]]],
    ['identical rate limits, one added: both continue from the old one (counted against both)',
      [hourly('@1', 3)], [hourly('@1', 3), hourly('@2', 3)], [[hourly('@2', 3), [hourly('@1', 3)]]]],
    ['configs with ids keep their keys, however alike their windows', [hourly(':11', 3), hourly(':12', 3)],
      [hourly(':11', 3), hourly(':12', 3), hourly(':13', 3)], []],
    ['a config gains an id: its windows move to the key by id', [daily('@1', 5), hourly('@1', 3)], [daily(':11', 5), hourly(':11', 3)],
      [[daily(':11', 5), [daily('@1', 5)]], [hourly(':11', 3), [hourly('@1', 3)]]]],
    ['two configs gain ids: each by its own budget', [daily('@1', 5), daily('@2', 8)], [daily(':11', 5), daily(':12', 8)],
      [[daily(':11', 5), [daily('@1', 5)]], [daily(':12', 8), [daily('@2', 8)]]]],
    ['a config gains an id next to one that already had it: matched by id first', [daily(':11', 5), daily('@1', 5)], [daily(':11', 5), daily(':12', 5)],
      [[daily(':12', 5), [daily('@1', 5)]]]],
    ['another key\'s window of the same shape is another window', [daily('@1', 5)], [daily('@1', 5, { keyId: 'vk-ops', counterKey: 'vk:vk-ops/provider:openai/config@1|spend|1d|budget@1' })], []],
  ];
  it.each(cases)('%s', (_name, previous, next, expected) => {
    const byKey = (a: { counterKey: string }, b: { counterKey: string }) => a.counterKey.localeCompare(b.counterKey);
    expect(windowSuccessions(previous, next).sort(byKey)).toEqual(expected.map(([w, from]) => ({ counterKey: key(w), from: from.map(key) })).sort(byKey));
  });
});
