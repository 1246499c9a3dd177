/**
 * Hand-encoding protobuf for tests, written independently of src/providers/protobuf so the reader and
 * writer are checked against the wire format rather than against themselves.
 */

export type Bytes = Uint8Array;

export function varint(value: number | bigint): number[] {
  let rest = BigInt(value);
  const out: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return out;
}

function tag(field: number, wireType: number): number[] {
  return varint(field * 8 + wireType);
}

export const pb = {
  varint: (field: number, value: number | bigint): Bytes => Uint8Array.from([...tag(field, 0), ...varint(value)]),
  fixed64: (field: number, value: bigint): Bytes => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(value);
    return Uint8Array.from([...tag(field, 1), ...out]);
  },
  fixed32: (field: number, value: number): Bytes => {
    const out = Buffer.alloc(4);
    out.writeUInt32LE(value);
    return Uint8Array.from([...tag(field, 5), ...out]);
  },
  bytes: (field: number, payload: Bytes | number[]): Bytes => Uint8Array.from([...tag(field, 2), ...varint(payload.length), ...payload]),
  text: (field: number, text: string): Bytes => pb.bytes(field, Buffer.from(text, 'utf8')),
  message: (field: number, ...parts: Bytes[]): Bytes => pb.bytes(field, concat(...parts)),
  packed: (field: number, values: number[]): Bytes => pb.bytes(field, values.flatMap((v) => varint(v))),
  /** A text field whose payload holds the hex digits of a serialized message (Cursor's BidiAppend). */
  hex: (field: number, ...parts: Bytes[]): Bytes => pb.text(field, Buffer.from(concat(...parts)).toString('hex')),
};

export function concat(...parts: Bytes[]): Bytes {
  return Uint8Array.from(Buffer.concat(parts));
}

/** A Connect envelope: flags, 4-byte big-endian length, payload. */
export function envelope(flags: number, payload: Bytes): Bytes {
  const prefix = Buffer.alloc(5);
  prefix[0] = flags;
  prefix.writeUInt32BE(payload.length, 1);
  return concat(prefix, payload);
}

/** Splits a Connect body (request or response) into envelopes, refusing a length that overruns it. */
export function splitEnvelopes(body: Uint8Array): Array<{ flags: number; payload: Buffer }> {
  const out: Array<{ flags: number; payload: Buffer }> = [];
  const bytes = Buffer.from(body);
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < 5) throw new Error('truncated envelope prefix');
    const length = bytes.readUInt32BE(pos + 1);
    if (pos + 5 + length > bytes.length) throw new Error('envelope overruns the body');
    out.push({ flags: bytes[pos]!, payload: bytes.subarray(pos + 5, pos + 5 + length) });
    pos += 5 + length;
  }
  return out;
}

/** A minimal varint-walking decoder for assertions: field number → payloads (LEN) or numbers, in order. */
export function decodeFlat(bytes: Bytes): Array<{ field: number; wireType: number; payload?: Buffer; value?: bigint }> {
  const out: Array<{ field: number; wireType: number; payload?: Buffer; value?: bigint }> = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const byte = bytes[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < bytes.length) {
    const key = Number(readVarint());
    const field = key >> 3;
    const wireType = key & 7;
    if (wireType === 0) out.push({ field, wireType, value: readVarint() });
    else if (wireType === 2) {
      const length = Number(readVarint());
      if (pos + length > bytes.length) throw new Error(`field ${field} overruns its message`);
      out.push({ field, wireType, payload: Buffer.from(bytes.subarray(pos, pos + length)) });
      pos += length;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new Error(`wire type ${wireType}`);
  }
  return out;
}

/**
 * A request shaped like Cursor's StreamUnifiedChatRequestWithTools as public reverse engineering describes
 * it (field numbers illustrative, the adapter relies on none of them): messages at 1.1[i] (text 1, role 2,
 * id 13), the model at 1.5.1, a settings path, a conversation id and client metadata.
 */
export function cursorChatRequest(options: { prompts: string[]; model?: string }): Bytes {
  const conversation = options.prompts.map((prompt, i) => pb.message(1, pb.text(1, prompt), pb.varint(2, i % 2 === 0 ? 1 : 2), pb.text(13, `bubble-${i}`)));
  return pb.message(1,
    ...conversation,
    pb.message(3, pb.text(1, 'Always answer in English and keep answers short, clear and useful.')),
    ...(options.model ? [pb.message(5, pb.text(1, options.model), pb.bytes(4, []))] : []),
    pb.message(15, pb.text(1, 'cursor\\aisettings'), pb.bytes(3, []), pb.varint(8, 1)),
    pb.text(23, '3f2c9a1e-7b44-4c2e-9d0a-5b1f6e8c2d71'),
    pb.message(26, pb.text(1, 'darwin'), pb.text(2, 'arm64'), pb.text(3, '0.48.6'), pb.text(5, '2025-01-15T10:00:00.000Z')),
    pb.varint(27, 1),
  );
}
