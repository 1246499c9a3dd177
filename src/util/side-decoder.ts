import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/**
 * Decodes a compressed HTTP body on the side while the proxy relays the original bytes, for the readers
 * that need its text (the usage meter, the answer scanner). Servers compress whenever the client offers
 * to accept it, and the official SDKs always offer, so a reader that skipped compressed bodies would
 * skip most real answers.
 */
export interface SideDecoder {
  /** A chunk of the body as it came over the wire. */
  push(chunk: Uint8Array): void;
  /** The body ended (completely or not). Safe to call more than once. */
  end(): void;
  /**
   * Settles after the last decoded chunk reached `onData` and `onEnd` ran, whether the body decoded
   * cleanly, was cut short, or was corrupt (`onEnd` gets what went wrong). Never rejects.
   */
  readonly finished: Promise<void>;
}

/**
 * A side decoder for `contentEncoding`, or undefined when it is one Node cannot decode here (zstd on Node
 * 20, stacked codings such as "gzip, br"). Identity bodies pass straight through, synchronously.
 */
export function decodeAlongside(
  contentEncoding: string | undefined,
  onData: (chunk: Buffer) => void,
  onEnd: (error?: Error) => void,
): SideDecoder | undefined {
  if (isIdentity(contentEncoding)) return passThrough(onData, onEnd);
  const decoder = createDecoder(normalize(contentEncoding));
  if (!decoder) return undefined;
  let settle!: () => void;
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  let ended = false;
  const finish = (error?: Error) => {
    if (ended) return;
    ended = true;
    try {
      onEnd(error);
    } finally {
      // Whoever waits on `finished` (the exchange's record) must not wait forever for a reader that threw.
      settle();
    }
  };
  decoder.on('data', (chunk: Buffer) => onData(chunk));
  decoder.once('end', () => finish());
  // A truncated body (the client or server went away) still yields what was decoded before the cut.
  decoder.once('error', (error) => finish(error));
  return {
    push: (chunk) => {
      if (!decoder.destroyed && !decoder.writableEnded) decoder.write(chunk);
    },
    // A second end() on a zlib stream would raise an error.
    end: () => {
      if (!decoder.destroyed && !decoder.writableEnded) decoder.end();
    },
    finished,
  };
}

/** A reader of a body's decoded bytes, fed by a side decoder it shares with the body's other readers. */
export interface DecodedBodyReader {
  push(chunk: Buffer): void;
  /** The body ended (completely or not); `error` says what could not be decoded (corrupt, cut short). */
  end(error?: Error): void;
}

/**
 * One side decoder for every reader of a body: each gets every decoded chunk, in the order given, then
 * its end. An answer read by the meter, the answer tally and the scanner is inflated once, not once per
 * reader (inflating is most of what reading a compressed answer costs); each reader keeps its own bound
 * on what it holds, so a decompression bomb is read by nobody past their bounds. Undefined when Node
 * cannot decode `contentEncoding` here, as for decodeAlongside.
 */
export function decodeOnceFor(contentEncoding: string | undefined, readers: readonly DecodedBodyReader[]): SideDecoder | undefined {
  return decodeAlongside(
    contentEncoding,
    (chunk) => {
      for (const reader of readers) reader.push(chunk);
    },
    (error) => endEach(readers, error),
  );
}

/** Whether a side decoder reads `contentEncoding` here (a plain body included). */
export function canDecodeAlongside(contentEncoding: string | undefined): boolean {
  return isIdentity(contentEncoding) || Object.hasOwn(STREAM_DECODERS, normalize(contentEncoding));
}

/** Tells every reader the body ended, even when one before it throws: each has a record or a charge waiting on its end. */
function endEach(readers: readonly DecodedBodyReader[], error: Error | undefined): void {
  const failures: unknown[] = [];
  for (const reader of readers) {
    try {
      reader.end(error);
    } catch (failure) {
      failures.push(failure);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/**
 * An Accept-Encoding that offers only what a side decoder reads, or `value` itself when it already
 * does. Browsers offer zstd, which Node 20 cannot decode: a server that picked it would leave the answer
 * unread (no usage, no scan). `*` goes too, since it would let the server pick anything; when nothing is
 * left, the server is asked for identity.
 */
export function decodableAcceptEncoding(value: string): string {
  const offers = value.split(',').map((offer) => offer.trim()).filter(Boolean);
  const kept = offers.filter((offer) => {
    const coding = offer.split(';')[0]!.trim().toLowerCase();
    return coding === 'identity' || Object.hasOwn(STREAM_DECODERS, coding);
  });
  if (kept.length === offers.length) return value;
  return kept.length > 0 ? kept.join(', ') : 'identity';
}

function passThrough(onData: (chunk: Buffer) => void, onEnd: (error?: Error) => void): SideDecoder {
  let ended = false;
  let settle!: () => void;
  // Settles at end(), not before: an exchange the client cut off is recorded before the upstream's
  // answer has closed, and its record waits for what the end still reports (the usage charged).
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  return {
    push: (chunk) => {
      if (!ended) onData(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
    end: () => {
      if (ended) return;
      ended = true;
      try {
        onEnd();
      } finally {
        settle();
      }
    },
    finished,
  };
}

function isIdentity(contentEncoding: string | undefined): boolean {
  const encoding = normalize(contentEncoding);
  return encoding === '' || encoding === 'identity';
}

function normalize(contentEncoding: string | undefined): string {
  return (contentEncoding ?? '').trim().toLowerCase();
}

/** The codings a side decoder reads, and how. Flush on every write: a stream is read as it goes, not when zlib's buffer fills. */
const STREAM_DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: () => zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  'x-gzip': () => zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  deflate: () => zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
  br: () => zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
};

function createDecoder(encoding: string): Transform | undefined {
  return Object.hasOwn(STREAM_DECODERS, encoding) ? STREAM_DECODERS[encoding]!() : undefined;
}
