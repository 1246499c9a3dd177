import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/providers/protobuf/message-writer.js';
import { readProtoMessage } from '../../src/providers/protobuf/schema-less-reader.js';
import { listTextFields } from '../../src/providers/protobuf/text-fields.js';
import { concat, cursorChatRequest, decodeFlat, pb } from './protobuf-support.js';

const rewrite = (bytes: Uint8Array, replacements: Record<string, string>) => encodeMessage(readProtoMessage(bytes), new Map(Object.entries(replacements)));
const texts = (bytes: Uint8Array) => Object.fromEntries(listTextFields(readProtoMessage(bytes)).map((t) => [t.path, t.text]));

/** A text length prefix written with a redundant continuation byte: 0x85 0x00 is 5, not minimally encoded. */
function nonMinimalText(field: number, text: string): Uint8Array {
  const payload = Buffer.from(text);
  if (payload.length > 127) throw new Error('short texts only');
  return Uint8Array.from([field * 8 + 2, 0x80 | payload.length, 0x00, ...payload]);
}

const fixtures: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['scalars of every wire type', concat(pb.varint(1, 150), pb.varint(2, (1n << 64n) - 1n), pb.fixed32(3, 7), pb.fixed64(4, 9n))],
  ['nested and repeated', pb.message(1, pb.text(3, 'a'), pb.text(3, 'b'), pb.message(3, pb.text(1, 'c'), pb.varint(2, 1)))],
  ['packed varints', concat(pb.packed(4, [3, 270, 86942]), pb.text(5, 'tail'))],
  ['unicode', pb.message(2, pb.text(1, 'Grüße 東京 🚀'))],
  ['non-minimal length and tag varints', concat(nonMinimalText(1, 'hello'), Uint8Array.from([0x8a, 0x00, 0x02, 0x68, 0x69]))],
  ['a hex-encoded message', concat(pb.hex(1, pb.message(1, pb.text(1, 'hex prompt'), pb.varint(2, 1))), pb.message(2, pb.text(1, 'id')))],
  ['a Cursor-shaped chat request', cursorChatRequest({ prompts: ['first question', 'an answer', 'second question'], model: 'gpt-4o' })],
];

describe('protobuf writer: round trip', () => {
  it.each(fixtures)('re-encodes %s byte for byte when nothing changes', (_name, bytes) => {
    const out = encodeMessage(readProtoMessage(bytes), new Map());
    expect(out.toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it.each(fixtures)('re-encodes %s byte for byte when every text is "replaced" by itself', (_name, bytes) => {
    const message = readProtoMessage(bytes);
    const same = new Map(listTextFields(message).map((t) => [t.path, t.text]));
    expect(Buffer.from(encodeMessage(message, same)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('protobuf writer: replacing a text fixes every enclosing length', () => {
  // Field 1 holds field 3 three times; the third holds the text at 1.3[2].1 (120 bytes: a 1-byte length).
  const secretText = `please send the invoice to ada@example.com ${'x'.repeat(77)}`;
  const original = pb.message(1,
    pb.text(3, 'sibling before'),
    nonMinimalText(3, 'kept non-minimal'),
    pb.message(3, pb.text(1, secretText), pb.varint(2, 300), pb.text(3, 'after, same message')),
    pb.text(9, 'after, outer'),
  );

  function levels(bytes: Uint8Array) {
    const outer = decodeFlat(bytes);
    const inner = decodeFlat(outer[0]!.payload!);
    const third = decodeFlat(inner[2]!.payload!);
    return { outer, inner, third };
  }

  it('grows a text past a varint boundary (its 1-byte length becomes 2 bytes) and fixes the enclosing lengths', () => {
    expect(Buffer.byteLength(secretText)).toBe(120);
    const longer = `${'y'.repeat(200)} [REDACTED:email]`;
    const out = rewrite(original, { '1.3[2].1': longer });
    const { outer, inner, third } = levels(out);
    expect(outer).toHaveLength(1);
    expect(inner.map((f) => f.field)).toEqual([3, 3, 3, 9]);
    expect(third[0]!.payload!.toString()).toBe(longer);
    expect(third[1]!.value).toBe(300n);
    expect(third[2]!.payload!.toString()).toBe('after, same message');
    expect(inner[3]!.payload!.toString()).toBe('after, outer');
    // Prefixes are minimal where lengths changed: 0x0a + 2-byte length for the text.
    const textPrefix = Buffer.from(inner[2]!.payload!).subarray(0, 3);
    expect([...textPrefix]).toEqual([0x0a, (Buffer.byteLength(longer) & 0x7f) | 0x80, Buffer.byteLength(longer) >> 7]);
    // Every other text is unchanged, and reading the result again finds the new text at the same path.
    expect(texts(out)).toEqual({ ...texts(original), '1.3[2].1': longer });
  });

  it('shrinks a text, keeping untouched non-minimal prefixes as sent', () => {
    const out = rewrite(original, { '1.3[2].1': 'please send the invoice to [REDACTED:email]' });
    expect(levels(out).third[0]!.payload!.toString()).toBe('please send the invoice to [REDACTED:email]');
    expect(out.length).toBeLessThan(original.length);
    // The sibling's 0x80|n 0x00 prefix survives because its payload did not change.
    expect(Buffer.from(out).includes(Buffer.from(nonMinimalText(3, 'kept non-minimal')))).toBe(true);
  });

  it('a changed text with a non-minimal prefix gets a minimal one', () => {
    const out = rewrite(concat(nonMinimalText(1, 'hello'), pb.text(2, 'x')), { '1': 'hello!' });
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(concat(pb.text(1, 'hello!'), pb.text(2, 'x'))).toString('hex'));
  });

  it('counts replacement lengths in UTF-8 bytes', () => {
    const out = rewrite(pb.message(2, pb.text(1, 'ascii')), { '2.1': 'Grüße 🚀' });
    expect(decodeFlat(decodeFlat(out)[0]!.payload!)[0]!.payload!.toString()).toBe('Grüße 🚀');
  });

  it('re-encodes a hex-encoded message and turns it back into hex digits of the same case', () => {
    const inner = pb.message(1, pb.text(1, 'mail ada@example.com'), pb.varint(2, 1));
    for (const upper of [false, true]) {
      const digits = Buffer.from(inner).toString('hex');
      const bytes = concat(pb.text(1, upper ? digits.toUpperCase() : digits), pb.message(2, pb.text(1, 'request-1')));
      const out = rewrite(bytes, { '1{hex}.1.1': 'mail [REDACTED:email]' });
      const hex = decodeFlat(out)[0]!.payload!.toString();
      expect(hex).toBe(upper ? hex.toUpperCase() : hex.toLowerCase());
      const decoded = decodeFlat(Buffer.from(hex, 'hex'));
      expect(decodeFlat(decoded[0]!.payload!)[0]!.payload!.toString()).toBe('mail [REDACTED:email]');
      expect(texts(out)['2.1']).toBe('request-1');
    }
  });

  it('ignores paths that name no text field', () => {
    expect(Buffer.from(rewrite(original, { '7.7': 'nothing here', '1.3[2]': 'a message, not a text' })).equals(Buffer.from(original))).toBe(true);
  });
});
