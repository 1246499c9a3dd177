import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { edgeError, type EdgeError } from '../edge-error.js';

export class RequestBodyError extends Error {
  constructor(readonly edge: EdgeError) {
    super(edge.message);
  }
}

/**
 * Reads a request body into memory, refusing it as soon as it passes `maxBytes` (declared or
 * actual) so an oversized upload cannot exhaust the agent's memory.
 */
export function readRequestBody(req: Readable & { headers?: Record<string, unknown> }, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers?.['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(new RequestBodyError(tooLarge(declared, maxBytes)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.resume();
        reject(new RequestBodyError(tooLarge(size, maxBytes)));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', (err) => reject(new RequestBodyError(unreadable(err))));
    req.resume();
  });
}

export function unreadable(err: Error): EdgeError {
  return edgeError(400, 'invalid_request', `The request body could not be read: ${err.message}.`);
}

export function tooLarge(size: number, maxBytes: number): EdgeError {
  return edgeError(413, 'request_too_large',
    `The request body (${formatBytes(size)}${size > maxBytes ? ' or more' : ''}) is larger than the ${formatBytes(maxBytes)} Bifrost Edge inspects. Send a smaller request or ask IT to raise proxy.maxRequestBodyBytes.`);
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

type Decoder = (input: Buffer, opts: zlib.ZlibOptions) => Buffer;
const DECODERS: Record<string, Decoder> = {
  gzip: (b, o) => zlib.gunzipSync(b, o),
  'x-gzip': (b, o) => zlib.gunzipSync(b, o),
  deflate: (b, o) => zlib.inflateSync(b, o),
  br: (b, o) => zlib.brotliDecompressSync(b, o as zlib.BrotliOptions),
  identity: (b) => b,
};
// Node 22.15+ ships zstd; on older runtimes a zstd body is refused rather than forwarded unseen.
const zstdSync = (zlib as unknown as { zstdDecompressSync?: Decoder }).zstdDecompressSync;
if (zstdSync) DECODERS.zstd = zstdSync;

/**
 * Decodes a Content-Encoding'd body for inspection only (the original bytes are what get
 * forwarded). Output is capped at `maxBytes` so a decompression bomb is refused, not inflated.
 */
export function decodeForInspection(raw: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  if (!contentEncoding) return raw;
  const codings = contentEncoding.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
  let body = raw;
  // Codings are listed in the order they were applied, so undo them from last to first.
  for (const coding of codings.reverse()) {
    const decode = DECODERS[coding];
    if (!decode) {
      throw new RequestBodyError(edgeError(415, 'unsupported_content_encoding',
        `Bifrost Edge cannot inspect a request body encoded with "${coding}" (supported: ${Object.keys(DECODERS).join(', ')}). Send it uncompressed or with gzip/br.`));
    }
    try {
      body = decode(body, { maxOutputLength: maxBytes });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new RequestBodyError(tooLarge(maxBytes + 1, maxBytes));
      throw new RequestBodyError(edgeError(400, 'invalid_request',
        `The request body says Content-Encoding: ${coding} but is not valid ${coding} data (${(err as Error).message}).`));
    }
  }
  return body;
}
