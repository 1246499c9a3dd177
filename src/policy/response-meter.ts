import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import { usageReaderFor, type TokenUsage } from './usage.js';

/**
 * Reads usage from a response the proxy is relaying, chunk by chunk, without holding it up: the proxy
 * hands each chunk over as it forwards it. Compressed bodies are decompressed on the side (gzip, deflate,
 * br); an encoding Node cannot decode here (zstd on Node 20) simply yields no usage.
 */
export interface ResponseMeter {
  push(chunk: Uint8Array): void;
  /** The response ended (completely or not): usage found so far is reported once through onUsage. */
  end(): void;
}

export interface ResponseMeterInput {
  contentType: string | undefined;
  contentEncoding: string | undefined;
}

export function createResponseMeter(input: ResponseMeterInput, onUsage: (usage: TokenUsage | undefined) => void): ResponseMeter {
  const reader = usageReaderFor(input.contentType);
  let reported = false;
  const report = (usage: TokenUsage | undefined) => {
    if (reported) return;
    reported = true;
    onUsage(usage);
  };
  if (!reader) return { push: () => {}, end: () => report(undefined) };

  const encoding = (input.contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') {
    return { push: (chunk) => reader.push(chunk), end: () => report(reader.end()) };
  }
  const decoder = decoderFor(encoding);
  if (!decoder) return { push: () => {}, end: () => report(undefined) };
  decoder.on('data', (chunk: Buffer) => reader.push(chunk));
  decoder.once('end', () => report(reader.end()));
  // A truncated body (client went away) still yields what was decoded so far.
  decoder.once('error', () => report(reader.end()));
  return {
    push: (chunk) => {
      if (!decoder.destroyed && !decoder.writableEnded) decoder.write(chunk);
    },
    // Callers may end twice ('end' then 'close'); a second end() on a zlib stream would raise an error.
    end: () => {
      if (!decoder.destroyed && !decoder.writableEnded) decoder.end();
    },
  };
}

function decoderFor(encoding: string): Transform | undefined {
  // Flush on every write: a stream must be metered as it goes, not when zlib's buffer fills.
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'deflate':
      return zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    default:
      return undefined;
  }
}
