import {
  expectArray, expectObject, expectString, isJsonObject, optionalField, optionalModel, readStreamFlag, requiredArray, requiredString,
  wrongType, type JsonObject,
} from './body-shape.js';
import { addText, addTool, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { addOtherToolTexts, addToolDefinitionTexts, OPENAI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * OpenAI's Assistants API (beta; deprecated in favour of Responses, still served): an assistant carries
 * `instructions`, a thread carries the conversation's messages, and a run may add its own instructions and
 * messages, or create the thread it runs on. Tool outputs submitted to a run are what the client's functions
 * returned. Message `content` is a string or parts, of which `text` parts carry text.
 */

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', assistant: 'assistant' };

/** `POST /assistants` and `POST /assistants/{id}` (update): instructions, description and tools (readTools). */
export function readAssistant(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'instructions', [], (text, p) => addText(x, p, expectString(text, p), 'system'));
  optionalField(body, 'description', [], (text, p) => addText(x, p, expectString(text, p), 'other'));
  readTools(x, body);
  return { model: optionalModel(body), stream: false, extraction: x };
}

/** `POST /threads`: the messages it starts with. */
export function readThread(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'messages', [], (messages, p) => readMessages(x, messages, p));
  return { model: null, stream: false, extraction: x };
}

/** `POST /threads/{id}/messages`: one message. */
export function readThreadMessage(body: JsonObject): BodyReading {
  const x = newExtraction();
  readMessage(x, body, []);
  return { model: null, stream: false, extraction: x };
}

/**
 * `POST /threads/{id}/runs` and `POST /threads/runs` (create a thread and run it): instructions that replace or
 * extend the assistant's, extra messages, the new thread's messages, and tools (readTools). A run that names no
 * `model` runs on its assistant's: the reading has no model then, and the run is judged on none (the assistant's
 * deployment is not looked up). Its answer (the POST's, each poll's) names the model it ran on, which is what its
 * usage is priced at (late-charge.ts priceOf), and its record names it (request-handler.ts: a request naming no model
 * is recorded with the model its answer names).
 */
export function readRun(body: JsonObject): BodyReading {
  const x = newExtraction();
  for (const key of ['instructions', 'additional_instructions']) {
    optionalField(body, key, [], (text, p) => addText(x, p, expectString(text, p), 'system'));
  }
  optionalField(body, 'additional_messages', [], (messages, p) => readMessages(x, messages, p));
  optionalField(body, 'thread', [], (thread, p) => {
    optionalField(expectObject(thread, p), 'messages', p, (messages, mp) => readMessages(x, messages, mp));
  });
  readTools(x, body);
  return { model: optionalModel(body), stream: readStreamFlag(body), extraction: x };
}

/** `POST /threads/{id}/runs/{run}/submit_tool_outputs`: each output is what a client function returned. */
export function readToolOutputs(body: JsonObject): BodyReading {
  const x = newExtraction();
  requiredArray(body, 'tool_outputs', [], 'an array of tool outputs').forEach((value, i) => {
    const output = expectObject(value, ['tool_outputs', i], 'a tool output object');
    optionalField(output, 'output', ['tool_outputs', i], (text, p) => addText(x, p, expectString(text, p), 'tool_result'));
  });
  return { model: null, stream: readStreamFlag(body), extraction: x };
}

function readMessages(x: Extraction, messages: unknown, path: JsonPath): void {
  expectArray(messages, path, 'an array of messages').forEach((value, i) => readMessage(x, expectObject(value, [...path, i], 'a message object'), [...path, i]));
}

function readMessage(x: Extraction, message: JsonObject, path: JsonPath): void {
  const kind = ROLE_KINDS[requiredString(message, 'role', path)] ?? 'other';
  const content = message['content'];
  const contentPath = [...path, 'content'];
  if (typeof content === 'string') {
    addText(x, contentPath, content, kind);
    return;
  }
  if (!Array.isArray(content)) throw wrongType(contentPath, 'a string or an array of content parts', content);
  content.forEach((value, j) => {
    const part = expectObject(value, [...contentPath, j], 'a content part object');
    if (part['type'] === 'text') addText(x, [...contentPath, j, 'text'], expectString(part['text'], [...contentPath, j, 'text']), kind);
  });
}

/**
 * `tools`: a function's name, description and parameters; any other tool has every string read but its settings
 * (addOtherToolTexts, as the Responses reader does). OpenAI's hosted tools (code interpreter, file search) are
 * settings only. Foundry's Agent Service adds its own: grounding and search tools are connections (settings), while
 * an OpenAPI tool's description and spec, an Azure Function's description and parameters, a connected agent's
 * description (when to hand over to it) and an MCP server's label and tool names are put in front of the model.
 */
function readTools(x: Extraction, body: JsonObject): void {
  optionalField(body, 'tools', [], (tools, p) => {
    expectArray(tools, p, 'an array of tool definitions').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool definition object');
      if (tool['type'] === 'function') readFunction(x, expectObject(tool['function'], [...p, i, 'function']), [...p, i, 'function']);
      else readOtherTool(x, tool, [...p, i]);
    });
  });
}

function readFunction(x: Extraction, fn: JsonObject, path: JsonPath): void {
  addTool(x, [...path, 'name'], requiredString(fn, 'name', path), 'definition');
  addToolDefinitionTexts(x, fn, path, OPENAI_TOOL_TEXT_FIELDS);
}

const withType = (settings: Record<string, string[]>): ReadonlyMap<string, ReadonlySet<string>> =>
  new Map(Object.entries(settings).map(([type, keys]) => [type, new Set(['type', ...keys])]));

/** Hosted tools whose keys are settings the platform reads (vector stores, connections, an MCP server's address). */
const HOSTED_TOOL_SETTINGS = withType({
  code_interpreter: [],
  file_search: ['file_search'],
  azure_ai_search: ['azure_ai_search'],
  bing_grounding: ['bing_grounding'],
  bing_custom_search: ['bing_custom_search'],
  sharepoint_grounding: ['sharepoint_grounding'],
  fabric_dataagent: ['fabric_dataagent'],
  browser_automation: ['browser_automation'],
  deep_research: ['deep_research'],
  mcp: ['server_url', 'headers', 'require_approval'],
});

/**
 * Foundry's tools that hold their definition under a key named as their type (`{type: 'openapi', openapi: {name,
 * description, spec, auth}}`): the definition's settings. An Azure Function's `function` is read as a function.
 */
const WRAPPED_DEFINITION_SETTINGS: ReadonlyMap<string, ReadonlySet<string>> = new Map(Object.entries({
  openapi: ['auth', 'default_params'],
  azure_function: ['function', 'input_binding', 'output_binding'],
  connected_agent: ['id'],
}).map(([type, keys]) => [type, new Set(keys)]));

function readOtherTool(x: Extraction, tool: JsonObject, path: JsonPath): void {
  const type = typeof tool['type'] === 'string' ? tool['type'] : undefined;
  const wrapped = type === undefined ? undefined : WRAPPED_DEFINITION_SETTINGS.get(type);
  const definition = type === undefined ? undefined : tool[type];
  if (type === undefined || wrapped === undefined || !isJsonObject(definition)) {
    addOtherToolTexts(x, tool, path, type === undefined ? undefined : HOSTED_TOOL_SETTINGS.get(type));
    return;
  }
  const definitionPath = [...path, type];
  if (typeof definition['name'] === 'string') addTool(x, [...definitionPath, 'name'], definition['name'], 'definition');
  if (type === 'azure_function') readFunction(x, expectObject(definition['function'], [...definitionPath, 'function']), [...definitionPath, 'function']);
  addOtherToolTexts(x, definition, definitionPath, wrapped);
  // Anything beside the definition is read too: the wrapper's own keys are not known to be settings.
  addOtherToolTexts(x, tool, path, new Set(['type', type]));
}
