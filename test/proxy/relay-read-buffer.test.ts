import { describe, expect, it } from 'vitest';
import { FULL_READS_BEFORE_BULK, RELAY_BULK_READ_BYTES, RELAY_SMALL_READ_BYTES, RelayReadBuffer, SMALL_READS_BEFORE_SHRINK } from '../../src/proxy/relay-read-buffer.js';

/** Feeds reads of these sizes; returns the buffer size the next read would use after each. */
function sizesAfter(reads: number[]): number[] {
  const buffer = new RelayReadBuffer();
  return reads.map((bytes) => {
    buffer.afterRead(bytes);
    return buffer.current.length;
  });
}

const S = RELAY_SMALL_READ_BYTES;
const L = RELAY_BULK_READ_BYTES;

describe('RelayReadBuffer: the buffer a blind tunnel reads into', () => {
  it('starts small: most tunnels carry page loads and API calls', () => {
    expect(new RelayReadBuffer().current.length).toBe(S);
  });

  it('a 200 KB script (three full reads, then the rest) never takes the large buffer', () => {
    expect(sizesAfter([S, S, S, 8_000, 1_000])).toEqual([S, S, S, S, S]);
  });

  it(`takes the large buffer after ${FULL_READS_BEFORE_BULK} full reads in a row: a bulk transfer`, () => {
    const full = Array.from({ length: FULL_READS_BEFORE_BULK }, () => S);
    expect(sizesAfter(full).at(-1)).toBe(L);
    // A short read in between starts the count over.
    expect(sizesAfter([S, S, S, 100, S, S, S])).toEqual(Array.from({ length: 7 }, () => S));
  });

  it(`gives the large buffer back after ${SMALL_READS_BEFORE_SHRINK} reads in a row that fit the small one`, () => {
    const bulk = Array.from({ length: FULL_READS_BEFORE_BULK }, () => S);
    const trickle = Array.from({ length: SMALL_READS_BEFORE_SHRINK }, () => 1_000);
    const sizes = sizesAfter([...bulk, L, 300_000, ...trickle]);
    expect(sizes.slice(FULL_READS_BEFORE_BULK - 1, FULL_READS_BEFORE_BULK + 2)).toEqual([L, L, L]);
    expect(sizes.slice(-2)).toEqual([L, S]);
  });

  it('an uneven download does not flip back and forth', () => {
    const bulk = Array.from({ length: FULL_READS_BEFORE_BULK }, () => S);
    // Reads that alternate between large and small ones keep the large buffer.
    expect(sizesAfter([...bulk, 10_000, 500_000, 10_000, 10_000, 700_000, 5_000]).slice(FULL_READS_BEFORE_BULK - 1)).toEqual([L, L, L, L, L, L, L]);
  });

  it('reuses the same small buffer rather than allocating a new one', () => {
    const buffer = new RelayReadBuffer();
    const small = buffer.current;
    for (let i = 0; i < FULL_READS_BEFORE_BULK; i++) buffer.afterRead(S);
    for (let i = 0; i < SMALL_READS_BEFORE_SHRINK; i++) buffer.afterRead(10);
    expect(buffer.current).toBe(small);
  });
});
