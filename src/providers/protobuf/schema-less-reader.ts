import { isUtf8 } from 'node:buffer';
import { readTag, readVarint, WireType } from './wire-format.js';

/**
 * Reads a protobuf message without its .proto schema: every field keeps its exact byte range (so an
 * unmodified message re-encodes byte for byte), and each length-delimited field is classified as text,
 * a nested message, a hex-encoded message, or opaque bytes. Groups (wire types 3/4) are refused.
 *
 * Classification of a length-delimited payload (the rule errs toward scanning):
 *  1. It parses completely as a message and is either not valid UTF-8, or contains control characters
 *     (protobuf tags of fields 1-3 and short lengths are bytes below 0x20): a nested message.
 *  2. Otherwise, if it is not valid UTF-8: bytes, not scanned (so are empty payloads).
 *  3. A text of only hex digits that decodes to a message carrying text is read as that message
 *     (`hex-message`): Cursor's HTTP/1.1 transport (BidiAppend) sends its requests that way.
 *  4. It parses as a message and is also UTF-8 without control characters (ambiguous): a nested message
 *     only when that reading is made of nothing but text fields (a wrapper `{1: "…"}` whose text is
 *     32-127 bytes long reads as "\n" plus a printable length character); otherwise text. So a string
 *     that happens to parse as a message (`"hi"` is field 13 = 105) is still scanned whole, and no
 *     reading can hide text in varints or fixed-width numbers.
 *  5. Anything else that is valid UTF-8 is text, control characters included (terminal output carries
 *     ANSI escapes).
 *
 * Hostile input is bounded: total size, nesting depth (a message nested deeper than the limit is refused,
 * not skipped, so nothing escapes inspection by depth) and the number of fields visited, speculative parses
 * included.
 */

export interface ReaderLimits {
  /** Bytes of the outermost message. */
  maxBytes: number;
  /** Nesting levels below the outermost message. */
  maxDepth: number;
  /** Fields visited in total, including those of payloads tried as messages and found to be text. */
  maxFields: number;
}

export const DEFAULT_READER_LIMITS: Readonly<ReaderLimits> = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxFields: 1_000_000 };

export type FieldValue =
  /** Varint, fixed32 or fixed64: kept as raw bytes. */
  | { kind: 'scalar' }
  | { kind: 'text'; text: string }
  | { kind: 'message'; message: ProtoMessage }
  /** A text of hex digits holding a serialized message; `uppercase` keeps the digits' case on re-encoding. */
  | { kind: 'hex-message'; message: ProtoMessage; uppercase: boolean }
  /** Opaque (or empty) length-delimited payload. */
  | { kind: 'bytes' };

export interface ProtoField {
  fieldNumber: number;
  wireType: number;
  /** Offsets into the enclosing message's `bytes`: the tag, the length prefix (LEN only), the payload. */
  start: number;
  tagEnd: number;
  payloadStart: number;
  end: number;
  value: FieldValue;
}

export interface ProtoMessage {
  bytes: Uint8Array;
  fields: ProtoField[];
}

/** The outermost bytes are not a protobuf message (the reason says what and where). */
export class ProtobufReadError extends Error {
  constructor(message: string, readonly offset?: number) {
    super(message);
    this.name = 'ProtobufReadError';
  }
}

/** The message is over a reader limit: refused rather than partly inspected. */
export class ProtobufLimitError extends ProtobufReadError {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufLimitError';
  }
}

interface Failure {
  reason: string;
  offset: number;
}

interface ReadState {
  limits: ReaderLimits;
  fieldsVisited: number;
}

const utf8 = new TextDecoder('utf-8');
const MIN_HEX_MESSAGE_DIGITS = 8;
const HEX_LOWER = /^[0-9a-f]+$/;
const HEX_UPPER = /^[0-9A-F]+$/;

export function readProtoMessage(bytes: Uint8Array, limits: Partial<ReaderLimits> = {}): ProtoMessage {
  const state: ReadState = { limits: { ...DEFAULT_READER_LIMITS, ...limits }, fieldsVisited: 0 };
  if (bytes.length > state.limits.maxBytes) {
    throw new ProtobufLimitError(`the message is ${bytes.length} bytes, over the ${state.limits.maxBytes}-byte limit Edge reads`);
  }
  const result = parseMessage(bytes, 0, state);
  if ('reason' in result) throw new ProtobufReadError(`${result.reason} at byte ${result.offset}`, result.offset);
  return result;
}

function parseMessage(bytes: Uint8Array, depth: number, state: ReadState): ProtoMessage | Failure {
  if (depth > state.limits.maxDepth) {
    // Only a payload that really is a message is too deep; text at that depth is still text.
    const shallow = parseFields(bytes, depth, state, false);
    if ('reason' in shallow) return shallow;
    throw new ProtobufLimitError(`messages are nested more than ${state.limits.maxDepth} levels deep`);
  }
  return parseFields(bytes, depth, state, true);
}

function parseFields(bytes: Uint8Array, depth: number, state: ReadState, classify: boolean): ProtoMessage | Failure {
  const fields: ProtoField[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const start = pos;
    const tag = readTag(bytes, pos);
    if (tag === undefined) return { reason: 'invalid or truncated field tag', offset: start };
    if (++state.fieldsVisited > state.limits.maxFields) {
      throw new ProtobufLimitError(`the message has more than ${state.limits.maxFields} fields`);
    }
    let payloadStart = tag.end;
    let value: FieldValue = { kind: 'scalar' };
    switch (tag.wireType) {
      case WireType.Varint: {
        const varint = readVarint(bytes, tag.end);
        if (varint === undefined) return { reason: `truncated varint in field ${tag.fieldNumber}`, offset: tag.end };
        pos = varint.end;
        break;
      }
      case WireType.Fixed64:
      case WireType.Fixed32: {
        const size = tag.wireType === WireType.Fixed64 ? 8 : 4;
        if (tag.end + size > bytes.length) return { reason: `truncated ${size * 8}-bit value in field ${tag.fieldNumber}`, offset: tag.end };
        pos = tag.end + size;
        break;
      }
      case WireType.LengthDelimited: {
        const length = readVarint(bytes, tag.end);
        if (length === undefined) return { reason: `truncated length of field ${tag.fieldNumber}`, offset: tag.end };
        if (length.value > bytes.length - length.end) {
          return { reason: `field ${tag.fieldNumber} says ${length.value} bytes but only ${bytes.length - length.end} remain`, offset: tag.end };
        }
        payloadStart = length.end;
        pos = length.end + length.value;
        value = classify ? classifyPayload(bytes.subarray(payloadStart, pos), depth + 1, state) : { kind: 'bytes' };
        break;
      }
      case WireType.StartGroup:
      case WireType.EndGroup:
        return { reason: `field ${tag.fieldNumber} is a group (wire type ${tag.wireType}), which Edge does not read`, offset: start };
      default:
        return { reason: `field ${tag.fieldNumber} has invalid wire type ${tag.wireType}`, offset: start };
    }
    fields.push({ fieldNumber: tag.fieldNumber, wireType: tag.wireType, start, tagEnd: tag.end, payloadStart, end: pos, value });
  }
  return { bytes, fields };
}

/** The classification rule of the module comment, in order. */
function classifyPayload(payload: Uint8Array, depth: number, state: ReadState): FieldValue {
  if (payload.length === 0) return { kind: 'bytes' };
  const parsed = parseMessage(payload, depth, state);
  const asMessage = 'reason' in parsed ? undefined : parsed;
  const validUtf8 = isUtf8(payload);
  if (asMessage && (!validUtf8 || hasControlBytes(payload))) return { kind: 'message', message: asMessage };
  if (!validUtf8) return { kind: 'bytes' };
  const text = utf8.decode(payload);
  // Hex first: a hex string could also read as a message of texts, and the decoded reading is the real one.
  const hex = hexEncodedMessage(text, depth, state);
  if (hex) return hex;
  if (asMessage && onlyTextFields(asMessage)) return { kind: 'message', message: asMessage };
  return { kind: 'text', text };
}

/** C0 controls other than tab, LF and CR, and DEL: rare in prose and code, common in messages (tags, short lengths). */
function hasControlBytes(payload: Uint8Array): boolean {
  for (const byte of payload) {
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte === 0x7f) return true;
  }
  return false;
}

/** True when every field is text or a message of texts: a reading that cannot hide text in numbers. */
function onlyTextFields(message: ProtoMessage): boolean {
  return message.fields.length > 0 && message.fields.every((f) => f.value.kind === 'text' || (f.value.kind === 'message' && onlyTextFields(f.value.message)));
}

function hexEncodedMessage(text: string, depth: number, state: ReadState): FieldValue | undefined {
  if (text.length < MIN_HEX_MESSAGE_DIGITS || text.length % 2 !== 0) return undefined;
  const lower = HEX_LOWER.test(text);
  if (!lower && !HEX_UPPER.test(text)) return undefined;
  const decoded = parseMessage(Buffer.from(text, 'hex'), depth + 1, state);
  if ('reason' in decoded || !carriesText(decoded)) return undefined;
  return { kind: 'hex-message', message: decoded, uppercase: !lower };
}

function carriesText(message: ProtoMessage): boolean {
  return message.fields.some((f) => f.value.kind === 'text' || ((f.value.kind === 'message' || f.value.kind === 'hex-message') && carriesText(f.value.message)));
}
