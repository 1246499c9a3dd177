import type { EdgeError } from '../edge-error.js';
import { BodyShapeError, expectObject, requiredArray, requiredString, type JsonObject } from './body-shape.js';
import { newExtraction, type Extraction } from './extraction.js';
import { readInputItems, readLabelValues, readResponsesRequest } from './openai-responses.js';

/**
 * The client events of the OpenAI Responses API in WebSocket mode (`GET wss://api.openai.com/v1/responses` with
 * `Upgrade: websocket`; Bifrost serves it too), as JSON text messages. Each turn is a model call:
 * - `response.create`: the fields of a `POST /v1/responses` body at the top level, with `type` (the SDK's
 *   ResponsesClientEvent; continuations name `previous_response_id`), read exactly as that body is: its model
 *   (required unless a stored prompt carries one), instructions, input items, prompt variables, tool definitions
 *   and output schema;
 * - `response.append`: input items appended to the response before it, which runs again on its model (Codex's
 *   first WebSocket protocol; the SDK does not send it). Codex sends `{type, input}` and, in later versions,
 *   `client_metadata` (codex-rs ResponseAppendWsRequest); nothing else is accepted on it. Servers that implement
 *   it build the turn from the append's own fields over the previous request's (CLIProxyAPI), so a `model`,
 *   `instructions`, `tools` or anything else on an append would run, unread and on a model Edge never checked.
 * - `response.processed`: `{type, response_id}`, Codex's acknowledgement that it has handled a response, on a
 *   connection it reuses (codex-rs ResponseProcessedWsRequest). It calls no model and carries no text: relayed, not
 *   a turn; any other field on it is refused, as on an append.
 * - `response.inject`: `{type, response_id, input}` (the SDK's BetaResponseInjectEvent, the multi-agent beta): input
 *   items (today a client-owned tool's output) committed to the active response, resuming a waiting agent. It starts
 *   no response of its own: the model work it resumes is the active response's, counted with the response.create
 *   that started it and charged when that response reports its usage. So it is no turn: its input is read as an
 *   append's, and decided on the model of the last response.create allowed on the socket; any other field is
 *   refused, as on an append.
 * Any other type is refused: a turn Edge cannot read would go to a model whose rules and limits it never checked.
 */

export type ResponsesClientEventType = 'response.create' | 'response.append' | 'response.processed' | 'response.inject';

export interface ResponsesEventReading {
  type: ResponsesClientEventType;
  /** The model `response.create` names (null when a stored prompt carries it); null for the other types. */
  model: string | null;
  /** The event is a model call of its own (create, append): decided and counted as a request is. */
  turn: boolean;
  extraction: Extraction;
}

/** Reads one parsed client event; a malformed or unknown one throws a BodyShapeError naming the field. */
export function readResponsesClientEvent(value: unknown): ResponsesEventReading {
  const event = expectObject(value, [], 'a Responses client event object');
  const type = requiredString(event, 'type', []);
  switch (type) {
    case 'response.create': {
      // Its fields are those of the HTTP body, at the same paths (`type` aside, which the body reader ignores).
      const reading = readResponsesRequest(event);
      return { type, model: reading.model, turn: true, extraction: reading.extraction };
    }
    case 'response.append': {
      checkAppendFields(event);
      const x = newExtraction();
      readInputItems(x, requiredArray(event, 'input', [], 'an array of input items'), ['input']);
      readLabelValues(x, event);
      return { type, model: null, turn: true, extraction: x };
    }
    case 'response.inject': {
      requiredString(event, 'response_id', []);
      for (const key of Object.keys(event)) {
        if (!INJECT_FIELDS.has(key)) throw new BodyShapeError([], 'is a response.inject with a field other than response_id and input');
      }
      const x = newExtraction();
      readInputItems(x, requiredArray(event, 'input', [], 'an array of input items'), ['input']);
      return { type, model: null, turn: false, extraction: x };
    }
    case 'response.processed': {
      requiredString(event, 'response_id', []);
      for (const key of Object.keys(event)) {
        if (key !== 'type' && key !== 'response_id') throw new BodyShapeError([], 'is a response.processed with a field other than response_id');
      }
      return { type, model: null, turn: false, extraction: newExtraction() };
    }
    default:
      // The type is not quoted: a client may put anything there.
      throw new BodyShapeError(['type'], 'is not a Responses client event Edge reads; send response.create');
  }
}

/** The fields of a `response.inject` (BetaResponseInjectEvent). */
const INJECT_FIELDS: ReadonlySet<string> = new Set(['type', 'response_id', 'input']);

/** The fields of a `response.append`: what Codex sends. `client_metadata` labels the turn for the server (its values read: readLabelValues). */
const APPEND_FIELDS: ReadonlySet<string> = new Set(['type', 'input', 'client_metadata']);

/**
 * Fields of a `response.create` (the HTTP body's, in SDK 6.49, and the WebSocket's own): names the API documents, so a
 * refusal may quote them. Any other key may be data a user typed, and is not quoted.
 */
const RESPONSE_CREATE_FIELDS: ReadonlySet<string> = new Set([
  'background', 'context_management', 'conversation', 'include', 'instructions', 'max_output_tokens', 'metadata', 'model',
  'moderation', 'parallel_tool_calls', 'previous_response_id', 'prompt', 'prompt_cache_key', 'prompt_cache_options',
  'prompt_cache_retention', 'reasoning', 'safety_identifier', 'service_tier', 'store', 'stream', 'stream_options',
  'temperature', 'text', 'tool_choice', 'tools', 'top_logprobs', 'top_p', 'truncation', 'user', 'generate',
]);

/**
 * An append carries input items only: any other field (a model, instructions, tools, a previous_response_id) would
 * change a turn Edge decides on the model of the response.create before it, and is refused (the socket closes).
 */
function checkAppendFields(event: JsonObject): void {
  for (const key of Object.keys(event)) {
    if (APPEND_FIELDS.has(key)) continue;
    if (RESPONSE_CREATE_FIELDS.has(key)) throw new BodyShapeError([key], 'is refused on a response.append; use response.create');
    throw new BodyShapeError([], 'is a response.append with a field other than input; use response.create');
  }
}

/**
 * How the Responses WebSocket tells a client a turn was refused: an `error` server event, as the API sends for a
 * request it refuses (`status`, and the error the HTTP body would hold), and the socket stays open for the next
 * turn. The official SDK raises it as a WebSocketError holding the event; Codex reads `status` and `error`.
 */
export function responsesErrorEvent(err: Pick<EdgeError, 'status' | 'type' | 'message'>): { type: 'error'; status: number; error: { type: string; code: string; message: string; param: null } } {
  return { type: 'error', status: err.status, error: { type: err.type, code: err.type, message: err.message, param: null } };
}
