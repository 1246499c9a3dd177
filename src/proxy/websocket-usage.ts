import { usageInDocument, UsageAccumulator, type TokenUsage } from '../policy/usage.js';
import type { WebSocketApi } from './websocket-messages.js';
import { walkBrackets } from '../policy/json-text-walk.js';
import { BACKSLASH } from '../util/json-bytes.js';

/**
 * What a server message of a WebSocket Edge reads says about usage, read without holding the message up: it is
 * relayed as it came, and only then read here. Most server messages are audio or text deltas, so a message is
 * parsed only when its bytes hold a key that matters (quoted, so base64 audio never matches), and one Edge cannot
 * parse is simply not metered.
 * - OpenAI Realtime: `response.done` (`response.usage`, each response's own figures), the input transcription's
 *   `conversation.item.input_audio_transcription.completed` (`usage` of type `tokens`, or of type `duration`, its
 *   `seconds`, for a model billed by the minute: whisper-1), and `session.created` / `session.updated`, whose
 *   `session.model` is the model the server runs the session on (a session opened without one, by an ephemeral
 *   client secret or a WebRTC call's sideband, names it nowhere else);
 * - the Responses API in WebSocket mode: `response.completed`, `response.incomplete` and `response.failed` end a
 *   turn (`response.usage`, as the HTTP API's stream reports it); `response.created` starts one, and an `error`
 *   before it means the turn was refused without a response;
 * - Gemini Live: `usageMetadata`, sent once a turn with that turn's figures. Lyria RealTime's server messages
 *   (`setupComplete`, `serverContent` with `audioChunks` or a `filteredPrompt`, `warning`) report no usage, so its
 *   sessions are charged nothing; a `usageMetadata` it came to send would be read as Gemini Live's is (at the
 *   model's price, or the fallback price of a model Edge has none for: pricing.ts).
 */
export type ServerUsageEvent =
  /**
   * Usage of the session's model (Realtime, Gemini Live); `transcription`: of the transcription model that turned the
   * user's audio into text (a Realtime `conversation.item.input_audio_transcription.completed`), billed at its rates.
   */
  | { kind: 'usage'; usage: TokenUsage; transcription?: true }
  /** Seconds of the user's audio a Realtime input transcription billed by duration (whisper-1) transcribed. */
  | { kind: 'transcribed-seconds'; seconds: number }
  /** The model the server says a Realtime conversation session runs on (`session.created`, `session.updated`). */
  | { kind: 'session-model'; model: string }
  /** A Responses turn's response started: its id, and the model the server says it runs on, where it says them. */
  | { kind: 'turn-started'; responseId?: string; model?: string }
  /**
   * A Responses turn ended, with the usage it reported; without, `answerTokens` is the answer text it carries, in
   * tokens as Edge estimates them (four characters a token), for Edge's estimate of the turn.
   */
  | { kind: 'turn-ended'; responseId?: string; usage?: TokenUsage; answerTokens?: number }
  /**
   * The server refused something: ends the Responses turn not yet started, if any. `sequenced`: it carries a
   * `sequence_number`, as an event of a response's stream does (ResponseErrorEvent): during a response, it is that
   * response's.
   */
  | { kind: 'error'; sequenced?: true };

/**
 * A message larger than this is not parsed whole (a report is a few hundred bytes; an answer with top_logprobs or
 * generated images may be many megabytes): its type is read from its start and its usage from its end, where the
 * servers write them (readLargeMessage).
 */
export const MAX_METERED_MESSAGE_BYTES = 8 * 1024 * 1024;

const TRANSCRIPTION_COMPLETED = 'conversation.item.input_audio_transcription.completed';

const TURN_ENDS: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** What a message must hold, quoted, to be worth parsing for each API. */
const MARKERS: Record<WebSocketApi, readonly string[]> = {
  'openai-realtime': ['"usage"', '"session.created"', '"session.updated"'],
  'openai-responses': ['"usage"', '"error"', '"response.created"', '"response.completed"', '"response.incomplete"', '"response.failed"'],
  'gemini-live': ['"usageMetadata"'],
  // Lyria RealTime reports no usage today; were it to, it would say so as Gemini Live does.
  'gemini-music': ['"usageMetadata"'],
};

/** Reads one server message; undefined when it says nothing about usage or cannot be parsed. Never throws. */
export function readServerUsage(api: WebSocketApi, data: Buffer): ServerUsageEvent | undefined {
  if (data.length > MAX_METERED_MESSAGE_BYTES) return readLargeMessage(api, data);
  if (!MARKERS[api].some((marker) => data.includes(marker))) return undefined;
  let message: unknown;
  try {
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const event = message as Record<string, unknown>;
  const type = event['type'];
  switch (api) {
    case 'openai-realtime': {
      if (type === 'session.created' || type === 'session.updated') return sessionModelOf(event['session']);
      if (type !== 'response.done' && type !== TRANSCRIPTION_COMPLETED) return undefined;
      if (type === TRANSCRIPTION_COMPLETED) {
        const seconds = durationOf(event['usage']);
        if (seconds !== undefined) return { kind: 'transcribed-seconds', seconds };
      }
      const usage = usageOf(event);
      if (!usage) return undefined;
      return type === TRANSCRIPTION_COMPLETED ? { kind: 'usage', usage, transcription: true } : { kind: 'usage', usage };
    }
    case 'openai-responses': {
      const response = isObject(event['response']) ? event['response'] : {};
      const responseId = typeof response['id'] === 'string' ? { responseId: response['id'] } : {};
      if (type === 'response.created') return { kind: 'turn-started', ...responseId, ...(typeof response['model'] === 'string' ? { model: response['model'] } : {}) };
      if (type === 'error') return typeof event['sequence_number'] === 'number' ? { kind: 'error', sequenced: true } : { kind: 'error' };
      if (typeof type !== 'string' || !TURN_ENDS.has(type)) return undefined;
      const usage = usageOf(event);
      return usage ? { kind: 'turn-ended', ...responseId, usage } : { kind: 'turn-ended', ...responseId, answerTokens: Math.ceil(answerChars(response) / 4) };
    }
    case 'gemini-live':
    case 'gemini-music': {
      const usage = usageOf(event);
      return usage ? { kind: 'usage', usage } : undefined;
    }
  }
}

/**
 * A message too large to parse whole. Its type is the first key OpenAI's servers write (`{"type":"response.completed",`),
 * else found as a type key anywhere (a quoted key never occurs unescaped inside a string); its usage is the last
 * `usage` (`usageMetadata`) object at the depth the server writes it (trailingUsage), which both servers write after
 * the answer. A turn end whose usage cannot be read so is still a turn end: it is charged Edge's estimate of its
 * prompt (the answer's size says nothing of its tokens).
 */
function readLargeMessage(api: WebSocketApi, data: Buffer): ServerUsageEvent | undefined {
  const type = leadingType(data);
  const typed = (candidate: string) => type === candidate || (type === undefined && data.includes(`"type":"${candidate}"`));
  switch (api) {
    case 'openai-realtime': {
      const usage = typed('response.done') ? trailingUsage(data, 'usage', 2) : undefined;
      return usage ? { kind: 'usage', usage } : undefined;
    }
    case 'openai-responses': {
      const id = leadingResponseId(data);
      const responseId = id !== undefined ? { responseId: id } : {};
      if (typed('response.created')) return { kind: 'turn-started', ...responseId };
      if (typed('error')) return { kind: 'error' };
      if (![...TURN_ENDS].some(typed)) return undefined;
      const usage = trailingUsage(data, 'usage', 2);
      return usage ? { kind: 'turn-ended', ...responseId, usage } : { kind: 'turn-ended', ...responseId };
    }
    case 'gemini-live':
    case 'gemini-music': {
      const usage = trailingUsage(data, 'usageMetadata', 1);
      return usage ? { kind: 'usage', usage } : undefined;
    }
  }
}

/** The value of a `type` key the message starts with. */
function leadingType(data: Buffer): string | undefined {
  return /^\s*\{\s*"type"\s*:\s*"([\w.]{1,100})"/.exec(data.subarray(0, 256).toString('latin1'))?.[1];
}

/** The response's id, which OpenAI's servers write first in it, near the message's start. */
function leadingResponseId(data: Buffer): string | undefined {
  return /"response"\s*:\s*\{\s*"id"\s*:\s*"([\w.-]{1,200})"/.exec(data.subarray(0, 1024).toString('latin1'))?.[1];
}

/** The largest usage object read from the end of a message: a report is a few hundred bytes. */
const MAX_USAGE_OBJECT_BYTES = 64 * 1024;
/**
 * How far from the end the usage object may start: after it, the servers write only a few short fields (a
 * response's `user` and `metadata`, at most 16 pairs of short strings).
 */
const MAX_USAGE_TAIL_BYTES = 1024 * 1024;
/** How many `"usage"` candidates are tried, from the end, before giving up (each costs a scan of the tail). */
const MAX_USAGE_CANDIDATES = 32;


/**
 * The usage of the message's own `"key": {…}`, the last one whose object is a usage report and sits `depth`
 * objects deep (a Responses or Realtime response's `usage`: 2, in the response in the message; Gemini Live's
 * `usageMetadata`: 1), or undefined. Not simply the last `"key"`: what the client chose (a response's `metadata`,
 * written after its usage) may say `"usage"` too, and would hide the real report.
 */
function trailingUsage(data: Buffer, key: string, depth: number): TokenUsage | undefined {
  const needle = `"${key}"`;
  const floor = Math.max(0, data.length - MAX_USAGE_TAIL_BYTES);
  let at = data.length;
  for (let tries = 0; tries < MAX_USAGE_CANDIDATES && at > floor; tries++) {
    at = data.lastIndexOf(needle, at - 1);
    if (at < floor) return undefined;
    // Escaped: inside a string.
    if (at > 0 && data[at - 1] === BACKSLASH) continue;
    const found = objectAfterKey(data, at + needle.length);
    if (!found || enclosingDepthAfter(data, found.end) !== depth) continue;
    try {
      const usage = usageOf({ [key]: JSON.parse(data.subarray(found.start, found.end).toString('utf8')) as unknown });
      if (usage) return usage;
    } catch {
      // Not a JSON object after all: an earlier candidate may be.
    }
  }
  return undefined;
}

/** The `{…}` that follows a key ending at `from` (`: {…}`), as byte offsets [start, end), or undefined. */
function objectAfterKey(data: Buffer, from: number): { start: number; end: number } | undefined {
  const head = /^\s*:\s*\{/.exec(data.subarray(from, from + 64).toString('latin1'));
  if (!head) return undefined;
  const start = from + head[0].length - 1;
  let nesting = 0;
  let end: number | undefined;
  walkBrackets(data, start, Math.min(data.length, start + MAX_USAGE_OBJECT_BYTES), (delta, at) => {
    nesting += delta;
    if (nesting !== 0) return false;
    end = at + 1;
    return true;
  });
  return end === undefined ? undefined : { start, end };
}

/**
 * How many objects and arrays enclose the byte at `from` (outside any string), read from the rest of the message:
 * those it closes without having opened them.
 */
function enclosingDepthAfter(data: Buffer, from: number): number {
  let nesting = 0;
  walkBrackets(data, from, data.length, (delta) => {
    nesting += delta;
  });
  return -nesting;
}

/** Characters of answer a Responses response object carries: its output items' text, refusals and call arguments. */
function answerChars(response: unknown): number {
  const output = isObject(response) && Array.isArray(response['output']) ? response['output'] : [];
  let chars = 0;
  const add = (value: unknown) => { if (typeof value === 'string') chars += value.length; };
  for (const item of output) {
    if (!isObject(item)) continue;
    add(item['arguments']);
    for (const part of Array.isArray(item['content']) ? item['content'] : []) {
      if (isObject(part)) {
        add(part['text']);
        add(part['refusal']);
      }
    }
  }
  return chars;
}

/** A conversation session's model (a transcription session's `session.model` is absent; its model is its transcription's). */
function sessionModelOf(session: unknown): ServerUsageEvent | undefined {
  if (!isObject(session) || session['type'] === 'transcription') return undefined;
  const model = session['model'];
  return typeof model === 'string' && model !== '' ? { kind: 'session-model', model } : undefined;
}

/** The seconds a transcription's `usage` of type `duration` reports. */
function durationOf(usage: unknown): number | undefined {
  if (!isObject(usage) || usage['type'] !== 'duration') return undefined;
  const seconds = usage['seconds'];
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The usage one event reports, by the HTTP APIs' reader (usage.ts), or undefined. */
function usageOf(event: Record<string, unknown>): TokenUsage | undefined {
  const usage = new UsageAccumulator();
  usage.add(usageInDocument(event));
  return usage.result();
}
