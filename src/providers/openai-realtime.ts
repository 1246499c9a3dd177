import { BodyShapeError, expectArray, expectObject, expectString, isJsonObject, optionalField, optionalModel, requiredString, type JsonObject } from './body-shape.js';
import { addText, addTool, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import type { FormFieldRules } from './form-request-body.js';
import { readPromptVariables } from './openai-responses.js';
import { addOtherToolTexts, addToolDefinitionTexts, MCP_SERVER_TEXT_FIELDS, OPENAI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';

/**
 * The JSON POSTs that configure an OpenAI Realtime session before its WebSocket or WebRTC connection opens:
 * the session's `instructions`, reusable-prompt `variables` and function tools reach the model as the system
 * prompt of every turn. The conversation itself then runs over the connection, which Edge does not read.
 */

/** `POST /realtime/client_secrets`: an ephemeral key for a browser, with the session it may open under `session`. */
export function readRealtimeClientSecret(body: JsonObject): BodyReading {
  return readSessionField(body);
}

/**
 * How `POST /realtime/calls` is read when sent as multipart/form-data (the WebRTC offer with its session): the
 * `session` field is the session configuration as JSON text; `sdp` is the offer, which describes the media
 * connection and is no text for the model. Sent as plain `application/sdp` the offer has nothing to read.
 */
export const REALTIME_CALL_FORM: FormFieldRules = { textFields: new Set(['session']), jsonFields: new Set(['session']) };

/** `POST /realtime/calls` as a form (REALTIME_CALL_FORM): the session the call opens with, under `session`, as in a client secret. */
export function readRealtimeCallOffer(form: JsonObject): BodyReading {
  return readSessionField(form);
}

function readSessionField(body: JsonObject): BodyReading {
  const x = newExtraction();
  const session = optionalField(body, 'session', [], (value, p) => expectObject(value, p));
  if (session !== undefined) readSessionConfig(x, session, ['session']);
  const model = session !== undefined && typeof session['model'] === 'string' ? session['model'] : null;
  return { model, stream: false, extraction: x };
}

/** The object at `keys` under `value`, when every step is an object. */
function objectAt(value: JsonObject, keys: readonly string[]): JsonObject | undefined {
  let at: unknown = value;
  for (const key of keys) at = isJsonObject(at) ? at[key] : undefined;
  return isJsonObject(at) ? at : undefined;
}

/**
 * `POST /realtime/sessions` (beta), `/realtime/transcription_sessions` and `/realtime/calls/{id}/accept`: the
 * session configuration is the body.
 */
export function readRealtimeSession(body: JsonObject): BodyReading {
  const x = newExtraction();
  readSessionConfig(x, body, []);
  return { model: optionalModel(body), stream: false, extraction: x };
}

function readSessionConfig(x: Extraction, session: JsonObject, path: JsonPath): void {
  optionalField(session, 'instructions', path, (text, p) => addText(x, p, expectString(text, p), 'system'));
  // The transcription model's prompt and keywords (hints of names and terms to expect, sent to the model as they
  // are; Azure's Voice Live calls its hints `phrase_list`): GA sessions nest them under `audio.input.transcription`,
  // beta and transcription sessions under `input_audio_transcription`.
  for (const keys of [['audio', 'input', 'transcription'], ['input_audio_transcription']]) {
    const holder = objectAt(session, keys);
    if (!holder) continue;
    optionalField(holder, 'prompt', [...path, ...keys], (text, p) => addText(x, p, expectString(text, p), 'system'));
    for (const hints of ['keywords', 'phrase_list']) {
      optionalField(holder, hints, [...path, ...keys], (phrases, p) => {
        expectArray(phrases, p, 'an array of strings').forEach((phrase, i) => addText(x, [...p, i], expectString(phrase, [...p, i]), 'system'));
      });
    }
  }
  optionalField(session, 'prompt', path, (prompt, p) => {
    if (isJsonObject(prompt)) readPromptVariables(x, prompt, p);
  });
  optionalField(session, 'tools', path, (tools, p) => readRealtimeTools(x, tools, p));
  // Voice Live's agent mode set on the session rather than in the URL: the agent's model is out of Edge's sight.
  if (session['agent'] !== undefined && session['agent'] !== null) throw new BodyShapeError([...path, 'agent'], FOUNDRY_AGENT_PROBLEM);
}

/**
 * Why a session handed to a Foundry agent is refused, as a Voice Live opening in agent mode is (websocket-decision.ts):
 * the agent's definition chooses the model, where no model rule of the key can hold it. Short enough for a close frame
 * (123 bytes) with the message's path in front (`session.tools[12]`).
 */
const FOUNDRY_AGENT_PROBLEM = 'is a Foundry agent (agent mode), hiding its model from Edge';

/**
 * A Realtime session's or response's `tools`. A function's name, description and parameter schema are read as a tool
 * definition. An `mcp` server's description is (its URL, headers and token are settings, as in the Responses API). Any
 * other type has every string read but its `type`, its `name` recorded as a tool's (addOtherToolTexts): whatever a
 * vendor adds is not let through unread. Voice Live's `foundry_agent` tool (2026-01-01-preview) is refused: it hands
 * the conversation to an agent whose model Edge cannot see, which is why agent-mode openings are refused. The reader
 * does not know the provider; no other vendor serves the type, so elsewhere the refusal only comes from Edge, not the
 * server.
 */
export function readRealtimeTools(x: Extraction, tools: unknown, path: JsonPath): void {
  expectArray(tools, path, 'an array of tool definitions').forEach((value, i) => {
    const at = [...path, i];
    const tool = expectObject(value, at, 'a tool definition object');
    const type = tool['type'];
    if (type === 'function') {
      addTool(x, [...at, 'name'], requiredString(tool, 'name', at), 'definition');
      addToolDefinitionTexts(x, tool, at, OPENAI_TOOL_TEXT_FIELDS);
    } else if (type === 'mcp') {
      addToolDefinitionTexts(x, tool, at, MCP_SERVER_TEXT_FIELDS);
    } else if (type === 'foundry_agent') {
      throw new BodyShapeError(at, FOUNDRY_AGENT_PROBLEM);
    } else {
      addOtherToolTexts(x, tool, at, undefined);
    }
  });
}
