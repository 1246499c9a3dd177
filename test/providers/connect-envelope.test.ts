import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeEnvelope, readRequestEnvelopes } from '../../src/providers/connect-envelope.js';
import { concat, envelope, pb } from './protobuf-support.js';

const MAX = 1024 * 1024;
const read = (body: Uint8Array, encoding?: string, maxMessageBytes = MAX) => readRequestEnvelopes(body, { encoding, maxMessageBytes });

describe('Connect request envelopes', () => {
  it('splits a body into messages, keeping each envelope as sent', () => {
    const first = pb.text(1, 'one');
    const second = pb.text(1, 'two');
    const body = concat(envelope(0, first), envelope(0, second), envelope(0, new Uint8Array(0)));
    const result = read(body);
    if (!result.ok) throw new Error(result.problem);
    expect(result.envelopes.map((e) => Buffer.from(e.message).toString())).toEqual([Buffer.from(first).toString(), Buffer.from(second).toString(), '']);
    expect(Buffer.concat(result.envelopes.map((e) => e.raw)).equals(Buffer.from(body))).toBe(true);
  });

  it('reads an empty body as no messages (a streaming request may send none)', () => {
    expect(read(new Uint8Array(0))).toEqual({ ok: true, envelopes: [] });
  });

  it.each(['gzip', 'br'])('decompresses envelopes flagged 0x01 with Connect-Content-Encoding %s', (encoding) => {
    const message = pb.text(1, 'compressed prompt '.repeat(20));
    const compressed = encoding === 'gzip' ? zlib.gzipSync(message) : zlib.brotliCompressSync(message);
    const result = read(concat(envelope(1, compressed), envelope(0, message)), encoding);
    if (!result.ok) throw new Error(result.problem);
    expect(result.envelopes.map((e) => [e.flags, Buffer.from(e.message).equals(Buffer.from(message))])).toEqual([[1, true], [0, true]]);
  });

  it.each([
    ['a truncated prefix', Uint8Array.from([0, 0, 0]), undefined, 400, 'the body ends inside the prefix of envelope 1 (3 bytes left of 5)'],
    ['a length past the end', concat(envelope(0, pb.text(1, 'ok')), Uint8Array.from([0, 0, 0, 0, 9, 1, 2])), undefined, 400, 'envelope 2 says 9 bytes but only 2 remain'],
    ['an end-of-stream flag in a request', envelope(2, Buffer.from('{}')), undefined, 400, 'envelope 1 is marked end-of-stream, which only a response may send'],
    ['reserved flag bits', envelope(0x80, pb.text(1, 'x')), undefined, 400, 'envelope 1 sets reserved flag bits (0x80)'],
    ['compression without an encoding', envelope(1, zlib.gzipSync('x')), undefined, 400, 'envelope 1 is marked compressed but the request sends no Connect-Content-Encoding'],
    ['an encoding Edge cannot read', envelope(1, Buffer.from('x')), 'snappy', 415, 'envelope 1 is compressed with "snappy", which Edge cannot read'],
    ['corrupt gzip', envelope(1, Buffer.from('not gzip at all')), 'gzip', 400, 'envelope 1 is not valid gzip data'],
  ])('refuses %s', (_name, body, encoding, status, problem) => {
    const result = read(body, encoding);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.status).toBe(status);
      expect(result.problem).toContain(problem);
    }
  });

  it('refuses a decompression bomb before inflating it whole', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(read(envelope(1, bomb), 'gzip', MAX)).toEqual({ ok: false, status: 413, problem: `the messages are larger than ${MAX} bytes once decompressed` });
  });

  it('encodes an envelope as flag, big-endian length, message', () => {
    expect(encodeEnvelope(2, Buffer.from('{}')).toString('hex')).toBe('02000000027b7d');
    const long = Buffer.alloc(300, 0x61);
    expect([...encodeEnvelope(0, long).subarray(0, 5)]).toEqual([0, 0, 0, 1, 44]);
  });
});
