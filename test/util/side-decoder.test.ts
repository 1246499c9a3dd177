import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodableAcceptEncoding, decodeAlongside } from '../../src/util/side-decoder.js';

const TEXT = 'data: {"answer":"ünïcode survives"}\n\n'.repeat(200);

/** Feeds `body` in 7-byte pieces and returns what the decoder handed on, once `finished` settles. */
async function decode(body: Buffer, encoding: string | undefined): Promise<{ text: string; ended: number; error?: Error }> {
  const out: Buffer[] = [];
  let ended = 0;
  let error: Error | undefined;
  const decoder = decodeAlongside(encoding, (chunk) => out.push(chunk), (err) => {
    ended++;
    error = err;
  })!;
  for (let i = 0; i < body.length; i += 7) decoder.push(body.subarray(i, i + 7));
  decoder.end();
  decoder.end();
  await decoder.finished;
  return { text: Buffer.concat(out).toString('utf8'), ended, ...(error ? { error } : {}) };
}

describe('decodeAlongside', () => {
  it.each([
    ['identity', Buffer.from(TEXT), undefined],
    ['identity (named)', Buffer.from(TEXT), ' Identity '],
    ['gzip', zlib.gzipSync(TEXT), 'gzip'],
    ['x-gzip', zlib.gzipSync(TEXT), 'x-gzip'],
    ['deflate', zlib.deflateSync(TEXT), 'deflate'],
    ['br', zlib.brotliCompressSync(TEXT), 'BR'],
  ])('%s: everything decoded has reached the reader, and the end was told once, when finished settles', async (_name, body, encoding) => {
    expect(await decode(body, encoding)).toEqual({ text: TEXT, ended: 1 });
  });

  it('a corrupt body ends with the error, and finished still settles', async () => {
    const result = await decode(Buffer.from('not gzip at all'), 'gzip');
    expect(result.ended).toBe(1);
    expect(result.error?.message).toMatch(/header/i);
  });

  it('a body cut short hands on what was decoded before the cut', async () => {
    const gz = zlib.gzipSync(TEXT);
    const result = await decode(gz.subarray(0, gz.length - 12), 'gzip');
    expect(result.ended).toBe(1);
    expect(TEXT.startsWith(result.text)).toBe(true);
    expect(result.text.length).toBeGreaterThan(TEXT.length / 2);
  });

  it('encodings Node cannot decode here get no decoder (the caller reads nothing rather than garbage)', () => {
    expect(decodeAlongside('zstd-unknown', () => {}, () => {})).toBeUndefined();
    expect(decodeAlongside('gzip, br', () => {}, () => {})).toBeUndefined();
  });
});

describe('decodableAcceptEncoding', () => {
  it('keeps what Edge decodes (weights and spelling as sent) and drops the rest; identity when nothing is left', () => {
    expect(decodableAcceptEncoding('gzip, deflate, br')).toBe('gzip, deflate, br');
    expect(decodableAcceptEncoding('gzip, deflate, br, zstd')).toBe('gzip, deflate, br');
    expect(decodableAcceptEncoding('zstd;q=1.0, GZIP;q=0.5')).toBe('GZIP;q=0.5');
    expect(decodableAcceptEncoding('*')).toBe('identity');
    expect(decodableAcceptEncoding('zstd, compress')).toBe('identity');
    expect(decodableAcceptEncoding('identity')).toBe('identity');
  });
});
