import { fieldPaths, nestedParent } from './field-paths.js';
import type { ProtoMessage } from './schema-less-reader.js';
import { encodeVarint, WireType } from './wire-format.js';

/**
 * Re-encodes a message read by the schema-less reader, replacing text fields by path (see field-paths.ts)
 * and fixing every enclosing length prefix. Everything else is copied as sent: tags, scalars, opaque
 * bytes, and each length prefix whose payload kept its length (so even a non-minimal varint survives).
 * An unmodified message therefore comes out byte for byte identical; a changed length gets the minimal
 * varint. Hex-encoded messages are re-encoded, then turned back into hex digits of the same case.
 */
export function encodeMessage(message: ProtoMessage, replacements: ReadonlyMap<string, string>, parent = ''): Buffer {
  const out = newPieces();
  encodeInto(message, replacements, parent, out);
  return Buffer.concat(out.parts, out.length);
}

interface Pieces {
  parts: Uint8Array[];
  length: number;
}

function newPieces(): Pieces {
  return { parts: [], length: 0 };
}

function push(out: Pieces, part: Uint8Array): void {
  out.parts.push(part);
  out.length += part.length;
}

const utf8 = new TextEncoder();

function encodeInto(message: ProtoMessage, replacements: ReadonlyMap<string, string>, parent: string, out: Pieces): void {
  const paths = fieldPaths(message, parent);
  message.fields.forEach((field, i) => {
    const bytes = message.bytes;
    if (field.wireType !== WireType.LengthDelimited) {
      push(out, bytes.subarray(field.start, field.end));
      return;
    }
    const path = paths[i]!;
    const original = bytes.subarray(field.payloadStart, field.end);
    const payload = newPieces();
    const value = field.value;
    switch (value.kind) {
      case 'text': {
        const replacement = replacements.get(path);
        push(payload, replacement !== undefined && replacement !== value.text ? utf8.encode(replacement) : original);
        break;
      }
      case 'message':
        encodeInto(value.message, replacements, nestedParent(path, value.kind), payload);
        break;
      case 'hex-message': {
        const inner = encodeMessage(value.message, replacements, nestedParent(path, value.kind));
        const digits = inner.toString('hex');
        push(payload, Buffer.from(value.uppercase ? digits.toUpperCase() : digits, 'latin1'));
        break;
      }
      default:
        push(payload, original);
    }
    push(out, bytes.subarray(field.start, field.tagEnd));
    push(out, payload.length === original.length ? bytes.subarray(field.tagEnd, field.payloadStart) : encodeVarint(payload.length));
    for (const part of payload.parts) push(out, part);
  });
}
