import { BodyShapeError, expectArray, expectObject, expectString, formatJsonPath, isJsonObject, optionalField, requiredString, type JsonObject } from './body-shape.js';
import { addStringLeaves, addText, addTool, newExtraction, type Extraction, type JsonPath } from './extraction.js';
import { isEncodedMedia } from './encoded-media.js';
import { readRealtimeSessionConfig, readRealtimeTools, refuseAgentField } from './openai-realtime.js';
import { readPromptVariables } from './openai-responses.js';
import type { TextSpan } from './types.js';

/**
 * The client events of the OpenAI Realtime API (`wss://api.openai.com/v1/realtime`), GA and beta, as JSON text
 * messages: what the user sends the model over the socket. Text travels in `conversation.item.create` (message
 * parts, function call arguments and outputs), in `session.update` (the session's instructions, prompt variables,
 * the transcription prompt) and in `response.create` (instructions and input items for one response). Audio
 * (`input_audio_buffer.append`, image data) is not text. An event type not listed here has every string read:
 * whatever the API adds next is not let through unread.
 */

/** What one client event carries: its `type`, the model it names (`session.update`), its texts and tools. */
export interface RealtimeEventReading {
  type: string;
  /** A model the event names (`session.model`, a transcription session's transcription model); null when none. */
  model: string | null;
  /**
   * The transcription model a conversation session's `session.update` configures for its input audio (GA
   * `audio.input.transcription.model`, beta `input_audio_transcription.model`; an event naming two different ones is
   * refused): its transcriptions are billed at that model's rates, not the session's. Null when none is named, and for
   * a transcription session (`model` is it).
   */
  transcriptionModel: string | null;
  extraction: Extraction;
}

/** Events that carry no text the model reads (audio, ids, offsets). */
const WITHOUT_TEXT = new Set([
  'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'output_audio_buffer.clear',
  'conversation.item.retrieve', 'conversation.item.truncate', 'conversation.item.delete', 'response.cancel',
]);

const ROLE_KINDS: Record<string, TextSpan['kind']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };
/** Message parts with `text`: `input_text` (user, system), `output_text` (GA assistant), `text` (beta assistant). */
const TEXT_PART_TYPES = new Set(['input_text', 'output_text', 'text']);
/** Audio parts may carry the `transcript` the model reads along with the audio. */
const AUDIO_PART_TYPES = new Set(['input_audio', 'output_audio', 'audio']);
/** Top-level keys of every event that are not content. */
const EVENT_ENVELOPE = new Set(['type', 'event_id']);

/** Reads one parsed client event; a malformed one throws a BodyShapeError naming the field. */
export function readRealtimeClientEvent(value: unknown): RealtimeEventReading {
  const event = expectObject(value, [], 'a Realtime client event object');
  const type = requiredString(event, 'type', []);
  const x = newExtraction();
  let model: string | null = null;
  let transcriptionModel: string | null = null;
  switch (type) {
    case 'session.update':
    case 'transcription_session.update': {
      const session = expectObject(event['session'], ['session'], 'a session object');
      const sessionModel = readSession(x, session, ['session']);
      if (configuresTranscriptionSession(event)) model = agreedModel(session, TRANSCRIPTION_SESSION_MODEL_PATHS);
      else {
        model = sessionModel;
        transcriptionModel = agreedModel(session, TRANSCRIPTION_PATHS);
      }
      break;
    }
    case 'conversation.item.create':
      readItem(x, expectObject(event['item'], ['item'], 'an item object'), ['item']);
      break;
    case 'response.create':
      optionalField(event, 'response', [], (response, p) => readResponse(x, expectObject(response, p, 'a response object'), p));
      break;
    default:
      if (WITHOUT_TEXT.has(type)) break;
      for (const [key, child] of Object.entries(event)) {
        if (!EVENT_ENVELOPE.has(key)) addStringLeaves(x, child, [key], 'other');
      }
  }
  return { type, model, transcriptionModel, extraction: x };
}

/**
 * A session configuration, read as `POST /realtime/sessions` is (transcription prompt included), and every string of a
 * field OpenAI does not document (KNOWN_SESSION_FIELDS) but encoded media; returns its model.
 */
function readSession(x: Extraction, session: JsonObject, path: JsonPath): string | null {
  readRealtimeSessionConfig(x, session, path);
  const unknown = newExtraction();
  for (const [key, child] of Object.entries(session)) {
    if (!KNOWN_SESSION_FIELDS.has(key)) addStringLeaves(unknown, child, [...path, key], 'other');
  }
  // An avatar's background image as a data URL is media, not text (isEncodedMedia): read, it would fill the inspection limit.
  for (const span of unknown.texts) if (!isEncodedMedia(span.text)) x.texts.push(span);
  return optionalField(session, 'model', path, expectString) ?? null;
}

/**
 * The session fields of OpenAI's Realtime API (GA and beta): those readRealtimeSession reads as text, and settings whose
 * strings are names and enum values (voice, audio formats, turn detection, tracing). Any other field has every string
 * read as an unknown event's are, and is no reason to refuse the session: Azure's Voice Live adds its own (`avatar`,
 * `animation`, `input_audio_echo_cancellation`, ...), and whatever a vendor adds next is not let through unread. Azure's
 * richer forms of the fields named here (a voice object, `azure_semantic_vad` turn detection, `azure_deep_noise_suppression`)
 * are settings as OpenAI's are.
 */
const KNOWN_SESSION_FIELDS: ReadonlySet<string> = new Set([
  'type', 'object', 'id', 'model', 'instructions', 'prompt', 'tools', 'tool_choice', 'audio', 'input_audio_transcription',
  'modalities', 'output_modalities', 'voice', 'speed', 'input_audio_format', 'output_audio_format', 'input_audio_noise_reduction',
  'turn_detection', 'temperature', 'max_response_output_tokens', 'max_output_tokens', 'tracing', 'truncation', 'include',
  'client_secret', 'expires_at',
]);

/**
 * Whether a Realtime client event configures a transcription session (beta `transcription_session.update`, GA
 * `session.update` with `session.type: 'transcription'`): the model it names is its transcription model, the one the
 * session is held to (it names no other; on Azure a deployment). Otherwise a `session.update` configures a conversation
 * session, whose model is `session.model`. The one test both the reading here and the socket's gates
 * (websocket-inspection.ts) use, so they cannot disagree on which model an event names.
 */
export function configuresTranscriptionSession(event: unknown): boolean {
  if (!isJsonObject(event)) return false;
  if (event['type'] === 'transcription_session.update') return true;
  return event['type'] === 'session.update' && isJsonObject(event['session']) && event['session']['type'] === 'transcription';
}

/**
 * Where a session names the transcription model of its input audio: GA `audio.input.transcription`, beta
 * `input_audio_transcription`. Both are read whatever the protocol: a server may take either.
 */
const TRANSCRIPTION_PATHS: readonly (readonly string[])[] = [['audio', 'input', 'transcription'], ['input_audio_transcription']];

/** Where a transcription session names its model: its transcription model's spellings, and `session.model`. */
const TRANSCRIPTION_SESSION_MODEL_PATHS: readonly (readonly string[])[] = [...TRANSCRIPTION_PATHS, []];

/**
 * The one model the session names at `paths` (each the object holding a `model`), or null when none is named. An
 * event naming two different ones throws: Edge would decide one while the server might run the other.
 */
function agreedModel(session: JsonObject, paths: readonly (readonly string[])[]): string | null {
  let agreed: { model: string; path: readonly string[] } | undefined;
  for (const path of paths) {
    const named = modelAt(session, path);
    if (named === null) continue;
    if (agreed && agreed.model !== named) {
      throw new BodyShapeError(['session', ...path, 'model'], `names another model than ${formatJsonPath(['session', ...agreed.path, 'model'])}`);
    }
    agreed ??= { model: named, path };
  }
  return agreed?.model ?? null;
}

/** The `model` of the object at `path` in the session, or null when there is none. */
function modelAt(session: JsonObject, path: readonly string[]): string | null {
  let holder: unknown = session;
  for (const key of path) holder = isJsonObject(holder) ? holder[key] : undefined;
  if (!isJsonObject(holder)) return null;
  return optionalField(holder, 'model', ['session', ...path], expectString) ?? null;
}

/** `response.create`'s response: instructions, prompt variables, tools and out-of-band input items; no agent. */
function readResponse(x: Extraction, response: JsonObject, path: JsonPath): void {
  optionalField(response, 'instructions', path, (text, p) => addText(x, p, expectString(text, p), 'system'));
  optionalField(response, 'prompt', path, (prompt, p) => {
    if (isJsonObject(prompt)) readPromptVariables(x, prompt, p);
  });
  optionalField(response, 'tools', path, (tools, p) => readRealtimeTools(x, tools, p));
  // A response may be handed to an agent as a session is (`response.agent`).
  refuseAgentField(response, path);
  optionalField(response, 'input', path, (input, p) => {
    expectArray(input, p, 'an array of items').forEach((item, i) => readItem(x, expectObject(item, [...p, i], 'an item object'), [...p, i]));
  });
}

/** A conversation item: a message, a function call or its output; other item types have every string read. */
function readItem(x: Extraction, item: JsonObject, path: JsonPath): void {
  const type = optionalField(item, 'type', path, expectString) ?? 'message';
  switch (type) {
    case 'message': {
      const kind = ROLE_KINDS[requiredString(item, 'role', path)] ?? 'other';
      optionalField(item, 'content', path, (content, p) => {
        expectArray(content, p, 'an array of content parts').forEach((value, j) => readPart(x, expectObject(value, [...p, j], 'a content part object'), [...p, j], kind));
      });
      return;
    }
    case 'function_call':
      addTool(x, [...path, 'name'], requiredString(item, 'name', path), 'call');
      optionalField(item, 'arguments', path, (args, p) => addText(x, p, expectString(args, p), 'tool_arguments'));
      return;
    case 'function_call_output':
      optionalField(item, 'output', path, (output, p) => addText(x, p, expectString(output, p), 'tool_result'));
      return;
    case 'item_reference':
      return;
    default:
      // mcp_approval_response (its `reason`), MCP items replayed as context, and item types to come.
      for (const [key, child] of Object.entries(item)) {
        if (key !== 'type' && key !== 'id') addStringLeaves(x, child, [...path, key], 'other');
      }
  }
}

function readPart(x: Extraction, part: JsonObject, path: JsonPath, kind: TextSpan['kind']): void {
  const type = typeof part['type'] === 'string' ? part['type'] : '';
  if (TEXT_PART_TYPES.has(type)) addText(x, [...path, 'text'], expectString(part['text'], [...path, 'text']), kind);
  else if (AUDIO_PART_TYPES.has(type)) optionalField(part, 'transcript', path, (text, p) => addText(x, p, expectString(text, p), kind));
  // input_image (a URL or data URL) and item references carry no text.
}
