import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/** A zlib decoder: bytesWritten is how much of its input it read, which stops at the end of the compressed data. */
export type ContentDecoder = Transform & { readonly bytesWritten: number };

/**
 * The Content-Encodings a request body can be decoded in as it arrives (one zlib stream each), so a compressed upload
 * is spooled and inspected as a plain one is. `identity` needs no decoder. Node 22.15+ also decodes zstd.
 */
const STREAMING_DECODERS: Record<string, () => ContentDecoder> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};
const createZstd = (zlib as unknown as { createZstdDecompress?: () => ContentDecoder }).createZstdDecompress;
if (createZstd) STREAMING_DECODERS.zstd = () => createZstd();

/**
 * The one coding a request body's Content-Encoding names, lower-cased, when it can be decoded as the body arrives;
 * `identity` (or no header) for a plain body; undefined for anything else (several codings, one Node cannot decode),
 * which is left to the in-memory reader (decodeForInspection), whose answer it keeps.
 */
export function streamableContentCoding(contentEncoding: string | undefined): string | undefined {
  if (contentEncoding === undefined) return 'identity';
  const codings = contentEncoding.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
  if (codings.length === 0) return 'identity';
  if (codings.length !== 1) return undefined;
  const coding = codings[0]!;
  return coding === 'identity' || coding in STREAMING_DECODERS ? coding : undefined;
}

/** A stream that undoes `coding` (one streamableContentCoding named, not identity). */
export function createContentDecoder(coding: string): ContentDecoder {
  const create = STREAMING_DECODERS[coding];
  if (create === undefined) throw new Error(`no streaming decoder for Content-Encoding ${coding}`);
  return create();
}
