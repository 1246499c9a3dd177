import { BodyShapeError, expectArray, expectObject, expectString, formatJsonPath, isJsonObject, optionalField, optionalModel, requiredString, type JsonObject } from './body-shape.js';
import { addText, addTool, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import type { FormFieldRules } from './form-request-body.js';
import { lettersOf } from './name-letters.js';
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
  if (session !== undefined) readRealtimeSessionConfig(x, session, ['session']);
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
  readRealtimeSessionConfig(x, body, []);
  return { model: optionalModel(body), stream: false, extraction: x };
}

/**
 * A session configuration at `path` (`session` in a client secret or a `session.update`, the body of a session POST):
 * its texts and tools go into `x` under their full paths, so a refusal names where it sits (`session.tools[12]`).
 */
export function readRealtimeSessionConfig(x: Extraction, session: JsonObject, path: JsonPath): void {
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
  refuseAgentField(session, path);
}

/**
 * Refuses Voice Live's agent mode set on a session or a response rather than in the URL (`session.agent`): the agent's
 * definition chooses the model, where no model rule of the key can hold it, as a Voice Live opening in agent mode is
 * refused (websocket-decision.ts). Any key whose letters are `agent` counts (`Agent`, `AGENT`, `agent `): the server is
 * .NET, and a case-insensitive JSON reader takes `Agent` for `agent`. A null agent is none.
 */
export function refuseAgentField(holder: JsonObject, path: JsonPath): void {
  for (const [key, value] of Object.entries(holder)) {
    if (value === null || lettersOf(key) !== 'agent') continue;
    throw foundryAgentRefusal([...path, key], 'names a Foundry agent', path, 'names a Foundry agent');
  }
}

/**
 * Why a session handed to a Foundry agent is refused, after what hands it over: the agent's definition chooses the
 * model, where no model rule of the key can hold it.
 */
const FOUNDRY_AGENT_PROBLEM = '(agent mode): Edge cannot see its model';

/**
 * The bytes a BodyShapeError's text (path, space, problem) may take in a socket's refusal: a close frame's 123 (RFC
 * 6455) less the words websocket-messages.ts puts around it, `Bifrost Edge: the message's ` and `; it was not sent`.
 */
const CLOSE_FRAME_ROOM = 123 - Buffer.byteLength("Bifrost Edge: the message's ") - Buffer.byteLength('; it was not sent');

/**
 * A Foundry agent refusal naming `path` (`session.tools[12]`), or `parent` (`response.tools`) when the whole reason would
 * not fit a close frame (a long index, a key of many characters), so the client gets it whole, not cut short.
 */
function foundryAgentRefusal(path: JsonPath, what: string, parent: JsonPath, parentWhat: string): BodyShapeError {
  const fits = Buffer.byteLength(`${formatJsonPath(path)} ${what} ${FOUNDRY_AGENT_PROBLEM}`) <= CLOSE_FRAME_ROOM;
  return fits ? new BodyShapeError(path, `${what} ${FOUNDRY_AGENT_PROBLEM}`) : new BodyShapeError(parent, `${parentWhat} ${FOUNDRY_AGENT_PROBLEM}`);
}

/**
 * A Realtime session's or response's `tools`. A function's name, description and parameter schema are read as a tool
 * definition. An `mcp` server's description is (its URL, headers and token are settings, as in the Responses API). Any
 * other type has every string read but its `type`, its `name` recorded as a tool's (addOtherToolTexts): whatever a
 * vendor adds is not let through unread. Voice Live's `foundry_agent` tool (2026-01-01-preview), in any spelling, is refused: it hands
 * the conversation to an agent whose model Edge cannot see, which is why agent-mode openings are refused. The reader
 * does not know the provider; no other vendor serves the type, so elsewhere the refusal only comes from Edge, not the
 * server.
 */
export function readRealtimeTools(x: Extraction, tools: unknown, path: JsonPath): void {
  expectArray(tools, path, 'an array of tool definitions').forEach((value, i) => {
    const at = [...path, i];
    const tool = expectObject(value, at, 'a tool definition object');
    const type = tool['type'];
    // `Foundry_Agent`, `FOUNDRY-AGENT`, `FoundryAgent`: .NET reads an enum's name in any letter case.
    if (typeof type === 'string' && lettersOf(type) === 'foundryagent') {
      throw foundryAgentRefusal(at, 'is a Foundry agent', path, 'hold a Foundry agent');
    }
    if (type === 'function') {
      addTool(x, [...at, 'name'], requiredString(tool, 'name', at), 'definition');
      addToolDefinitionTexts(x, tool, at, OPENAI_TOOL_TEXT_FIELDS);
    } else if (type === 'mcp') {
      addToolDefinitionTexts(x, tool, at, MCP_SERVER_TEXT_FIELDS);
    } else {
      addOtherToolTexts(x, tool, at, undefined);
    }
  });
}
