import {
  expectArray, expectObject, expectString, isJsonObject, optionalField, optionalModel, readStreamFlag, requireModel,
  requiredArray, requiredString, wrongType, type JsonObject,
} from './body-shape.js';
import { addText, addTool, newCallLinker, newExtraction, type BodyReading, type CallLinker, type Extraction, type JsonPath } from './extraction.js';
import { addOutputSchemaTexts, addToolDefinitionTexts, OPENAI_OUTPUT_SCHEMA_FIELDS, OPENAI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * Reads `POST /responses` (OpenAI Responses API): `instructions`, `input` as a string or a list of items
 * (messages, function calls and their outputs), reusable-prompt `variables`, and tool definitions (a function or
 * custom tool's description and schema are `tool_definition` texts).
 * Tool paths point at `name` for definitions and calls, and at `call_id` for outputs (named after their call,
 * see CallLinker; an output answering a call from `previous_response_id` cannot be named here).
 */

const ROLE_KINDS: Record<string, TextSpan['kind']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };
const TEXT_PART_TYPES = new Set(['input_text', 'output_text', 'text']);

export function readResponsesRequest(body: JsonObject): BodyReading {
  // A stored prompt (`prompt: {id}`) may carry the model; otherwise the API needs one.
  const model = body['prompt'] !== undefined && body['prompt'] !== null ? optionalModel(body) : requireModel(body);
  const x = newExtraction();
  optionalField(body, 'instructions', [], (text, p) => addText(x, p, expectString(text, p), 'system'));

  optionalField(body, 'input', [], (input, p) => {
    if (typeof input === 'string') addText(x, p, input, 'user');
    else readInputItems(x, expectArray(input, p, 'a string or an array of input items'), p);
  });

  optionalField(body, 'prompt', [], (prompt, p) => readPromptVariables(x, expectObject(prompt, p), p));
  optionalField(body, 'tools', [], (tools, p) => {
    expectArray(tools, p, 'an array of tool definitions').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool definition object');
      if (tool['type'] !== 'function' && tool['type'] !== 'custom') return;
      addTool(x, [...p, i, 'name'], requiredString(tool, 'name', [...p, i]), 'definition');
      addToolDefinitionTexts(x, tool, [...p, i], OPENAI_TOOL_TEXT_FIELDS);
    });
  });
  // Structured outputs: `text.format` of type json_schema, the schema the answer must follow.
  optionalField(body, 'text', [], (text, p) => {
    if (isJsonObject(text) && isJsonObject(text['format'])) addOutputSchemaTexts(x, text['format'], [...p, 'format'], OPENAI_OUTPUT_SCHEMA_FIELDS);
  });
  return { model, stream: readStreamFlag(body), extraction: x };
}

/**
 * The OpenAI Conversations API stores Responses input items that later responses read as context:
 * `POST /conversations` (`items` optional) and `POST /conversations/{id}/items` (`items` required). Its
 * `metadata` labels the conversation for the app and is not sent to the model. These routes name no model.
 */
export function readConversationCreate(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'items', [], (items, p) => readInputItems(x, expectArray(items, p, 'an array of input items'), p));
  return { model: null, stream: false, extraction: x };
}

export function readConversationItems(body: JsonObject): BodyReading {
  const x = newExtraction();
  readInputItems(x, requiredArray(body, 'items', [], 'an array of input items'), ['items']);
  return { model: null, stream: false, extraction: x };
}

/**
 * A list of input items, each call's output named after the call it answers when both are in the list. Also read
 * for the Responses WebSocket's `response.append` (responses-websocket-events.ts).
 */
export function readInputItems(x: Extraction, items: unknown[], path: JsonPath): void {
  const calls = newCallLinker();
  items.forEach((item, i) => readInputItem(x, item, [...path, i], calls));
  calls.addResults(x);
}

function readInputItem(x: Extraction, value: unknown, path: JsonPath, calls: CallLinker): void {
  const item = expectObject(value, path, 'an input item object');
  const type = optionalField(item, 'type', path, expectString) ?? 'message';
  switch (type) {
    case 'message': {
      const kind = ROLE_KINDS[requiredString(item, 'role', path)] ?? 'other';
      readMessageContent(x, item['content'], [...path, 'content'], kind);
      return;
    }
    case 'function_call':
    case 'custom_tool_call': {
      const name = requiredString(item, 'name', path);
      addTool(x, [...path, 'name'], name, 'call');
      calls.recordCall(item['call_id'], name);
      const argsKey = type === 'function_call' ? 'arguments' : 'input';
      optionalField(item, argsKey, path, (args, p) => addText(x, p, expectString(args, p), 'tool_arguments'));
      return;
    }
    case 'function_call_output':
    case 'custom_tool_call_output': {
      const output = item['output'];
      if (typeof output === 'string') addText(x, [...path, 'output'], output, 'tool_result');
      else if (Array.isArray(output)) readTextParts(x, output, [...path, 'output'], 'tool_result');
      else throw wrongType([...path, 'output'], 'a string or an array of content parts', output);
      calls.recordResult(item['call_id'], [...path, 'call_id']);
      return;
    }
    case 'mcp_call': {
      // A remote MCP call the model made earlier, replayed as context.
      addTool(x, [...path, 'name'], requiredString(item, 'name', path), 'call');
      optionalField(item, 'arguments', path, (args, p) => addText(x, p, expectString(args, p), 'tool_arguments'));
      optionalField(item, 'output', path, (out, p) => addText(x, p, expectString(out, p), 'tool_result'));
      return;
    }
    case 'shell_call_output': {
      // What a command printed on the user's machine (`cat .env`...): [{stdout, stderr, outcome}].
      const output = item['output'];
      if (Array.isArray(output)) {
        output.forEach((entry, j) => {
          if (!isJsonObject(entry)) return;
          for (const stream of ['stdout', 'stderr']) {
            if (typeof entry[stream] === 'string') addText(x, [...path, 'output', j, stream], entry[stream], 'tool_result');
          }
        });
      } else if (typeof output === 'string') {
        addText(x, [...path, 'output'], output, 'tool_result');
      }
      return;
    }
    default:
      // local_shell_call_output, apply_patch_call_output and whatever `*_output` item comes next: a
      // string output is the result of something run on the user's side, so it is read.
      if (typeof item['output'] === 'string') addText(x, [...path, 'output'], item['output'], 'tool_result');
      // reasoning, item_reference, web_search_call, ...: model output or references, no client text.
      return;
  }
}

function readMessageContent(x: Extraction, content: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  if (typeof content === 'string') addText(x, path, content, kind);
  else if (Array.isArray(content)) readTextParts(x, content, path, kind);
  else throw wrongType(path, 'a string or an array of content parts', content);
}

/** `input_text` / `output_text` parts carry text; images, files and audio do not. */
function readTextParts(x: Extraction, parts: unknown[], path: JsonPath, kind: TextSpan['kind']): void {
  parts.forEach((value, j) => {
    const part = expectObject(value, [...path, j], 'a content part object');
    if (typeof part['type'] === 'string' && TEXT_PART_TYPES.has(part['type'])) {
      addText(x, [...path, j, 'text'], expectString(part['text'], [...path, j, 'text']), kind);
    }
  });
}

/** Reusable prompts (Responses, Realtime sessions) fill `{{variables}}` from the request: user text, as a string or an `input_text` part. */
export function readPromptVariables(x: Extraction, prompt: JsonObject, path: JsonPath): void {
  optionalField(prompt, 'variables', path, (variables, p) => {
    for (const [name, value] of Object.entries(expectObject(variables, p))) {
      if (typeof value === 'string') addText(x, [...p, name], value, 'user');
      else if (isJsonObject(value) && value['type'] === 'input_text' && typeof value['text'] === 'string') addText(x, [...p, name, 'text'], value['text'], 'user');
    }
  });
}
