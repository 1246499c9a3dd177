import {
  expectArray, expectObject, expectString, isJsonObject, optionalField, optionalModel, readStreamFlag, requireModel,
  requiredArray, requiredString, wrongType, type JsonObject,
} from './body-shape.js';
import {
  addStringLeaves, addText, addTool, newCallLinker, newExtraction, type BodyReading, type CallLinker, type Extraction, type JsonPath,
} from './extraction.js';
import {
  addOtherToolTexts, addOutputSchemaTexts, addToolDefinitionTexts, MCP_LISTED_TOOL_TEXT_FIELDS, MCP_SERVER_TEXT_FIELDS, NAMESPACE_TEXT_FIELDS,
  OPENAI_OUTPUT_SCHEMA_FIELDS, RESPONSES_TOOL_TEXT_FIELDS, TOOL_SEARCH_TEXT_FIELDS,
} from './tool-definition-texts.js';
import type { TextSpan } from './types.js';

/**
 * Reads `POST /responses` (OpenAI Responses API): `instructions`, `input` as a string or a list of items
 * (messages, function calls and their outputs, tools added mid-conversation), reusable-prompt `variables`, and tool
 * definitions (`tool_definition` texts, see readToolDefinitions).
 * Tool paths point at `name` for definitions and calls, and at `call_id` for outputs (named after their call,
 * see CallLinker; an output answering a call from `previous_response_id` cannot be named here).
 */

const ROLE_KINDS: Record<string, TextSpan['kind']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };
/** Content parts whose `text` is what the model reads: messages' text, reasoning summaries and reasoning text. */
const TEXT_PART_TYPES: ReadonlySet<string> = new Set(['input_text', 'output_text', 'text', 'summary_text', 'reasoning_text']);
/** Images, files and audio: media, not text (file contents are not read here). */
const MEDIA_PART_TYPES: ReadonlySet<string> = new Set(['input_image', 'input_file', 'input_audio']);

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
  optionalField(body, 'tools', [], (tools, p) => readToolDefinitions(x, tools, p));
  // Structured outputs: `text.format` of type json_schema, the schema the answer must follow.
  optionalField(body, 'text', [], (text, p) => {
    if (isJsonObject(text) && isJsonObject(text['format'])) addOutputSchemaTexts(x, text['format'], [...p, 'format'], OPENAI_OUTPUT_SCHEMA_FIELDS);
  });
  readLabelValues(x, body);
  return { model, stream: readStreamFlag(body), extraction: x };
}

/** The key-value labels a client may set on a response: `metadata` (the API's), `client_metadata` (Codex's, on the WebSocket). */
const LABEL_FIELDS = ['metadata', 'client_metadata'] as const;

/**
 * A response's labels are stored with it at the provider and shown with it (its dashboard, a later `GET`), and
 * Codex's `client_metadata` carries what its turn header says of the workspace: never read by the model, but text
 * sent to the provider all the same, so their values are read (as `other` text) for the guardrails, which may redact
 * them in place. Their keys name the labels and are not read. The API takes string values only (and refuses others),
 * so only those are read: a value of another shape holds nothing the provider keeps. Also for a WebSocket
 * `response.append`.
 */
export function readLabelValues(x: Extraction, body: JsonObject): void {
  for (const field of LABEL_FIELDS) {
    const labels = body[field];
    if (!isJsonObject(labels)) continue;
    for (const [name, value] of Object.entries(labels)) {
      if (typeof value === 'string') addText(x, [field, name], value, 'other');
    }
  }
}

/**
 * Hosted tools and their settings (SDK 6.49): what the platform reads (vector stores, locations, containers, image
 * options), no text put in front of the model. Any other key of theirs (a `description`...) has its strings read
 * like an unknown tool's: a gateway may pass it on to the model.
 */
const WEB_SEARCH_SETTINGS = ['filters', 'search_context_size', 'user_location'];
const COMPUTER_SETTINGS = ['display_height', 'display_width', 'environment'];
const HOSTED_TOOL_SETTINGS: ReadonlyMap<string, ReadonlySet<string>> = new Map(Object.entries({
  file_search: ['vector_store_ids', 'filters', 'max_num_results', 'ranking_options'],
  web_search: WEB_SEARCH_SETTINGS,
  web_search_2025_08_26: WEB_SEARCH_SETTINGS,
  web_search_preview: [...WEB_SEARCH_SETTINGS, 'search_content_types'],
  web_search_preview_2025_03_11: [...WEB_SEARCH_SETTINGS, 'search_content_types'],
  computer: COMPUTER_SETTINGS,
  computer_use: COMPUTER_SETTINGS,
  computer_use_preview: COMPUTER_SETTINGS,
  code_interpreter: ['container', 'allowed_callers'],
  image_generation: [
    'action', 'background', 'input_fidelity', 'input_image_mask', 'model', 'moderation', 'output_compression', 'output_format',
    'partial_images', 'quality', 'size',
  ],
  local_shell: [],
  // `environment` may list skills, whose names and descriptions the model reads (readShellSkills).
  shell: ['allowed_callers', 'environment'],
  apply_patch: ['allowed_callers'],
  programmatic_tool_calling: [],
}).map(([type, settings]) => [type, new Set(['type', ...settings])]));

/**
 * A list of tool definitions: the request's `tools`, and those an input item adds (`additional_tools`) or a client's
 * tool search returns (`tool_search_output`). Read as `tool_definition` texts: a function or custom tool's
 * description and schemas, a namespace's description and its tools, a tool search tool's description and
 * parameters, an MCP server's description. A tool type Edge does not know has every string read (its `type`
 * aside): whatever the API adds next is not let through unread.
 */
function readToolDefinitions(x: Extraction, tools: unknown, path: JsonPath): void {
  expectArray(tools, path, 'an array of tool definitions').forEach((value, i) => readToolDefinition(x, value, [...path, i], false));
}

function readToolDefinition(x: Extraction, value: unknown, path: JsonPath, inNamespace: boolean): void {
  const tool = expectObject(value, path, 'a tool definition object');
  const type = tool['type'];
  if (type === 'function' || type === 'custom') {
    addTool(x, [...path, 'name'], requiredString(tool, 'name', path), 'definition');
    addToolDefinitionTexts(x, tool, path, RESPONSES_TOOL_TEXT_FIELDS);
  } else if (type === 'namespace' && !inNamespace) {
    // Its tools are function and custom tools; a namespace inside one is read as an unknown tool (all its strings).
    addToolDefinitionTexts(x, tool, path, NAMESPACE_TEXT_FIELDS);
    optionalField(tool, 'tools', path, (inner, p) => {
      expectArray(inner, p, 'an array of tool definitions').forEach((nested, j) => readToolDefinition(x, nested, [...p, j], true));
    });
  } else if (type === 'tool_search') {
    addToolDefinitionTexts(x, tool, path, TOOL_SEARCH_TEXT_FIELDS);
  } else if (type === 'mcp') {
    addToolDefinitionTexts(x, tool, path, MCP_SERVER_TEXT_FIELDS);
  } else {
    addOtherToolTexts(x, tool, path, typeof type === 'string' ? HOSTED_TOOL_SETTINGS.get(type) : undefined);
    if (type === 'shell') readShellSkills(x, tool['environment'], [...path, 'environment']);
  }
}

/** A shell tool's local environment lists skills the model may use: their names and descriptions are read. */
function readShellSkills(x: Extraction, environment: unknown, path: JsonPath): void {
  if (!isJsonObject(environment) || !Array.isArray(environment['skills'])) return;
  environment['skills'].forEach((skill, i) => {
    if (isJsonObject(skill)) addToolDefinitionTexts(x, skill, [...path, 'skills', i], ['name', 'description']);
  });
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
  const type = optionalField(item, 'type', path, expectString) ?? untypedItemType(item);
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
    case 'local_shell_call_output':
    case 'apply_patch_call_output':
      // The result of something run on the user's side.
      optionalField(item, 'output', path, (out, p) => addText(x, p, expectString(out, p), 'tool_result'));
      return;
    case 'program_output':
      // What a program the model wrote returned when run.
      addStringLeaves(x, item['result'], [...path, 'result'], 'tool_result');
      return;
    case 'additional_tools':
    case 'tool_search_output':
      // Tools added for the turns that follow, or found by a client's tool search: definitions like the request's.
      optionalField(item, 'tools', path, (tools, p) => readToolDefinitions(x, tools, p));
      return;
    case 'tool_search_call':
      addStringLeaves(x, item['arguments'], [...path, 'arguments'], 'tool_arguments');
      return;
    case 'mcp_list_tools':
      // A remote MCP server's tools, replayed as context: definitions the model reads.
      if (Array.isArray(item['tools'])) {
        item['tools'].forEach((tool, j) => {
          if (isJsonObject(tool)) addToolDefinitionTexts(x, tool, [...path, 'tools', j], MCP_LISTED_TOOL_TEXT_FIELDS);
        });
      }
      return;
    case 'mcp_approval_request':
      optionalField(item, 'arguments', path, (args, p) => addText(x, p, expectString(args, p), 'tool_arguments'));
      return;
    case 'mcp_approval_response':
      // Why the user declined a call, in their words.
      optionalField(item, 'reason', path, (reason, p) => addText(x, p, expectString(reason, p), 'user'));
      return;
    case 'reasoning':
      // The model's reasoning replayed as context (a gateway turns a summary into an Anthropic thinking block).
      for (const key of ['summary', 'content']) {
        if (Array.isArray(item[key])) readTextParts(x, item[key], [...path, key], 'assistant');
      }
      readReplayedFields(x, item, path, { kind: 'assistant', skip: ['summary', 'content'] });
      return;
    default: {
      const replayed = REPLAYED_ITEMS.get(type);
      if (replayed !== undefined) readReplayedFields(x, item, path, replayed);
      // An item type Edge does not know: every string is read (see readUnknownItem).
      else readUnknownItem(x, item, path, type);
    }
  }
}

/**
 * What an item without `type` is: a message (EasyInputMessage, `{role, content}`), or a reference to a stored item
 * (ItemReferenceParam, whose `type` is optional: `{"id": "msg_..."}`), which carries an id, no text. One with neither
 * a role nor an id is read as a message, and refused for its missing role.
 */
function untypedItemType(item: JsonObject): string {
  return item['role'] === undefined && typeof item['id'] === 'string' ? 'item_reference' : 'message';
}

/** Keys of every item that name it rather than carry text. */
const ITEM_ENVELOPE: ReadonlySet<string> = new Set(['type', 'id', 'call_id', 'status']);

/**
 * Opaque fields of replayed items, at any depth: encrypted state, signatures, and images (a screenshot, a file) that
 * are media rather than text.
 */
const OPAQUE_FIELDS: ReadonlySet<string> = new Set(['encrypted_content', 'signature', 'fingerprint', 'image_url', 'file_id']);

interface ReplayedItem {
  /** What the model reads the item's strings as. */
  kind: TextSpan['kind'];
  /** Fields holding what the call returned, read as tool results. */
  results?: readonly string[];
  /** Fields read elsewhere, or opaque for this item type only. */
  skip?: readonly string[];
}

/**
 * Items the model produced (its calls of hosted and client tools, their hosted results) and references, replayed as
 * context. The client writes every field of them, so every string is read but ids, status and opaque fields: a call's
 * action, operation or code as its arguments, its outputs and logs as tool results, and anything added to a reference.
 */
const REPLAYED_ITEMS: ReadonlyMap<string, ReplayedItem> = new Map(Object.entries({
  item_reference: { kind: 'other' },
  compaction: { kind: 'other' },
  compaction_trigger: { kind: 'other' },
  web_search_call: { kind: 'tool_arguments' },
  file_search_call: { kind: 'tool_arguments', results: ['results'] },
  computer_call: { kind: 'tool_arguments' },
  computer_call_output: { kind: 'tool_result' },
  // `result` is the generated image, base64.
  image_generation_call: { kind: 'tool_result', skip: ['result'] },
  code_interpreter_call: { kind: 'tool_arguments', results: ['outputs'] },
  local_shell_call: { kind: 'tool_arguments' },
  shell_call: { kind: 'tool_arguments' },
  apply_patch_call: { kind: 'tool_arguments' },
  program: { kind: 'tool_arguments' },
} satisfies Record<string, ReplayedItem>));

function readReplayedFields(x: Extraction, item: JsonObject, path: JsonPath, replayed: ReplayedItem): void {
  for (const key of Object.keys(item)) {
    if (ITEM_ENVELOPE.has(key) || OPAQUE_FIELDS.has(key) || replayed.skip?.includes(key) === true) continue;
    const kind = replayed.results?.includes(key) === true ? 'tool_result' : replayed.kind;
    addStringLeaves(x, item[key], [...path, key], kind, OPAQUE_FIELDS);
  }
}

/**
 * An input item type Edge does not know has every string read, so whatever the API adds next is not let through
 * unread: as a tool result for a `*_output` item (something run on the user's side), otherwise as `other` text.
 */
function readUnknownItem(x: Extraction, item: JsonObject, path: JsonPath, type: string): void {
  const kind: TextSpan['kind'] = type.endsWith('_output') ? 'tool_result' : 'other';
  for (const key of Object.keys(item)) {
    if (!ITEM_ENVELOPE.has(key)) addStringLeaves(x, item[key], [...path, key], kind);
  }
}

function readMessageContent(x: Extraction, content: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  if (typeof content === 'string') addText(x, path, content, kind);
  else if (Array.isArray(content)) readTextParts(x, content, path, kind);
  else throw wrongType(path, 'a string or an array of content parts', content);
}

/**
 * Content parts: text parts' `text` and a refusal's `refusal` are read; images, files and audio are not. A part type
 * Edge does not know has every string read (its `type` aside).
 */
function readTextParts(x: Extraction, parts: unknown[], path: JsonPath, kind: TextSpan['kind']): void {
  parts.forEach((value, j) => {
    const part = expectObject(value, [...path, j], 'a content part object');
    const type = part['type'];
    if (typeof type === 'string' && TEXT_PART_TYPES.has(type)) {
      addText(x, [...path, j, 'text'], expectString(part['text'], [...path, j, 'text']), kind);
    } else if (type === 'refusal') {
      addText(x, [...path, j, 'refusal'], expectString(part['refusal'], [...path, j, 'refusal']), kind);
    } else if (typeof type !== 'string' || !MEDIA_PART_TYPES.has(type)) {
      for (const key of Object.keys(part)) {
        if (key !== 'type') addStringLeaves(x, part[key], [...path, j, key], kind);
      }
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
