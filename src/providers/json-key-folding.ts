import { isJsonObject, type JsonObject } from './body-shape.js';
import type { JsonPath } from './extraction.js';
import { OUTPUT_SCHEMA_TEXT_FIELDS, TOOL_DEFINITION_TEXT_FIELDS } from './tool-definition-texts.js';

/**
 * Object keys that a case-insensitive reader would take for another key than Edge does.
 *
 * Edge reads bodies with JSON.parse, which matches keys exactly. The Bifrost gateway (Go, encoding/json
 * semantics; sonic is compatible), and Go MCP servers, match keys to struct fields regardless of letter case
 * (Unicode simple folding, so `ſ` (U+017F) is an `s` and the Kelvin sign (U+212A) a `k`), and when several keys
 * match one field the later one wins. So `{"messages": [...hi...], "MESSAGES": [...secret...]}` is "hi" to Edge
 * and the secret to the gateway, and a lone `"Messages"` is no messages at all to Edge. Two shapes are found:
 * - an object with two keys equal under that folding (`messages` and `MESSAGES`): ambiguous to any reader;
 * - a key not spelled as a field Edge reads but folding to one (`Messages`, `meſſages`, `systeminstruction`).
 *
 * Both only at the levels a gateway decodes into structs: the body and the objects Edge's readers walk into
 * (messages, their content blocks and parts, tools, tool calls, structured-output settings, ...). Free-form maps
 * below them (JSON schemas, tool arguments and Anthropic's `tool_use.input`, Gemini's `functionCall.args` and
 * `functionResponse.response`, `metadata`, `logit_bias`, MCP `arguments`) are decoded into maps that keep every key
 * as sent, and hold names the user chose (a `Content` property): they are never entered.
 */

/**
 * Every field the body readers (src/providers/*) and the proxy (stream-usage.ts, the model rewrite) read,
 * spelled as the APIs document them. A key at a struct level that folds to one of these must be spelled exactly.
 */
const FIELDS_EDGE_READS: readonly string[] = [
  // Shared by most shapes.
  'model', 'stream', 'type', 'role', 'content', 'text', 'name', 'id', 'input', 'output', 'prompt', 'instructions',
  'tools', 'function', 'arguments', 'description', 'title', 'context', 'source', 'data', 'result', 'parts',
  // OpenAI chat, completions, embeddings, Assistants, Realtime, media, Conversations; Mistral.
  'messages', 'tool_calls', 'function_call', 'tool_call_id', 'functions', 'prediction', 'custom', 'suffix', 'query',
  'items', 'call_id', 'stdout', 'stderr', 'variables', 'additional_instructions', 'additional_messages', 'thread',
  'tool_outputs', 'session', 'stream_format', 'stream_options', 'include_usage', 'inputs', 'audio', 'transcription',
  'input_audio_transcription', 'keywords', 'reason',
  // A response's labels, whose values the guardrails read (openai-responses.ts readLabelValues): the maps themselves
  // are free-form and never entered, but a `Metadata` the gateway takes for `metadata` must not pass unread.
  'metadata', 'client_metadata',
  // Anthropic.
  'system', 'tool_use_id', 'requests', 'params',
  // Gemini (both spellings Google accepts).
  'contents', 'systemInstruction', 'system_instruction', 'functionDeclarations', 'function_declarations',
  'functionCall', 'functionResponse', 'function_response', 'args', 'response', 'executableCode', 'executable_code',
  'code', 'codeExecutionResult', 'code_execution_result', 'inlineData', 'inline_data', 'mimeType', 'mime_type',
  'generateContentRequest', 'generate_content_request', 'batch', 'inputConfig', 'input_config', 'request',
  'instances', 'parameters', 'negativePrompt',
  // ChatGPT and Claude web apps, Copilot completions.
  'author', 'attachments', 'extracted_content', 'extra', 'speculation',
  // MCP (JSON-RPC).
  'jsonrpc', 'method', 'error', 'argument', 'value', '_meta',
  // Structured outputs: where the schema the answer must follow sits (Chat Completions `response_format.json_schema`,
  // Responses `text.format`, Anthropic `output_config.format` and `output_format`, Gemini `generationConfig`).
  'response_format', 'json_schema', 'format', 'schema', 'output_config', 'output_format', 'generationConfig', 'generation_config',
  // Every field the tool definition and output schema readers take text from (tool-definition-texts.ts).
  ...TOOL_DEFINITION_TEXT_FIELDS, ...OUTPUT_SCHEMA_TEXT_FIELDS,
];

/**
 * The fields whose value holds more struct levels: objects Go decodes field by field. `arrays`: only an array
 * value is walked, since the same name holds a free-form object elsewhere (Anthropic's `tool_use.input`) or a
 * string. Everything not listed (schemas, metadata, arguments, args, response, variables) is never entered.
 */
const STRUCT_FIELDS: ReadonlyMap<string, 'objects and arrays' | 'arrays'> = new Map([
  ...[
    'messages', 'content', 'parts', 'tools', 'functions', 'function', 'custom', 'tool_calls', 'function_call', 'prediction',
    'items', 'prompt', 'source', 'requests', 'params', 'thread', 'additional_messages', 'tool_outputs', 'session',
    'stream_options', 'attachments', 'author', 'extra', 'argument',
    'contents', 'systemInstruction', 'system_instruction', 'functionDeclarations', 'function_declarations', 'functionCall',
    'functionResponse', 'function_response', 'executableCode', 'executable_code', 'codeExecutionResult',
    'code_execution_result', 'inlineData', 'inline_data', 'generateContentRequest', 'generate_content_request', 'batch',
    'inputConfig', 'input_config', 'request', 'instances', 'audio', 'transcription', 'input_audio_transcription',
    // Structured outputs down to the object holding the schema; the schema itself (`schema`, `responseSchema`, ...)
    // is free-form, its property names the user's. `text` is a string in messages, the output settings in Responses.
    'text', 'format', 'response_format', 'json_schema', 'output_config', 'output_format', 'generationConfig', 'generation_config',
  ].map((field) => [field, 'objects and arrays'] as const),
  ...['input', 'output', 'system', 'inputs'].map((field) => [field, 'arrays'] as const),
]);

/** A key Edge and a case-insensitive reader would read differently, where it sits, and what it folds to. */
export type FoldedKeyProblem =
  /** Two keys of one object equal under folding, in document order; `field` is the field they fold to, when Edge reads it. */
  | { kind: 'ambiguous'; path: JsonPath; keys: [string, string]; field?: string }
  /** `key` is not a field Edge reads but folds to `field`, which is. */
  | { kind: 'misspelled'; path: JsonPath; key: string; field: string };

/**
 * The key as Go compares it: ASCII letters lower-cased, other characters by Unicode simple case folding
 * (`ſ` → `s`, Kelvin sign → `k`, `Σ`/`ς` → `σ`). Keys of lower-case ASCII, nearly all of them, come back as they are.
 */
export function foldKey(key: string): string {
  let upperCase = false;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return foldEachCharacter(key);
    if (code >= 0x41 && code <= 0x5a) upperCase = true;
  }
  // On ASCII, toLowerCase changes exactly the letters A to Z.
  return upperCase ? key.toLowerCase() : key;
}

function foldEachCharacter(key: string): string {
  let folded = '';
  for (const character of key) folded += foldCharacter(character);
  return folded;
}

function foldCharacter(character: string): string {
  const code = character.codePointAt(0)!;
  if (code <= 0x7f) return code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 0x20) : character;
  if (code === 0x17f) return 's';
  if (code === 0x212a) return 'k';
  // Simple folding maps one character to one: `ß` → `SS` and `İ` → `i̇` are not folds, the character stays.
  const upper = character.toUpperCase();
  const lower = [...upper].length === 1 ? upper.toLowerCase() : character.toLowerCase();
  if ([...lower].length !== 1) return character;
  // Go folds no other character onto an ASCII letter (the dotless `ı` stays itself).
  return lower.codePointAt(0)! <= 0x7f ? character : lower;
}

const EXACT_FIELDS: ReadonlySet<string> = new Set(FIELDS_EDGE_READS);

/** Whether `key` is spelled exactly as a field Edge reads: a name the APIs document, never data a user typed. */
export function isFieldEdgeReads(key: string): boolean {
  return EXACT_FIELDS.has(key);
}
const FIELD_BY_FOLDED_NAME: ReadonlyMap<string, string> = new Map(FIELDS_EDGE_READS.map((field) => [foldKey(field), field]));

/** Where an object sits: its parent's location and its key or index there. Built into a path only for a problem. */
interface Location {
  parent: Location | undefined;
  key: string | number;
}

function pathOf(location: Location | undefined): JsonPath {
  const path: JsonPath = [];
  for (let at = location; at !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

/**
 * The first key of a parsed body that a case-insensitive reader would read otherwise than Edge, or undefined.
 * One walk over the struct levels only (never into strings or free-form maps), so it costs little next to the parse.
 */
export function findFoldedKey(body: unknown): FoldedKeyProblem | undefined {
  // Two parallel stacks: the objects still to check and where each sits.
  const objects: JsonObject[] = [];
  const locations: Array<Location | undefined> = [];
  /** Queues the structs `value` (at `key` of the object at `parent`; the body: no key) holds. */
  const addStructs = (value: unknown, parent: Location | undefined, key: string | undefined, arraysOnly: boolean): void => {
    if (Array.isArray(value)) {
      const arrayLocation = key === undefined ? parent : { parent, key };
      // Pushed in reverse so problems are found in document order.
      for (let i = value.length - 1; i >= 0; i--) {
        const item = value[i];
        if (isJsonObject(item)) {
          objects.push(item);
          locations.push({ parent: arrayLocation, key: i });
        }
      }
    } else if (isJsonObject(value) && !arraysOnly) {
      objects.push(value);
      locations.push(key === undefined ? parent : { parent, key });
    }
  };
  // The body is an object, or a batch of them (MCP's JSON-RPC batches).
  addStructs(body, undefined, undefined, false);

  while (objects.length > 0) {
    const object = objects.pop()!;
    const location = locations.pop();
    const keys = Object.keys(object);
    const problem = checkKeys(object, keys, location);
    if (problem !== undefined) return problem;
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      // A Realtime session's `audio.input` (its transcription settings) is a struct, unlike most `input`s.
      const walk = key === 'input' && location?.key === 'audio' ? 'objects and arrays' : STRUCT_FIELDS.get(key);
      if (walk !== undefined) addStructs(object[key], location, key, walk === 'arrays');
    }
  }
  return undefined;
}

/**
 * The problem among one object's keys. A field Edge reads, spelled exactly, needs no folding: a key that folds to
 * it is spelled otherwise and is found as such. So only the other keys are folded, nearly always a loop over
 * lower-case ASCII that allocates nothing.
 */
function checkKeys(object: JsonObject, keys: readonly string[], location: Location | undefined): FoldedKeyProblem | undefined {
  let someKeyFolds = false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (EXACT_FIELDS.has(key)) continue;
    const folded = foldKey(key);
    const field = FIELD_BY_FOLDED_NAME.get(folded);
    if (field !== undefined) {
      if (!Object.hasOwn(object, field)) return { kind: 'misspelled', path: pathOf(location), key, field };
      const pair: [string, string] = keys.indexOf(field) < i ? [field, key] : [key, field];
      return { kind: 'ambiguous', path: pathOf(location), keys: pair, field };
    }
    if (folded !== key) someKeyFolds = true;
  }
  // Two keys that are no field and fold alike: one of them folds to another string than itself.
  if (!someKeyFolds) return undefined;
  const seen = new Map<string, string>();
  for (const key of keys) {
    if (EXACT_FIELDS.has(key)) continue;
    const folded = foldKey(key);
    const earlier = seen.get(folded);
    if (earlier !== undefined) return { kind: 'ambiguous', path: pathOf(location), keys: [earlier, key] };
    seen.set(folded, key);
  }
  return undefined;
}
