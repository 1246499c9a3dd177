import {
  expectArray, expectObject, expectString, isJsonObject, optionalField, readStreamFlag, requireModel, requiredArray,
  requiredString, wrongType, type JsonObject,
} from './body-shape.js';
import {
  addStringLeaves, addText, addTool, newCallLinker, newExtraction, type BodyReading, type CallLinker, type Extraction, type JsonPath,
} from './extraction.js';
import { readLabelValues } from './openai-responses.js';
import { addOutputSchemaTexts, addToolDefinitionTexts, OPENAI_OUTPUT_SCHEMA_FIELDS, OPENAI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * Reads `POST /chat/completions` (OpenAI and every OpenAI-compatible API). Tool paths point at the string
 * that names the tool: `function.name` for definitions and calls, `tool_call_id` for results (named after
 * the assistant call with that id, see CallLinker). A definition's description and parameter schema are read
 * as `tool_definition` texts (tool-definition-texts.ts).
 */

const ROLE_KINDS: Record<string, TextSpan['kind']> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool_result',
  function: 'tool_result',
};

export function readChatCompletion(body: JsonObject): BodyReading {
  const model = requireModel(body);
  const stream = readStreamFlag(body);
  const x = newExtraction();
  const messages = requiredArray(body, 'messages', [], 'an array of messages');
  const calls = newCallLinker();

  messages.forEach((value, i) => {
    const path = ['messages', i];
    const message = expectObject(value, path, 'a message object');
    const role = requiredString(message, 'role', path);
    const kind = ROLE_KINDS[role] ?? 'other';
    optionalField(message, 'content', path, (content, p) => readChatContent(x, content, p, kind));
    optionalField(message, 'tool_calls', path, (toolCalls, p) => readToolCalls(x, toolCalls, p, calls));
    optionalField(message, 'function_call', path, (call, p) => readFunctionCall(x, call, p));
    if (role === 'tool') calls.recordResult(message['tool_call_id'], [...path, 'tool_call_id']);
    if (role === 'function') {
      // Legacy function-calling: the result message carries the function's name itself.
      const name = optionalField(message, 'name', path, expectString);
      if (name !== undefined) addTool(x, [...path, 'name'], name, 'result');
    }
  });
  calls.addResults(x);
  readChatToolDefinitions(x, body);
  // Structured outputs: the schema the answer must follow, descriptions included.
  optionalField(body, 'response_format', [], (format, p) => {
    if (isJsonObject(format) && isJsonObject(format['json_schema'])) addOutputSchemaTexts(x, format['json_schema'], [...p, 'json_schema'], OPENAI_OUTPUT_SCHEMA_FIELDS);
  });
  // Predicted Outputs: the text the answer is expected to resemble, usually the user's own code.
  optionalField(body, 'prediction', [], (prediction, p) => {
    if (isJsonObject(prediction) && prediction['content'] !== undefined) readChatContent(x, prediction['content'], [...p, 'content'], 'user');
  });
  // A stored completion's `metadata` is kept with it at the provider (listed and filtered on its dashboard): its
  // string values are text sent there, read as a response's labels are (their keys are not; a `client_metadata` a
  // client sends along is read too, as text the provider gets all the same).
  readLabelValues(x, body);
  return { model, stream, extraction: x };
}

/** Message content: a string, or content parts of which the `text` parts carry text (images, audio, files do not). */
function readChatContent(x: Extraction, content: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  if (typeof content === 'string') {
    addText(x, path, content, kind);
    return;
  }
  if (!Array.isArray(content)) throw wrongType(path, 'a string, an array of content parts or null', content);
  content.forEach((value, j) => {
    const part = expectObject(value, [...path, j], 'a content part object');
    if (part['type'] === 'text') addText(x, [...path, j, 'text'], expectString(part['text'], [...path, j, 'text']), kind);
  });
}

function readToolCalls(x: Extraction, value: unknown, path: JsonPath, calls: CallLinker): void {
  expectArray(value, path, 'an array of tool calls').forEach((item, k) => {
    const callPath = [...path, k];
    const call = expectObject(item, callPath, 'a tool call object');
    if (call['type'] === 'custom') {
      const custom = expectObject(call['custom'], [...callPath, 'custom']);
      const name = requiredString(custom, 'name', [...callPath, 'custom']);
      addTool(x, [...callPath, 'custom', 'name'], name, 'call');
      calls.recordCall(call['id'], name);
      optionalField(custom, 'input', [...callPath, 'custom'], (input, p) => addText(x, p, expectString(input, p), 'tool_arguments'));
      return;
    }
    calls.recordCall(call['id'], readFunctionCall(x, call['function'], [...callPath, 'function']));
  });
}

/** `{name, arguments}`: the arguments are a JSON string for OpenAI; some compatible servers accept an object. */
function readFunctionCall(x: Extraction, value: unknown, path: JsonPath): string {
  const fn = expectObject(value, path);
  const name = requiredString(fn, 'name', path);
  addTool(x, [...path, 'name'], name, 'call');
  optionalField(fn, 'arguments', path, (args, p) => {
    if (typeof args === 'string') addText(x, p, args, 'tool_arguments');
    else if (isJsonObject(args)) addStringLeaves(x, args, p, 'tool_arguments');
    else throw wrongType(p, 'a JSON string (or an object)', args);
  });
  return name;
}

function readChatToolDefinitions(x: Extraction, body: JsonObject): void {
  optionalField(body, 'tools', [], (tools, p) => {
    expectArray(tools, p, 'an array of tool definitions').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool definition object');
      for (const key of ['function', 'custom'] as const) {
        if (tool[key] === undefined) continue;
        const fn = expectObject(tool[key], [...p, i, key]);
        addTool(x, [...p, i, key, 'name'], requiredString(fn, 'name', [...p, i, key]), 'definition');
        addToolDefinitionTexts(x, fn, [...p, i, key], OPENAI_TOOL_TEXT_FIELDS);
      }
    });
  });
  // Legacy `functions` parameter, still accepted by the API.
  optionalField(body, 'functions', [], (functions, p) => {
    expectArray(functions, p, 'an array of function definitions').forEach((value, i) => {
      const fn = expectObject(value, [...p, i], 'a function definition object');
      addTool(x, [...p, i, 'name'], requiredString(fn, 'name', [...p, i]), 'definition');
      addToolDefinitionTexts(x, fn, [...p, i], OPENAI_TOOL_TEXT_FIELDS);
    });
  });
}
