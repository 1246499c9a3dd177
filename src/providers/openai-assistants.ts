import {
  expectArray, expectObject, expectString, optionalField, optionalModel, readStreamFlag, requiredArray, requiredString, wrongType,
  type JsonObject,
} from './body-shape.js';
import { addText, addTool, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { addToolDefinitionTexts, OPENAI_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * OpenAI's Assistants API (beta; deprecated in favour of Responses, still served): an assistant carries
 * `instructions`, a thread carries the conversation's messages, and a run may add its own instructions and
 * messages, or create the thread it runs on. Tool outputs submitted to a run are what the client's functions
 * returned. Message `content` is a string or parts, of which `text` parts carry text.
 */

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', assistant: 'assistant' };

/** `POST /assistants` and `POST /assistants/{id}` (update): instructions, description and function tools. */
export function readAssistant(body: JsonObject): BodyReading {
  const x = newExtraction();
  optionalField(body, 'instructions', [], (text, p) => addText(x, p, expectString(text, p), 'system'));
  optionalField(body, 'description', [], (text, p) => addText(x, p, expectString(text, p), 'other'));
  readFunctionTools(x, body);
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
 * extend the assistant's, extra messages, the new thread's messages, and function tools.
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
  readFunctionTools(x, body);
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

/** `tools: [{type: 'function', function: {name, description, parameters}}]`; code interpreter and file search name no tool of the client's. */
function readFunctionTools(x: Extraction, body: JsonObject): void {
  optionalField(body, 'tools', [], (tools, p) => {
    expectArray(tools, p, 'an array of tool definitions').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool definition object');
      if (tool['type'] !== 'function') return;
      const fn = expectObject(tool['function'], [...p, i, 'function']);
      addTool(x, [...p, i, 'function', 'name'], requiredString(fn, 'name', [...p, i, 'function']), 'definition');
      addToolDefinitionTexts(x, fn, [...p, i, 'function'], OPENAI_TOOL_TEXT_FIELDS);
    });
  });
}
