import { encodeEnvelope, ENVELOPE_COMPRESSED, readRequestEnvelopes, type ConnectEnvelope, type EnvelopeProblem } from './connect-envelope.js';
import { encodeMessage } from './protobuf/message-writer.js';
import { ProtobufLimitError, ProtobufReadError, readProtoMessage, type ProtoMessage, type ReaderLimits } from './protobuf/schema-less-reader.js';
import { listTextFields, type TextField } from './protobuf/text-fields.js';

/**
 * A Connect request body in protobuf (unary `application/proto`, or streaming `application/connect+proto`
 * envelopes), read without schemas into its text fields, and written back after their texts change.
 *
 * Paths are those of field-paths.ts; a streaming body with more than one message prefixes each path with
 * the message's index (`[1].1.3`), one message keeps the bare path.
 */

export type ConnectFraming = 'unary' | 'streaming';

/** Text fields by path: the value guardrails read and redact in place (a JSON-like object). */
export type TextsByPath = Record<string, string>;

export interface ConnectProtoBody {
  /** In byte order. */
  texts: TextField[];
  /**
   * The body with the given texts (unknown paths ignored). Unchanged messages keep their bytes, envelope
   * and compression; a changed message is re-encoded with fixed lengths in an uncompressed envelope
   * (compression is per message in Connect, so the others stay as they were).
   */
  encode(texts: TextsByPath): Buffer;
}

export type ConnectBodyRead = { ok: true; body: ConnectProtoBody } | ({ ok: false } & EnvelopeProblem);

interface ReadMessage {
  message: ProtoMessage;
  prefix: string;
  envelope?: ConnectEnvelope;
}

export interface ConnectBodyOptions {
  /** Connect-Content-Encoding of a streaming request (per-envelope compression). */
  messageEncoding?: string;
  limits?: Partial<ReaderLimits>;
  /** Bound on the decompressed messages of a streaming request. */
  maxMessageBytes: number;
}

export function readConnectProtoBody(raw: Uint8Array, framing: ConnectFraming, options: ConnectBodyOptions): ConnectBodyRead {
  let sources: Array<{ bytes: Uint8Array; envelope?: ConnectEnvelope }>;
  if (framing === 'unary') {
    sources = [{ bytes: raw }];
  } else {
    const read = readRequestEnvelopes(raw, { encoding: options.messageEncoding, maxMessageBytes: options.maxMessageBytes });
    if (!read.ok) return read;
    sources = read.envelopes.map((envelope) => ({ bytes: envelope.message, envelope }));
  }
  const messages: ReadMessage[] = [];
  for (const [i, source] of sources.entries()) {
    const where = sources.length > 1 ? `message ${i + 1}: ` : '';
    try {
      messages.push({ message: readProtoMessage(source.bytes, options.limits), prefix: sources.length > 1 ? `[${i}]` : '', ...(source.envelope ? { envelope: source.envelope } : {}) });
    } catch (err) {
      if (!(err instanceof ProtobufReadError)) throw err;
      // Over a reader limit: too big or too deep to inspect fully, so refused like an oversized body.
      return { ok: false, status: err instanceof ProtobufLimitError ? 413 : 400, problem: `${where}${err.message}` };
    }
  }
  return {
    ok: true,
    body: {
      texts: messages.flatMap((m) => listTextFields(m.message, m.prefix)),
      encode: (texts) => encodeMessages(messages, framing, replacementsOf(texts)),
    },
  };
}

function replacementsOf(texts: TextsByPath): Map<string, string> {
  return new Map(Object.entries(texts).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function encodeMessages(messages: ReadMessage[], framing: ConnectFraming, replacements: Map<string, string>): Buffer {
  if (framing === 'unary') return encodeMessage(messages[0]!.message, replacements, messages[0]!.prefix);
  return Buffer.concat(messages.map(({ message, prefix, envelope }) => {
    const bytes = encodeMessage(message, replacements, prefix);
    if (envelope && bytes.equals(envelope.message)) return envelope.raw;
    return encodeEnvelope((envelope?.flags ?? 0) & ~ENVELOPE_COMPRESSED, bytes);
  }));
}
