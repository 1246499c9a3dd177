import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canDecodeAlongside, decodeOnceFor, type DecodedBodyReader } from '../../src/util/side-decoder.js';

const TEXT = 'data: {"answer":"ünïcode survives"}\n\n'.repeat(500);

/** A reader that keeps what it was given. */
function keeper(): DecodedBodyReader & { text(): string; ends: Array<Error | undefined> } {
  const chunks: Buffer[] = [];
  const ends: Array<Error | undefined> = [];
  return { push: (chunk) => chunks.push(chunk), end: (error) => ends.push(error), text: () => Buffer.concat(chunks).toString('utf8'), ends };
}

/** Feeds `body` in 11-byte pieces and waits for the decoder to finish. */
async function feed(encoding: string | undefined, body: Buffer, readers: DecodedBodyReader[]): Promise<void> {
  const decoder = decodeOnceFor(encoding, readers)!;
  for (let i = 0; i < body.length; i += 11) decoder.push(body.subarray(i, i + 11));
  decoder.end();
  await decoder.finished;
}

describe('decodeOnceFor', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each([
    ['identity', undefined, Buffer.from(TEXT), []],
    ['gzip', 'gzip', zlib.gzipSync(TEXT), ['createGunzip']],
    ['deflate', 'deflate', zlib.deflateSync(TEXT), ['createInflate']],
    ['br', 'br', zlib.brotliCompressSync(TEXT), ['createBrotliDecompress']],
  ] as const)('%s: every reader gets the whole decoded body and one end, from one decoder', async (_name, encoding, body, factories) => {
    const spies = (['createGunzip', 'createInflate', 'createBrotliDecompress'] as const).map((name) => [name, vi.spyOn(zlib, name)] as const);
    const readers = [keeper(), keeper(), keeper()];
    await feed(encoding, body, readers);
    for (const reader of readers) {
      expect(reader.text()).toBe(TEXT);
      expect(reader.ends).toEqual([undefined]);
    }
    expect(spies.filter(([, spy]) => spy.mock.calls.length > 0).map(([name, spy]) => [name, spy.mock.calls.length])).toEqual(factories.map((name) => [name, 1]));
  });

  it('a corrupt body: every reader is told what went wrong', async () => {
    const readers = [keeper(), keeper()];
    await feed('gzip', Buffer.from('not gzip at all'), readers);
    for (const reader of readers) expect(reader.ends).toEqual([expect.objectContaining({ message: expect.stringMatching(/header/i) })]);
  });

  it('a reader that throws at the end does not keep the others from theirs, and finished still settles', async () => {
    const after = keeper();
    const thrower: DecodedBodyReader = { push: () => {}, end: () => { throw new Error('the meter failed'); } };
    const decoder = decodeOnceFor(undefined, [thrower, after])!;
    decoder.push(Buffer.from('plain'));
    expect(() => decoder.end()).toThrow('the meter failed');
    await decoder.finished;
    expect(after.text()).toBe('plain');
    expect(after.ends).toEqual([undefined]);
  });

  it('encodings Node cannot decode here get no decoder, as decodeAlongside; canDecodeAlongside says so up front', () => {
    expect(decodeOnceFor('zstd-unknown', [keeper()])).toBeUndefined();
    expect(decodeOnceFor('gzip, br', [keeper()])).toBeUndefined();
    expect([undefined, '', ' Identity ', 'gzip', 'x-gzip', 'deflate', 'BR'].map(canDecodeAlongside)).toEqual([true, true, true, true, true, true, true]);
    expect(['zstd-unknown', 'gzip, br', 'compress'].map(canDecodeAlongside)).toEqual([false, false, false]);
  });
});
