import type { EdgeError } from '../edge-error.js';
import { BodyShapeError, expectObject, requiredArray, requiredString } from './body-shape.js';
import { newExtraction, type Extraction } from './extraction.js';
import { readInputItems, readResponsesRequest } from './openai-responses.js';

/**
 * The client events of the OpenAI Responses API in WebSocket mode (`GET wss://api.openai.com/v1/responses` with
 * `Upgrade: websocket`; Bifrost serves it too), as JSON text messages. Each turn is a model call:
 * - `response.create`: the fields of a `POST /v1/responses` body at the top level, with `type` (the SDK's
 *   ResponsesClientEvent; continuations name `previous_response_id`), read exactly as that body is: its model
 *   (required unless a stored prompt carries one), instructions, input items, prompt variables, tool definitions
 *   and output schema;
 * - `response.append`: input items appended to the response before it, which runs again on its model (Codex's
 *   first WebSocket protocol; the SDK does not send it).
 * Any other type is refused: a turn Edge cannot read would go to a model whose rules and limits it never checked.
 */

export type ResponsesClientEventType = 'response.create' | 'response.append';

export interface ResponsesEventReading {
  type: ResponsesClientEventType;
  /** The model `response.create` names (null when a stored prompt carries it); null for `response.append`. */
  model: string | null;
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
      return { type, model: reading.model, extraction: reading.extraction };
    }
    case 'response.append': {
      const x = newExtraction();
      readInputItems(x, requiredArray(event, 'input', [], 'an array of input items'), ['input']);
      return { type, model: null, extraction: x };
    }
    default:
      // The type is not quoted: a client may put anything there.
      throw new BodyShapeError(['type'], 'is not a Responses client event Edge reads; send response.create');
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
