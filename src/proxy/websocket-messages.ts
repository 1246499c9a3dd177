import { BodyShapeError } from '../providers/body-shape.js';
import { readGeminiLiveClientMessage } from '../providers/gemini-live.js';
import { findJsonSyntaxError } from '../providers/json-syntax.js';
import { readRealtimeClientEvent } from '../providers/realtime-events.js';
import type { TextSpan, ToolInfo } from '../providers/types.js';

/** The WebSocket APIs whose client messages Edge reads. */
export type WebSocketApi = 'openai-realtime' | 'gemini-live';

/**
 * Which API a WebSocket opened on an AI host speaks, from the host's provider and the path; undefined for one
 * Edge cannot read (its frames are relayed, and its opening is recorded as uninspected).
 * - OpenAI Realtime: `/v1/realtime` (`?model=` or `?call_id=`);
 * - Gemini Live: `/ws/google.ai.generativelanguage.<version>.GenerativeService.BidiGenerateContent`, and
 *   `…BidiGenerateContentConstrained`, the endpoint for ephemeral tokens.
 */
export function webSocketApiOf(provider: string, path: string): WebSocketApi | undefined {
  const pathname = path.split('?')[0] ?? '';
  if (provider === 'openai' && /^\/v1\/realtime\/?$/.test(pathname)) return 'openai-realtime';
  if (provider === 'gemini' && /^\/ws\/google\.ai\.generativelanguage\.[\w]+\.GenerativeService\.BidiGenerateContent(?:Constrained)?\/?$/.test(pathname)) return 'gemini-live';
  return undefined;
}

/** One client message as Edge reads it. */
export type ClientMessage =
  /** Binary data that is not a JSON message (audio, video): not text, relayed as it is. */
  | { kind: 'binary' }
  | {
    kind: 'json';
    body: unknown;
    /** The Realtime event `type`, or the Gemini Live message kind (`setup`, `clientContent`, ...). */
    name: string;
    /** The model the message names (Gemini Live `setup.model`, Realtime `session.model`); null when none. */
    model: string | null;
    texts: TextSpan[];
    tools: ToolInfo[];
  }
  /** Edge cannot read it, so it must not be relayed: the socket closes with `code` and `message`. */
  | { kind: 'unreadable'; code: number; status: number; errorType: string; message: string };

/** RFC 6455 close codes: 1007 for data that is not what the message type says, 1008 policy, 1009 too big. */
const INVALID_PAYLOAD = 1007;
const POLICY_VIOLATION = 1008;
export const MESSAGE_TOO_BIG = 1009;

/** What a message over the size limit is told; short enough for a close frame (123 bytes). */
export function tooBigMessage(maxBytes: number): string {
  return `Bifrost Edge: a message is over the ${maxBytes}-byte limit (proxy.maxRequestBodyBytes); send smaller ones`;
}

/**
 * Reads one whole client message (`ws` hands over messages, fragments joined). A text frame must be a JSON
 * message of the API, or the socket is closed: what Edge cannot read it does not relay (fails closed). A binary
 * frame holding a JSON message is read too (a server that accepts one would otherwise get its text unread);
 * other binary data (audio) is relayed as it is.
 */
export function readClientMessage(api: WebSocketApi, data: Buffer, isBinary: boolean, maxBytes: number): ClientMessage {
  if (data.length > maxBytes) return { kind: 'unreadable', code: MESSAGE_TOO_BIG, status: 413, errorType: 'request_too_large', message: tooBigMessage(maxBytes) };
  let body: unknown;
  if (isBinary) {
    body = jsonObjectIn(data);
    if (body === undefined) return { kind: 'binary' };
  } else {
    const text = data.toString('utf8');
    try {
      body = JSON.parse(text);
    } catch {
      const problem = findJsonSyntaxError(text);
      const where = problem ? ` (${problem.problem} at line ${problem.line}, column ${problem.column})` : '';
      return { kind: 'unreadable', code: INVALID_PAYLOAD, status: 400, errorType: 'invalid_request', message: `Bifrost Edge: a message is not valid JSON${where}; it was not sent` };
    }
  }
  try {
    if (api === 'openai-realtime') {
      const event = readRealtimeClientEvent(body);
      return { kind: 'json', body, name: event.type, model: event.model, ...event.extraction };
    }
    const message = readGeminiLiveClientMessage(body);
    return { kind: 'json', body, name: message.kind, model: message.model, ...message.extraction };
  } catch (err) {
    if (!(err instanceof BodyShapeError)) throw err;
    const where = err.path.length === 0 ? 'the message' : `the message's ${err.message}`;
    const what = err.path.length === 0 ? `${where} ${err.problem}` : where;
    return { kind: 'unreadable', code: POLICY_VIOLATION, status: 400, errorType: 'invalid_request', message: `Bifrost Edge: ${what}; it was not sent` };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON object a binary frame holds, or undefined when it holds something else (audio bytes). */
function jsonObjectIn(data: Buffer): unknown {
  // Audio starts with `{` one frame in 256: only a whole, valid JSON object counts.
  let first = 0;
  while (first < data.length && (data[first] === 0x20 || data[first] === 0x0a || data[first] === 0x0d || data[first] === 0x09)) first++;
  if (data[first] !== 0x7b) return undefined;
  try {
    const value: unknown = JSON.parse(utf8.decode(data));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
