import { describe, expect, it } from 'vitest';
import {
  ProtobufLimitError, ProtobufReadError, readProtoMessage, type FieldValue, type ProtoMessage,
} from '../../src/providers/protobuf/schema-less-reader.js';
import { listTextFields } from '../../src/providers/protobuf/text-fields.js';
import { concat, cursorChatRequest, pb, varint } from './protobuf-support.js';

const textsOf = (bytes: Uint8Array) => listTextFields(readProtoMessage(bytes)).map((t) => [t.path, t.text]);
const kindOf = (message: ProtoMessage, i = 0): FieldValue['kind'] => message.fields[i]!.value.kind;

/** `depth` messages nested in field 1 around a text. */
function nested(depth: number, text = 'bottom'): Uint8Array {
  let bytes = pb.text(1, text);
  for (let i = 0; i < depth; i++) bytes = pb.message(1, bytes, pb.varint(2, i));
  return bytes;
}

function readError(bytes: Uint8Array, limits = {}): ProtobufReadError {
  try {
    readProtoMessage(bytes, limits);
  } catch (err) {
    if (err instanceof ProtobufReadError) return err;
    throw err;
  }
  throw new Error('expected a read error');
}

describe('schema-less protobuf reader: structure and paths', () => {
  it('names nested and repeated text fields by field numbers, indexing only repeated ones', () => {
    const bytes = pb.message(1,
      pb.text(3, 'first'),
      pb.text(3, 'second'),
      pb.message(3, pb.text(1, 'third, nested'), pb.varint(2, 7)),
      pb.message(4, pb.text(1, 'singular')),
    );
    expect(textsOf(bytes)).toEqual([
      ['1.3[0]', 'first'],
      ['1.3[1]', 'second'],
      ['1.3[2].1', 'third, nested'],
      ['1.4.1', 'singular'],
    ]);
  });

  it('reads a Cursor-shaped chat request: every text, scalars skipped', () => {
    const texts = textsOf(cursorChatRequest({ prompts: ['Why does this test fail?', 'Because of a typo.'], model: 'claude-3.5-sonnet' }));
    expect(texts).toEqual(expect.arrayContaining([
      ['1.1[0].1', 'Why does this test fail?'],
      ['1.1[1].1', 'Because of a typo.'],
      ['1.1[0].13', 'bubble-0'],
      ['1.3.1', 'Always answer in English and keep answers short, clear and useful.'],
      ['1.5.1', 'claude-3.5-sonnet'],
      ['1.23', '3f2c9a1e-7b44-4c2e-9d0a-5b1f6e8c2d71'],
    ]));
    expect(texts.map(([path]) => path)).not.toContain('1.27');
  });

  it('keeps scalars of every wire type (varint, negative int64, fixed32, fixed64) as raw, unscanned fields', () => {
    const message = readProtoMessage(concat(pb.varint(1, 150), pb.varint(2, (1n << 64n) - 1n), pb.fixed32(3, 0xdeadbeef), pb.fixed64(4, 1234567890123n), pb.text(5, 'after')));
    expect(message.fields.map((f) => [f.fieldNumber, f.wireType, f.value.kind])).toEqual([
      [1, 0, 'scalar'], [2, 0, 'scalar'], [3, 5, 'scalar'], [4, 1, 'scalar'], [5, 2, 'text'],
    ]);
    expect(listTextFields(message)).toEqual([{ path: '5', text: 'after' }]);
  });

  it('reads packed varints as bytes, not as a message or text', () => {
    // The encoding guide's example: 3, 270, 86942 → 03 8E 02 9E A7 05 (not UTF-8, and 0x03 is no valid tag).
    const message = readProtoMessage(concat(pb.packed(4, [3, 270, 86942]), pb.text(5, 'x')));
    expect(Buffer.from(message.bytes.subarray(message.fields[0]!.payloadStart, message.fields[0]!.end)).toString('hex')).toBe('038e029ea705');
    expect(kindOf(message)).toBe('bytes');
  });

  it('keeps unicode text exact (multi-byte lengths are byte lengths)', () => {
    const text = 'Grüße aus Zürich — 東京 🚀 e\u0301';
    expect(Buffer.byteLength(text)).toBeGreaterThan(text.length);
    expect(textsOf(pb.message(2, pb.text(1, text)))).toEqual([['2.1', text]]);
  });

  it('reads an empty message and empty payloads (nothing to scan)', () => {
    expect(readProtoMessage(new Uint8Array(0)).fields).toEqual([]);
    const message = readProtoMessage(concat(pb.text(1, ''), pb.message(2)));
    expect(message.fields.map((f) => f.value.kind)).toEqual(['bytes', 'bytes']);
    expect(listTextFields(message)).toEqual([]);
  });

  it('reads invalid UTF-8 that is no message as opaque bytes', () => {
    expect(kindOf(readProtoMessage(pb.bytes(1, [0xff, 0xfe, 0xfd, 0x80])))).toBe('bytes');
  });
});

describe('schema-less protobuf reader: ambiguous payloads err toward scanning', () => {
  it.each([
    // "hi" is field 13 = 105 as a message; "82" is field 7 = 50: strings all the same.
    ['hi'],
    ['82'],
    // A tab then 8 bytes reads as a fixed64 field 1.
    ['\tconsole.'],
    // "@" = field 8 varint: as a message, every other character would vanish into a number.
    ['@A@B@C@D'],
  ])('%j is text although it parses as a message', (text) => {
    expect(readProtoMessage(Buffer.from(text)).fields.length).toBeGreaterThan(0);
    expect(textsOf(pb.text(1, text))).toEqual([['1', text]]);
  });

  it('reads text with control characters that is no message as text (terminal output carries ANSI escapes)', () => {
    const text = '\u001b[31mError:\u001b[0m failed for ada@example.com';
    expect(textsOf(pb.text(7, text))).toEqual([['7', text]]);
  });

  it('reads a printable wrapper {1: text of 32-127 bytes} as the message it is', () => {
    const inner = 'Explain the selected code in two short sentences.';
    const bytes = pb.message(3, pb.text(1, inner));
    expect(Buffer.from(bytes.subarray(2)).toString('latin1').startsWith(`\n${String.fromCharCode(inner.length)}`)).toBe(true);
    expect(textsOf(bytes)).toEqual([['3.1', inner]]);
  });

  it('reads a message with control bytes in its tags as a message even though it is valid UTF-8', () => {
    const message = readProtoMessage(pb.message(1, pb.text(1, 'a'), pb.varint(2, 1)));
    expect(kindOf(message)).toBe('message');
  });
});

describe('schema-less protobuf reader: hex-encoded messages (Cursor BidiAppend)', () => {
  it('reads the message behind a field of hex digits, marking the layer in the path', () => {
    const bytes = concat(pb.hex(1, pb.message(1, pb.message(1, pb.text(1, 'prompt inside hex'), pb.varint(2, 1)))), pb.message(2, pb.text(1, 'request-id-1')));
    expect(textsOf(bytes)).toEqual([['1{hex}.1.1.1', 'prompt inside hex'], ['2.1', 'request-id-1']]);
  });

  it('accepts upper-case hex and remembers it', () => {
    const message = readProtoMessage(pb.text(1, Buffer.from(pb.message(1, pb.text(1, 'shout'), pb.varint(2, 1))).toString('hex').toUpperCase()));
    expect(message.fields[0]!.value).toMatchObject({ kind: 'hex-message', uppercase: true });
  });

  it.each([
    ['a digest', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['too short', '0a01'],
    ['odd length', '0a0161f'],
    ['mixed case', '0A0161'],
  ])('leaves hex that carries no message text as text: %s', (_name, hex) => {
    expect(textsOf(pb.text(1, hex))).toEqual([['1', hex]]);
  });
});

describe('schema-less protobuf reader: malformed and hostile input', () => {
  it.each([
    ['truncated payload', pb.text(1, 'hello').subarray(0, 4), /field 1 says 5 bytes but only 2 remain at byte 1/],
    ['truncated varint', Uint8Array.from([0x08, 0x96]), /truncated varint in field 1 at byte 1/],
    ['truncated tag', Uint8Array.from([0x80]), /invalid or truncated field tag at byte 0/],
    ['truncated fixed64', Uint8Array.from([0x09, 1, 2, 3]), /truncated 64-bit value in field 1/],
    ['field number 0', Uint8Array.from([0x02, 0x00]), /invalid or truncated field tag at byte 0/],
    ['a group', Uint8Array.from([0x0b, 0x08, 0x01, 0x0c]), /field 1 is a group \(wire type 3\), which Edge does not read at byte 0/],
    ['wire type 6', Uint8Array.from([0x0e, 0x00]), /field 1 has invalid wire type 6/],
    ['an 11-byte varint', Uint8Array.from([0x08, ...Array(10).fill(0xff), 0x01]), /truncated varint in field 1/],
    ['a length past the end', Uint8Array.from([0x0a, ...varint(2 ** 40), 0x61]), /field 1 says 1099511627776 bytes but only 1 remain/],
  ])('refuses %s with a clear error', (_name, bytes, message) => {
    const error = readError(bytes);
    expect(error).not.toBeInstanceOf(ProtobufLimitError);
    expect(error.message).toMatch(message);
  });

  it('refuses a message over the size limit', () => {
    const error = readError(pb.text(1, 'x'.repeat(100)), { maxBytes: 64 });
    expect(error).toBeInstanceOf(ProtobufLimitError);
    expect(error.message).toBe('the message is 102 bytes, over the 64-byte limit Edge reads');
  });

  it('refuses messages nested deeper than the limit instead of skipping them', () => {
    expect(textsOf(nested(32))[0]).toEqual([`${Array(32).fill('1').join('.')}.1`, 'bottom']);
    const error = readError(nested(40));
    expect(error).toBeInstanceOf(ProtobufLimitError);
    expect(error.message).toBe('messages are nested more than 32 levels deep');
    expect(readError(nested(4), { maxDepth: 3 }).message).toBe('messages are nested more than 3 levels deep');
  });

  it('text at the depth limit is still text', () => {
    expect(textsOf(nested(3, 'plain words here'))).toEqual([['1.1.1.1', 'plain words here']]);
    expect(listTextFields(readProtoMessage(nested(3, 'plain words here'), { maxDepth: 3 }))).toEqual([{ path: '1.1.1.1', text: 'plain words here' }]);
  });

  it('refuses more fields than the limit, counting speculative parses', () => {
    const many = concat(...Array.from({ length: 101 }, (_, i) => pb.varint(1, i)));
    expect(readError(many, { maxFields: 100 }).message).toBe('the message has more than 100 fields');
    // 60 varint fields inside one text-looking payload count too.
    const inText = pb.text(1, '@A'.repeat(60));
    expect(readError(inText, { maxFields: 50 })).toBeInstanceOf(ProtobufLimitError);
  });

  it('never throws anything but a read error on random bytes, and reads a 2 MB text as one field', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let round = 0; round < 300; round++) {
      const bytes = Uint8Array.from({ length: 1 + (round % 64) }, random);
      try {
        readProtoMessage(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtobufReadError);
      }
    }
    // Speed is the benchmark's business, not a unit test's (a 2 s bound failed under CI's load).
    const big = pb.text(1, 'The quick brown fox jumps over the lazy dog. '.repeat(50_000));
    expect(listTextFields(readProtoMessage(big))).toHaveLength(1);
  });
});
