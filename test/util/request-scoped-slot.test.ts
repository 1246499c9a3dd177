import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RequestScopedSlot } from '../../src/util/request-scoped-slot.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (options?: { type: 'minor' }) => void;

/** Bytes in use in the young and old generations. */
function heapInUse(): number {
  return v8.getHeapSpaceStatistics()
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'old_space')
    .reduce((sum, s) => sum + s.space_used_size, 0);
}

const PAYLOAD_OBJECTS = 20_000;

/**
 * How much of a ~640 KB payload, attached to an owner that is then dropped, is still in the heap after
 * two young-generation collections (what runs between requests under load), with no full collection.
 */
function retainedAfterScavenges(attach: (owner: object, payload: object) => void, keepOwner = false): number {
  gc(); // the slot's own structures are old now, as they are in a running agent
  const before = heapInUse();
  let kept: object | undefined;
  (() => {
    const owner = {};
    attach(owner, Array.from({ length: PAYLOAD_OBJECTS }, (_, i) => ({ i })));
    if (keepOwner) kept = owner;
  })();
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  const retained = heapInUse() - before;
  expect(kept === undefined).toBe(!keepOwner);
  return retained;
}

describe('RequestScopedSlot', () => {
  it('gives back what was set on the same object, nothing for another, and forgets on delete', () => {
    const slot = new RequestScopedSlot<object, string>('test');
    const a = {};
    const b = {};
    slot.set(a, 'for a');
    expect(slot.get(a)).toBe('for a');
    expect(slot.get(b)).toBeUndefined();
    slot.set(a, 'again');
    expect(slot.get(a)).toBe('again');
    slot.delete(a);
    expect(slot.get(a)).toBeUndefined();
  });

  it('two slots on one object keep their own values', () => {
    const first = new RequestScopedSlot<object, number>('first');
    const second = new RequestScopedSlot<object, number>('same description');
    const third = new RequestScopedSlot<object, number>('same description');
    const owner = {};
    first.set(owner, 1);
    second.set(owner, 2);
    third.set(owner, 3);
    expect([first.get(owner), second.get(owner), third.get(owner)]).toEqual([1, 2, 3]);
  });

  it('leaves the object as its other readers see it: keys, JSON, spreads and copies', () => {
    const slot = new RequestScopedSlot<Record<string, unknown>, string>('hidden');
    const owner: Record<string, unknown> = { model: 'gpt-4o' };
    slot.set(owner, 'ticket');
    expect(Object.keys(owner)).toEqual(['model']);
    expect(JSON.stringify(owner)).toBe('{"model":"gpt-4o"}');
    const copy = { ...owner };
    const assigned = Object.assign({}, owner);
    // A copy is another request as far as the slot goes, as it was for the WeakMap it replaces.
    expect(slot.get(copy)).toBeUndefined();
    expect(slot.get(assigned)).toBeUndefined();
    expect(slot.get(owner)).toBe('ticket');
  });

  it('works on objects that cannot take a property (frozen, sealed, non-extensible)', () => {
    const slot = new RequestScopedSlot<object, string>('fallback');
    for (const owner of [Object.freeze({}), Object.seal({}), Object.preventExtensions({})]) {
      slot.set(owner, 'kept aside');
      expect(slot.get(owner)).toBe('kept aside');
      slot.delete(owner);
      expect(slot.get(owner)).toBeUndefined();
    }
  });

  it('does not carry a dropped object\'s value through young-generation collections (a WeakMap does)', () => {
    const slot = new RequestScopedSlot<object, object>('payload');
    // The measurement sees a payload that is still reachable...
    const reachable = retainedAfterScavenges((owner, payload) => slot.set(owner, payload), true);
    expect(reachable).toBeGreaterThan(PAYLOAD_OBJECTS * 16);
    // ...and a dropped owner's payload is gone without waiting for a full collection.
    const dropped = retainedAfterScavenges((owner, payload) => slot.set(owner, payload));
    expect(dropped).toBeLessThan(reachable / 4);
  });
});
