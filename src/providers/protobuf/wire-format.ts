/**
 * The protobuf wire format at its lowest level: tags, wire types and base-128 varints
 * (https://protobuf.dev/programming-guides/encoding/). Readers return `undefined` for malformed input
 * instead of throwing, because the schema-less reader tries every length-delimited field as a nested
 * message and most of those attempts fail on ordinary text.
 */

export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

export type WireTypeValue = (typeof WireType)[keyof typeof WireType];

/** Field numbers are 29-bit; 0 is invalid. */
export const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/** A varint never takes more than 10 bytes (64 bits); tags are 32-bit, so at most 5. */
const MAX_VARINT_BYTES = 10;
const MAX_TAG_BYTES = 5;

export interface VarintRead {
  /** The value as a JS number: exact up to 2^53, which covers tags and any length that fits in memory. */
  value: number;
  /** Offset just past the varint. */
  end: number;
}

export function readVarint(bytes: Uint8Array, offset: number): VarintRead | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const at = offset + i;
    if (at >= bytes.length) return undefined;
    const byte = bytes[at]!;
    // The tenth byte may only carry the 64th bit.
    if (i === MAX_VARINT_BYTES - 1 && byte > 1) return undefined;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return { value, end: at + 1 };
    scale *= 128;
  }
  return undefined;
}

export interface TagRead {
  fieldNumber: number;
  wireType: number;
  end: number;
}

/** A field's tag; undefined when truncated, longer than 32 bits, or naming field 0 or one past 2^29-1. */
export function readTag(bytes: Uint8Array, offset: number): TagRead | undefined {
  const varint = readVarint(bytes, offset);
  if (varint === undefined || varint.end - offset > MAX_TAG_BYTES || varint.value > 0xffffffff) return undefined;
  const fieldNumber = Math.floor(varint.value / 8);
  if (fieldNumber < 1 || fieldNumber > MAX_FIELD_NUMBER) return undefined;
  return { fieldNumber, wireType: varint.value % 8, end: varint.end };
}

/** Minimal varint encoding of a non-negative integer up to 2^53. */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a varint`);
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Uint8Array.from(out);
}

export function encodeTag(fieldNumber: number, wireType: WireTypeValue): Uint8Array {
  return encodeVarint(fieldNumber * 8 + wireType);
}
