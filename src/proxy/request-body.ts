import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { edgeError, type EdgeError } from '../edge-error.js';
import { formatSeconds } from '../util/format-seconds.js';

export class RequestBodyError extends Error {
  /** `retryAfterSeconds`: the refusal is for now only (an answer's Retry-After), as when the upload spool budget is full. */
  constructor(readonly edge: EdgeError, readonly retryAfterSeconds?: number) {
    super(edge.message);
  }
}

/**
 * How long a request body may stop arriving (no bytes between two chunks) before Edge ends the request with 408
 * (proxy.requestBodyIdleTimeoutMs). The proxy's servers have no bound on a whole request (a large upload on a slow
 * link may take many minutes); this one ends a client that stopped sending, which would otherwise hold its
 * request, and the memory read so far, forever. Two minutes: TCP retransmissions on a poor link pause well under that.
 */
export const REQUEST_BODY_IDLE_TIMEOUT_MS = 120_000;

/**
 * Reads a request body into memory, refusing it as soon as it passes `maxBytes` (declared or
 * actual) so an oversized upload cannot exhaust the agent's memory, and (408) once it stops
 * arriving for `idleTimeoutMs`.
 */
export function readRequestBody(req: Readable & { headers?: Record<string, unknown> }, maxBytes: number, idleTimeoutMs = REQUEST_BODY_IDLE_TIMEOUT_MS): Promise<Buffer> {
  const declared = Number(req.headers?.['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(new RequestBodyError(tooLarge(declared, maxBytes)));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: RequestBodyError) => {
      clearTimeout(idleTimer);
      req.off('data', onData);
      // What is left of the body is read and dropped, so the refusal can be answered on this connection.
      req.resume();
      reject(err);
    };
    // Restarted on every chunk: refresh() reschedules the one timer instead of making a new one.
    const idleTimer = setTimeout(() => fail(new RequestBodyError(bodyStalled('the request body', idleTimeoutMs))), idleTimeoutMs);
    const onData = (chunk: Buffer) => {
      idleTimer.refresh();
      size += chunk.length;
      if (size > maxBytes) {
        fail(new RequestBodyError(tooLarge(size, maxBytes)));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      clearTimeout(idleTimer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', (err) => fail(new RequestBodyError(unreadable(err))));
    req.resume();
  });
}

/** A body (`what`: the request body, the upload) that stopped arriving for `idleMs`: the request is ended. */
export function bodyStalled(what: string, idleMs: number): EdgeError {
  const subject = what.charAt(0).toUpperCase() + what.slice(1);
  return edgeError(408, 'request_timeout',
    `${subject} stopped arriving: Bifrost Edge received none of it for ${formatSeconds(idleMs)}, so it ended the request. Send it again; a client whose sending pauses longer needs a higher proxy.requestBodyIdleTimeoutMs.`);
}


export function unreadable(err: Error): EdgeError {
  return edgeError(400, 'invalid_request', `The request body could not be read: ${err.message}.`);
}

export function tooLarge(size: number, maxBytes: number): EdgeError {
  return edgeError(413, 'request_too_large',
    `The request body (${formatBytes(size)}${size > maxBytes ? ' or more' : ''}) is larger than the ${formatBytes(maxBytes)} Bifrost Edge inspects. Send a smaller request or ask IT to raise proxy.maxRequestBodyBytes.`);
}

/** A body with `bytes` after the end of its `coding` data, which Node's decoder drops and others may read. */
export function dataAfterCompressed(coding: string, bytes: number): EdgeError {
  return edgeError(400, 'invalid_request',
    `The request body says Content-Encoding: ${coding} but has ${formatBytes(bytes)} after the end of its ${coding} data, which Bifrost Edge would not read but other servers might. Send the compressed data alone.`);
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / (1024 * 1024 * 1024)).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** A coding undone: the bytes, and how many of the input the decoder read (undefined when it cannot tell). */
type Decoder = (input: Buffer, opts: zlib.ZlibOptions) => { buffer: Buffer; read?: number };
/** zlib's *Sync decoders with `info: true` also return their engine, whose bytesWritten is the input it read. */
type SyncDecoder = (input: Buffer, opts: zlib.ZlibOptions & { info: true }) => unknown;
const withInfo = (decode: SyncDecoder): Decoder => (b, o) => {
  const { buffer, engine } = decode(b, { ...o, info: true }) as { buffer: Buffer; engine?: { bytesWritten?: number } };
  return { buffer, read: engine?.bytesWritten };
};
const DECODERS: Record<string, Decoder> = {
  gzip: withInfo(zlib.gunzipSync as SyncDecoder),
  'x-gzip': withInfo(zlib.gunzipSync as SyncDecoder),
  deflate: withInfo(zlib.inflateSync as SyncDecoder),
  br: withInfo(zlib.brotliDecompressSync as SyncDecoder),
  identity: (b) => ({ buffer: b, read: b.length }),
};
// Node 22.15+ ships zstd; on older runtimes a zstd body is refused rather than forwarded unseen.
const zstdSync = (zlib as unknown as { zstdDecompressSync?: SyncDecoder }).zstdDecompressSync;
if (zstdSync) DECODERS.zstd = withInfo(zstdSync);

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
    let decoded: { buffer: Buffer; read?: number };
    try {
      decoded = decode(body, { maxOutputLength: maxBytes });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new RequestBodyError(tooLarge(maxBytes + 1, maxBytes));
      throw new RequestBodyError(edgeError(400, 'invalid_request',
        `The request body says Content-Encoding: ${coding} but is not valid ${coding} data (${(err as Error).message}).`));
    }
    // The decoder stops at the end of the compressed data and drops what follows (zero padding and another gzip
    // member, anything after a deflate or br stream): bytes forwarded unread, which other decoders may read.
    if (decoded.read !== undefined && decoded.read !== body.length) {
      throw new RequestBodyError(dataAfterCompressed(coding, body.length - decoded.read));
    }
    body = decoded.buffer;
  }
  return body;
}
