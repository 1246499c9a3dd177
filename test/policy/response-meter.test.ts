import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createResponseMeter } from '../../src/policy/response-meter.js';
import type { TokenUsage } from '../../src/policy/usage.js';

const stream = Buffer.from([
  'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":20}}\n\n',
].join(''));

function meter(body: Buffer, contentEncoding: string | undefined, contentType = 'text/event-stream'): Promise<TokenUsage | undefined> {
  return new Promise((resolve) => {
    const m = createResponseMeter({ contentType, contentEncoding }, resolve);
    for (let i = 0; i < body.length; i += 5) m.push(body.subarray(i, i + 5));
    m.end();
  });
}

describe('createResponseMeter', () => {
  const expected = { inputTokens: 10, outputTokens: 20, totalTokens: 30, cachedInputTokens: 0, reasoningTokens: 0 };

  it.each([
    ['identity', stream, undefined],
    ['gzip', zlib.gzipSync(stream), 'gzip'],
    ['deflate', zlib.deflateSync(stream), 'deflate'],
    ['br', zlib.brotliCompressSync(stream), 'br'],
  ])('%s', async (_name, body, encoding) => {
    expect(await meter(body, encoding)).toEqual(expected);
  });

  it('an encoding it cannot decode yields no usage (and no error)', async () => {
    expect(await meter(stream, 'zstd')).toBeUndefined();
  });

  it('a corrupt compressed body yields no usage', async () => {
    expect(await meter(Buffer.from('not gzip at all'), 'gzip')).toBeUndefined();
  });

  it('a truncated compressed stream still reports what was decoded', async () => {
    const gz = zlib.gzipSync(stream);
    expect(await meter(gz.subarray(0, gz.length - 12), 'gzip')).toMatchObject({ inputTokens: 10 });
  });

  it('finished settles after the usage of a compressed answer was reported', async () => {
    const reported: unknown[] = [];
    const m = createResponseMeter({ contentType: 'text/event-stream', contentEncoding: 'gzip' }, (u) => reported.push(u));
    m.push(zlib.gzipSync(stream));
    m.end();
    expect(reported).toEqual([]);
    await m.finished;
    expect(reported).toEqual([expected]);
  });

  it('reports once', () => {
    const calls: unknown[] = [];
    const m = createResponseMeter({ contentType: 'application/json', contentEncoding: undefined }, (u) => calls.push(u));
    m.push(Buffer.from('{"usage":{"prompt_tokens":1,"completion_tokens":1}}'));
    m.end();
    m.end();
    expect(calls).toHaveLength(1);
  });
});
