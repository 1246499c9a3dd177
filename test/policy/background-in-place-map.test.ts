import { expect, it } from 'vitest';
import { InPlaceBoundedMap } from '../../src/policy/background-in-place-map.js';
import type { CrowdedBy } from '../../src/policy/per-key-bounded-map.js';
import { countMapWrites } from './background-map-work.js';

/**
 * InPlaceBoundedMap puts back what a rolled-back change removed (background-change.ts) where it was, without meeting a
 * bound, and mends the order once, however many were put back.
 */

interface Record { key: string; owner: string }
const record = (key: string, owner = 'vk-a'): Record => ({ key, owner });

function mapOf(maxEntries: number, maxPerKey: number) {
  const crowded: Array<[string, CrowdedBy]> = [];
  const map = new InPlaceBoundedMap<Record>(maxEntries, maxPerKey, (key, _value, by) => { crowded.push([key, by]); }, (value) => value.owner);
  const add = (...records: Record[]) => { for (const r of records) map.set(r.key, r.owner, r); };
  /** Every key, oldest first, taken out as a give-up of each oldest would. */
  const drain = () => {
    const keys: string[] = [];
    for (let key = map.oldest(); key !== undefined; key = map.oldest()) {
      keys.push(key);
      map.delete(key);
    }
    return keys;
  };
  return { map, crowded, add, drain };
}

it('records put back, newest first as a rollback does, are found in their places', () => {
  const { map, add, drain } = mapOf(100, 100);
  const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((key) => record(key));
  add(a!, b!, c!, d!, e!);
  map.delete('b');
  map.delete('d');
  map.putBack('d', d!);
  map.putBack('b', b!);
  expect(map.get('b')).toBe(b);
  expect(map.size).toBe(5);
  expect(drain()).toEqual(['a', 'b', 'c', 'd', 'e']);
});

it('a key\'s own bound crowds out its oldest record put back first, not a newer one', () => {
  const { map, crowded, add } = mapOf(100, 3);
  const [a, b, c] = ['a', 'b', 'c'].map((key) => record(key));
  add(a!, b!, c!, record('other', 'vk-b'));
  map.delete('a');
  map.putBack('a', a!);
  add(record('d'));
  expect(crowded).toEqual([['a', 'own_key']]);
});

it('a put-back meets no bound and tells no one: the next set of its key crowds out down to the bound, oldest first', () => {
  const { map, crowded, add } = mapOf(100, 1);
  const a = record('a');
  add(a, record('b'));
  expect(crowded).toEqual([['a', 'own_key']]);
  map.putBack('a', a);
  expect(crowded).toHaveLength(1);
  expect(map.size).toBe(2);
  add(record('c'));
  expect(crowded).toEqual([['a', 'own_key'], ['a', 'own_key'], ['b', 'own_key']]);
  expect(map.size).toBe(1);
});

it('a rollback that puts back many records mends the order in one pass over the map, not one per record', () => {
  const N = 2_000;
  const PUT_BACK = 20;
  const { map, add } = mapOf(10 * N, 10 * N);
  const records = Array.from({ length: N }, (_, i) => record(`r${i}`, `vk-${i % 7}`));
  add(...records);
  const dropped = records.slice(0, PUT_BACK);
  for (const r of dropped) map.delete(r.key);
  const work = countMapWrites(map);
  for (const r of [...dropped].reverse()) map.putBack(r.key, r);
  expect(map.oldest()).toBe('r0');
  // One append a record put back, then one refill of the whole map (and its clear); mended at each put-back, the map
  // was emptied and refilled once per record: PUT_BACK * 2N writes.
  expect(work.writes).toBeLessThanOrEqual(PUT_BACK + N + 1);
  expect(map.size).toBe(N);
});
