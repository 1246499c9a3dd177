import { BodyShapeError, formatJsonPath } from '../providers/body-shape.js';
import type { JsonPath } from '../providers/extraction.js';
import { readGeminiLiveClientMessage } from '../providers/gemini-live.js';
import { readGeminiMusicClientMessage } from '../providers/gemini-music.js';
import { findDuplicateKey, type DuplicateKey } from '../providers/json-duplicate-keys.js';
import { findFoldedKey, isFieldEdgeReads, type FoldedKeyProblem } from '../providers/json-key-folding.js';
import { findJsonSyntaxError } from '../providers/json-syntax.js';
import { readRealtimeClientEvent } from '../providers/realtime-events.js';
import { readResponsesClientEvent } from '../providers/responses-websocket-events.js';
import type { TextSpan, ToolInfo } from '../providers/types.js';
import type { WebSocketApi } from './websocket-api.js';

// Which API a path speaks is decided in one place, for routing and reading alike.
export { webSocketApiOf, type WebSocketApi } from './websocket-api.js';

/** One client message as Edge reads it. */
export type ClientMessage =
  /** Binary data that does not start as JSON (audio, video) on an API that has binary messages: relayed as it is. */
  | { kind: 'binary' }
  | {
    kind: 'json';
    body: unknown;
    /** The Realtime or Responses event `type`, or the Gemini Live or Lyria message kind (`setup`, `clientContent`, ...). */
    name: string;
    /** The model the message names (Gemini Live `setup.model`, Realtime `session.model`, Responses `model`); null when none. */
    model: string | null;
    /** The transcription model a Realtime conversation session's `session.update` configures (billed at its own rates). */
    transcriptionModel?: string;
    /**
     * The message is a model call of its own (a Responses `response.create` or `response.append`): decided,
     * counted against the key's request limit and recorded as a request is.
     */
    turn: boolean;
    texts: TextSpan[];
    tools: ToolInfo[];
  }
  /** Edge cannot read it, so it must not be relayed: the socket closes with `code` and `message`. */
  | { kind: 'unreadable'; code: number; status: number; errorType: string; message: string };

/**
 * RFC 6455 close codes: 1003 for a type of message the endpoint does not take, 1007 for data that is not what the
 * message type says, 1008 policy, 1009 too big.
 */
const UNSUPPORTED_DATA = 1003;
const INVALID_PAYLOAD = 1007;
const POLICY_VIOLATION = 1008;
export const MESSAGE_TOO_BIG = 1009;

/** What a message over the size limit is told; short enough for a close frame (123 bytes). */
export function tooBigMessage(maxBytes: number): string {
  return `Bifrost Edge: a message is over the ${maxBytes}-byte limit (proxy.maxRequestBodyBytes); send smaller ones`;
}

/**
 * Reads one whole client message (`ws` hands over messages, fragments joined). A text frame must be a JSON
 * message of the API, or the socket is closed: what Edge cannot read it does not relay (fails closed). The
 * Responses API has no binary messages, so a binary frame closes its socket: a Go server reading the socket with
 * json.Decoder (gorilla's ReadJSON) ignores the frame's type and what follows the first JSON value, so it would run
 * a turn Edge never read. Nor has Lyria RealTime (TEXT_ONLY_APIS). On the other APIs a binary frame that starts as JSON (`{` or `[`, after a UTF-8
 * byte-order mark and white space) is a JSON message, read as a text frame is, and must be exactly one JSON value
 * in UTF-8, or the socket closes; so does JSON in UTF-16. Other binary data (audio) is relayed as it is. A message
 * with a key twice in one object is refused as HTTP bodies are: readers differ on which value counts; so is one
 * with a key a case-insensitive reader (a Go server) takes for a field Edge reads, or two keys it takes for one.
 */
export function readClientMessage(api: WebSocketApi, data: Buffer, isBinary: boolean, maxBytes: number): ClientMessage {
  if (data.length > maxBytes) return { kind: 'unreadable', code: MESSAGE_TOO_BIG, status: 413, errorType: 'request_too_large', message: tooBigMessage(maxBytes) };
  const textOnly = TEXT_ONLY_APIS[api];
  if (isBinary && textOnly !== undefined) {
    return { kind: 'unreadable', code: UNSUPPORTED_DATA, status: 400, errorType: 'invalid_request', message: textOnlyMessage(textOnly) };
  }
  let body: unknown;
  let text: string;
  if (isBinary) {
    const content = binaryContent(data);
    if (content.kind === 'data') return { kind: 'binary' };
    if (content.kind === 'unreadable') return { kind: 'unreadable', code: INVALID_PAYLOAD, status: 400, errorType: 'invalid_request', message: content.message };
    ({ body, text } = content);
  } else {
    text = data.toString('utf8');
    try {
      body = JSON.parse(text);
    } catch {
      const problem = findJsonSyntaxError(text);
      const where = problem ? ` (${problem.problem} at line ${problem.line}, column ${problem.column})` : '';
      return { kind: 'unreadable', code: INVALID_PAYLOAD, status: 400, errorType: 'invalid_request', message: `Bifrost Edge: a message is not valid JSON${where}; it was not sent` };
    }
  }
  // JSON.parse keeps the last of two equal keys; other readers keep the first or merge them (json-duplicate-keys.ts).
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) return { kind: 'unreadable', code: POLICY_VIOLATION, status: 400, errorType: 'invalid_request', message: duplicateKeyMessage(duplicate) };
  // Go servers (the Bifrost gateway) match field names regardless of letter case: `"Input"` is `input` to them.
  const folded = findFoldedKey(body);
  if (folded !== undefined) return { kind: 'unreadable', code: POLICY_VIOLATION, status: 400, errorType: 'invalid_request', message: foldedKeyMessage(folded) };
  try {
    if (api === 'openai-realtime') {
      const event = readRealtimeClientEvent(body);
      const transcription = event.transcriptionModel !== null ? { transcriptionModel: event.transcriptionModel } : {};
      return { kind: 'json', body, name: event.type, model: event.model, ...transcription, turn: false, ...event.extraction };
    }
    if (api === 'openai-responses') {
      const event = readResponsesClientEvent(body);
      return { kind: 'json', body, name: event.type, model: event.model, turn: event.turn, ...event.extraction };
    }
    const message = api === 'gemini-music' ? readGeminiMusicClientMessage(body) : readGeminiLiveClientMessage(body);
    return { kind: 'json', body, name: message.kind, model: message.model, turn: false, ...message.extraction };
  } catch (err) {
    if (!(err instanceof BodyShapeError)) throw err;
    const where = err.path.length === 0 ? 'the message' : `the message's ${err.message}`;
    const what = err.path.length === 0 ? `${where} ${err.problem}` : where;
    return { kind: 'unreadable', code: POLICY_VIOLATION, status: 400, errorType: 'invalid_request', message: `Bifrost Edge: ${what}; it was not sent` };
  }
}

/**
 * The APIs with no binary client messages, by the name a refusal gives them: a binary frame on their sockets is refused
 * whatever it holds. Lyria RealTime's client messages are all JSON (its audio only comes back), and a binary frame
 * that does not start as JSON (`\f{…}`, a NUL or a second byte-order mark before it) would otherwise be relayed as
 * data, unread, to a server that may well skip those bytes and run the prompt after them.
 */
const TEXT_ONLY_APIS: Partial<Record<WebSocketApi, string>> = { 'openai-responses': 'the Responses API', 'gemini-music': 'Lyria RealTime' };

/** Why a binary frame on a text-only API's socket is refused, short enough for a close frame. */
function textOnlyMessage(api: string): string {
  return `Bifrost Edge: ${api} takes text messages only, and this one was binary; send it as text. It was not sent`;
}

/** Fields of the client messages that bodies do not have, named by the APIs (never by a user): a refusal may quote them. */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  // OpenAI Realtime client events.
  'event_id', 'item', 'previous_item_id', 'item_id', 'content_index', 'audio_end_ms', 'response_id',
  // OpenAI Responses WebSocket events (the rest are fields of the HTTP body).
  'previous_response_id',
  // Gemini Live client messages (both spellings Google accepts).
  'setup', 'clientContent', 'client_content', 'realtimeInput', 'realtime_input', 'toolResponse', 'tool_response', 'turns',
  'turnComplete', 'turn_complete', 'functionResponses', 'function_responses', 'mediaChunks', 'media_chunks', 'video',
  // Lyria RealTime client messages (both spellings).
  'weightedPrompts', 'weighted_prompts', 'musicGenerationConfig', 'music_generation_config', 'playbackControl', 'playback_control',
]);

/**
 * Why a message with a key twice is refused, short enough for a close frame. The path is named up to the first key
 * that is no field Edge reads: such a key may be data (a token pasted as a name), so it is not quoted.
 */
function duplicateKeyMessage(duplicate: DuplicateKey): string {
  const keyPath: JsonPath = [...duplicate.path, duplicate.key];
  const firstUnknown = keyPath.findIndex((key) => typeof key === 'string' && !isFieldEdgeReads(key) && !MESSAGE_FIELDS.has(key));
  const which = firstUnknown === -1 ? `the key ${formatJsonPath(keyPath)}`
    : firstUnknown === 0 ? 'a key' : `a key inside ${formatJsonPath(keyPath.slice(0, firstUnknown))}`;
  return `Bifrost Edge: a message has ${which} twice; send each key once. It was not sent`;
}

/**
 * Why a message with a key a case-insensitive reader takes for another is refused, short enough for a close frame
 * (HTTP bodies get the long form, json-body.ts). Keys are quoted only when they fold to a field Edge reads.
 */
function foldedKeyMessage(problem: FoldedKeyProblem): string {
  if (problem.kind === 'misspelled') {
    return `Bifrost Edge: a message has ${JSON.stringify(problem.key)}, which servers read as ${JSON.stringify(problem.field)}; spell it exactly. It was not sent`;
  }
  const which = problem.field === undefined ? 'two keys' : `${JSON.stringify(problem.keys[0])} and ${JSON.stringify(problem.keys[1])}`;
  return `Bifrost Edge: a message has ${which} differing only in case, one field to servers; send it once. It was not sent`;
}

/** What a binary frame holds: a JSON message Edge reads (and its text), JSON it will not read, or other data (audio, video). */
type BinaryContent = { kind: 'json'; body: unknown; text: string } | { kind: 'unreadable'; message: string } | { kind: 'data' };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const UTF8_BOM = [0xef, 0xbb, 0xbf];
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const isJsonSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
const opensJson = (byte: number | undefined) => byte === OPEN_BRACE || byte === OPEN_BRACKET;

/**
 * A binary frame that starts as JSON is a JSON message, whatever follows: servers that read binary frames as JSON
 * may take its first value and ignore the rest (Go's json.Decoder), or decode it leniently (Python's json.loads
 * takes a byte-order mark and UTF-16; other decoders replace bytes that are not UTF-8). So it must be exactly one
 * JSON value in UTF-8 (a UTF-8 mark skipped), as a text frame must; else it is refused rather than relayed unread.
 * UTF-32 and UTF-16 JSON are refused too (Python's json.loads detects both, by a byte-order mark or by where the
 * zero bytes of the first characters are). Only frames whose first bytes are those of JSON are decoded, so audio is not.
 */
function binaryContent(data: Buffer): BinaryContent {
  // UTF-32 first: its little-endian mark starts with UTF-16's. Each ASCII character is its byte and three zeros.
  const utf32 = startsWithUtf32Json(data, true) ?? startsWithUtf32Json(data, false);
  if (utf32 !== undefined && jsonValueOf(() => decodeUtf32(data, utf32.start, utf32.littleEndian)) !== undefined) {
    return { kind: 'unreadable', message: 'Bifrost Edge: a binary message holds JSON in UTF-32; send JSON as UTF-8 text. It was not sent' };
  }
  // UTF-16 JSON: each ASCII character is its byte and a zero, in either order, after an optional byte-order mark.
  const utf16 = startsWithUtf16Json(data, 'utf-16le') ?? startsWithUtf16Json(data, 'utf-16be');
  if (utf16 !== undefined && jsonValueOf(() => new TextDecoder(utf16).decode(data)) !== undefined) {
    return { kind: 'unreadable', message: 'Bifrost Edge: a binary message holds JSON in UTF-16; send JSON as UTF-8 text. It was not sent' };
  }
  const bom = UTF8_BOM.every((byte, i) => data[i] === byte) ? UTF8_BOM.length : 0;
  if (!startsWithJson(data, bom, 1, true)) return { kind: 'data' };
  const text = decoded(() => strictUtf8.decode(data.subarray(bom)));
  if (text === undefined) {
    return { kind: 'unreadable', message: 'Bifrost Edge: a binary message holds JSON that is not valid UTF-8; send JSON as UTF-8 text. It was not sent' };
  }
  const body = jsonValueOf(() => text);
  if (body === undefined) {
    return { kind: 'unreadable', message: 'Bifrost Edge: a binary message starts as JSON but is not one JSON value; send one per message. It was not sent' };
  }
  return { kind: 'json', body, text };
}

/**
 * Whether `data` from `start` holds JSON white space then `{` or `[`, each character `width` bytes: an ASCII
 * character is its own byte (the first in little-endian order, the last in big-endian) and zeros.
 */
function startsWithJson(data: Buffer, start: number, width: 1 | 2 | 4, littleEndian: boolean): boolean {
  const charAt = (i: number): number | undefined => {
    if (i + width > data.length) return undefined;
    const own = littleEndian ? i : i + width - 1;
    for (let b = i; b < i + width; b++) if (b !== own && data[b] !== 0) return undefined;
    return data[own];
  };
  let at = start;
  while (isJsonSpace(charAt(at))) at += width;
  return opensJson(charAt(at));
}

/** The encoding, when `data` starts as JSON in UTF-16 of that byte order (with or without its mark). */
function startsWithUtf16Json(data: Buffer, encoding: 'utf-16le' | 'utf-16be'): 'utf-16le' | 'utf-16be' | undefined {
  const le = encoding === 'utf-16le';
  const mark = le ? data[0] === 0xff && data[1] === 0xfe : data[0] === 0xfe && data[1] === 0xff;
  return startsWithJson(data, mark ? 2 : 0, 2, le) ? encoding : undefined;
}

/** Where the characters start, when `data` starts as JSON in UTF-32 of that byte order (with or without its mark). */
function startsWithUtf32Json(data: Buffer, littleEndian: boolean): { start: number; littleEndian: boolean } | undefined {
  const mark = littleEndian
    ? data[0] === 0xff && data[1] === 0xfe && data[2] === 0 && data[3] === 0
    : data[0] === 0 && data[1] === 0 && data[2] === 0xfe && data[3] === 0xff;
  const start = mark ? 4 : 0;
  return startsWithJson(data, start, 4, littleEndian) ? { start, littleEndian } : undefined;
}

/**
 * `data` from `start` as UTF-32 (TextDecoder has no UTF-32); throws when it is not, as a fatal TextDecoder does.
 * Surrogate code points are kept, as Python decodes JSON bytes (`surrogatepass`).
 */
function decodeUtf32(data: Buffer, start: number, littleEndian: boolean): string {
  if ((data.length - start) % 4 !== 0) throw new TypeError('not UTF-32: a partial character');
  const chunks: string[] = [];
  const codePoints: number[] = [];
  for (let i = start; i < data.length; i += 4) {
    const codePoint = littleEndian ? data.readUInt32LE(i) : data.readUInt32BE(i);
    if (codePoint > 0x10ffff) throw new TypeError('not UTF-32: a value past U+10FFFF');
    codePoints.push(codePoint);
    // In chunks: String.fromCodePoint takes its characters as arguments.
    if (codePoints.length === 8192) chunks.push(String.fromCodePoint(...codePoints.splice(0)));
  }
  chunks.push(String.fromCodePoint(...codePoints));
  return chunks.join('');
}

/** The text `decode` gives, or undefined when the bytes are not of its encoding. */
function decoded(decode: () => string): string | undefined {
  try {
    return decode();
  } catch {
    return undefined;
  }
}

/** The one JSON value the decoded text is, or undefined when it is not exactly one (or cannot be decoded). */
function jsonValueOf(decode: () => string): unknown {
  try {
    return JSON.parse(decode()) as unknown;
  } catch {
    return undefined;
  }
}
