import {
  expectArray, expectObject, expectString, isJsonObject, optionalField, optionalModel, readStreamFlag, requiredString, wrongType,
  type JsonObject,
} from './body-shape.js';
import { addStringLeaves, addText, addTool, newCallLinker, newExtraction, type BodyReading, type CallLinker, type Extraction, type JsonPath } from './extraction.js';
import { addToolDefinitionTexts, OPENAI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * Mistral's Conversations API (api.mistral.ai), which shares OpenAI's `/conversations` path but not its shape:
 * `POST /conversations` starts one (`inputs`, `instructions`, `tools`, and a `model` or an `agent_id`),
 * `POST /conversations/{id}` appends to it and `POST /conversations/{id}/restart` branches it from an entry;
 * each answers with the model's reply. `inputs` is a string (a user message) or a list of entries: messages
 * (`content` as a string or chunks), function calls and their results. An entry's `type` may be left out,
 * so entries are read by the fields that carry text, whatever their type says.
 */

const ROLE_KINDS: Record<string, TextSpan['kind']> = { system: 'system', user: 'user', assistant: 'assistant' };

/** `POST /conversations`: the model is null when an agent (`agent_id`) answers. */
export function readMistralConversationStart(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'instructions', [], (text, p) => addText(x, p, expectString(text, p), 'system'));
  optionalField(body, 'inputs', [], (inputs, p) => readInputs(x, inputs, p));
  optionalField(body, 'tools', [], (tools, p) => {
    expectArray(tools, p, 'an array of tool definitions').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool definition object');
      if (tool['function'] === undefined || tool['function'] === null) return;
      const fn = expectObject(tool['function'], [...p, i, 'function']);
      addTool(x, [...p, i, 'function', 'name'], requiredString(fn, 'name', [...p, i, 'function']), 'definition');
      addToolDefinitionTexts(x, fn, [...p, i, 'function'], OPENAI_TOOL_TEXT_FIELDS);
    });
  });
  return { model: optionalModel(body), stream: readStreamFlag(body), extraction: x };
}

/** `POST /conversations/{id}` (append) and `POST /conversations/{id}/restart`: new `inputs`; the model is the conversation's. */
export function readMistralConversationInputs(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'inputs', [], (inputs, p) => readInputs(x, inputs, p));
  return { model: null, stream: readStreamFlag(body), extraction: x };
}

function readInputs(x: Extraction, inputs: unknown, path: JsonPath): void {
  if (typeof inputs === 'string') {
    addText(x, path, inputs, 'user');
    return;
  }
  const calls = newCallLinker();
  expectArray(inputs, path, 'a string or an array of conversation entries').forEach((value, i) => readEntry(x, value, [...path, i], calls));
  calls.addResults(x);
}

function readEntry(x: Extraction, value: unknown, path: JsonPath, calls: CallLinker): void {
  const entry = expectObject(value, path, 'a conversation entry object');
  const type = optionalField(entry, 'type', path, expectString);
  const role = optionalField(entry, 'role', path, expectString);
  const kind = role !== undefined ? ROLE_KINDS[role] ?? 'other' : type === 'message.output' ? 'assistant' : 'user';
  optionalField(entry, 'content', path, (content, p) => readContent(x, content, p, kind));
  // function.call (the model's call, replayed) and tool.execution (a built-in connector run by Mistral).
  optionalField(entry, 'arguments', path, (args, p) => {
    if (typeof args === 'string') addText(x, p, args, 'tool_arguments');
    else if (isJsonObject(args)) addStringLeaves(x, args, p, 'tool_arguments');
    else throw wrongType(p, 'a JSON string or an object', args);
  });
  if (type === 'function.call' || (type === undefined && entry['tool_call_id'] !== undefined && entry['name'] !== undefined)) {
    const name = requiredString(entry, 'name', path);
    addTool(x, [...path, 'name'], name, 'call');
    calls.recordCall(entry['tool_call_id'], name);
  }
  // function.result: what the client's own function returned.
  optionalField(entry, 'result', path, (result, p) => {
    addText(x, p, expectString(result, p), 'tool_result');
    calls.recordResult(entry['tool_call_id'], [...path, 'tool_call_id']);
  });
}

/** A string, or chunks of which `text` chunks carry text (images, documents and files do not). */
function readContent(x: Extraction, content: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  if (typeof content === 'string') {
    addText(x, path, content, kind);
    return;
  }
  expectArray(content, path, 'a string or an array of content chunks').forEach((value, j) => {
    const chunk = expectObject(value, [...path, j], 'a content chunk object');
    if (chunk['type'] === 'text') addText(x, [...path, j, 'text'], expectString(chunk['text'], [...path, j, 'text']), kind);
  });
}
