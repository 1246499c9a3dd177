import zlib from 'node:zlib';

/**
 * Connect streaming framing (connectrpc.com/docs/protocol, "Streaming-Request"): the body is a sequence
 * of envelopes, each 1 flag byte + 4-byte big-endian length + message. Flag 0x01: the message is
 * compressed with the request's Connect-Content-Encoding (each message on its own). Flag 0x02: the
 * end-of-stream message, which only responses may send. The other six bits are reserved.
 */

export const ENVELOPE_COMPRESSED = 0x01;
export const ENVELOPE_END_STREAM = 0x02;
const KNOWN_FLAGS = ENVELOPE_COMPRESSED | ENVELOPE_END_STREAM;
const PREFIX_BYTES = 5;

export interface ConnectEnvelope {
  flags: number;
  /** The envelope exactly as sent (prefix and payload), forwarded as is when its message is unchanged. */
  raw: Uint8Array;
  /** The message, decompressed when the envelope was compressed. */
  message: Uint8Array;
}

export interface EnvelopeProblem {
  /** 400 malformed, 413 too large once decompressed, 415 compressed with an encoding Edge cannot read. */
  status: 400 | 413 | 415;
  problem: string;
}

export type EnvelopeRead = { ok: true; envelopes: ConnectEnvelope[] } | ({ ok: false } & EnvelopeProblem);

type Decompress = (input: Uint8Array, maxOutputLength: number) => Buffer;
const DECOMPRESSORS: Record<string, Decompress> = {
  gzip: (input, max) => zlib.gunzipSync(input, { maxOutputLength: max }),
  br: (input, max) => zlib.brotliDecompressSync(input, { maxOutputLength: max }),
};
// Node 22.15+ ships zstd; without it a zstd envelope is refused rather than forwarded unseen.
const zstdSync = (zlib as unknown as { zstdDecompressSync?: (input: Uint8Array, options: { maxOutputLength: number }) => Buffer }).zstdDecompressSync;
if (zstdSync) DECOMPRESSORS['zstd'] = (input, max) => zstdSync(input, { maxOutputLength: max });

/** Splits a streaming request body into its messages; `maxMessageBytes` bounds the decompressed total. */
export function readRequestEnvelopes(body: Uint8Array, options: { encoding: string | undefined; maxMessageBytes: number }): EnvelopeRead {
  const envelopes: ConnectEnvelope[] = [];
  const encoding = (options.encoding ?? 'identity').trim().toLowerCase();
  let total = 0;
  let pos = 0;
  while (pos < body.length) {
    const which = `envelope ${envelopes.length + 1}`;
    if (body.length - pos < PREFIX_BYTES) return bad(400, `the body ends inside the prefix of ${which} (${body.length - pos} bytes left of 5)`);
    const flags = body[pos]!;
    const length = new DataView(body.buffer, body.byteOffset + pos + 1, 4).getUint32(0);
    const start = pos + PREFIX_BYTES;
    if (length > body.length - start) return bad(400, `${which} says ${length} bytes but only ${body.length - start} remain`);
    if ((flags & ~KNOWN_FLAGS) !== 0) return bad(400, `${which} sets reserved flag bits (0x${flags.toString(16).padStart(2, '0')})`);
    if ((flags & ENVELOPE_END_STREAM) !== 0) return bad(400, `${which} is marked end-of-stream, which only a response may send`);
    const payload = body.subarray(start, start + length);
    let message: Uint8Array = payload;
    if ((flags & ENVELOPE_COMPRESSED) !== 0) {
      const decompress = DECOMPRESSORS[encoding];
      if (encoding === 'identity') return bad(400, `${which} is marked compressed but the request sends no Connect-Content-Encoding`);
      if (decompress === undefined) return bad(415, `${which} is compressed with "${encoding}", which Edge cannot read (it reads ${Object.keys(DECOMPRESSORS).join(', ')})`);
      try {
        message = decompress(payload, Math.max(0, options.maxMessageBytes - total));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return bad(413, `the messages are larger than ${options.maxMessageBytes} bytes once decompressed`);
        return bad(400, `${which} is not valid ${encoding} data`);
      }
    }
    total += message.length;
    if (total > options.maxMessageBytes) return bad(413, `the messages are larger than ${options.maxMessageBytes} bytes once decompressed`);
    envelopes.push({ flags, raw: body.subarray(pos, start + length), message });
    pos = start + length;
  }
  return { ok: true, envelopes };
}

/** One envelope: flags, big-endian length, message. */
export function encodeEnvelope(flags: number, message: Uint8Array): Buffer {
  const out = Buffer.alloc(PREFIX_BYTES + message.length);
  out[0] = flags;
  out.writeUInt32BE(message.length, 1);
  out.set(message, PREFIX_BYTES);
  return out;
}

function bad(status: EnvelopeProblem['status'], problem: string): EnvelopeRead {
  return { ok: false, status, problem };
}
