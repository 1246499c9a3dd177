import { parseWithReaders, type ProviderAdapter, type RouteMatch } from './adapter.js';
import {
  BodyShapeError, expectArray, expectObject, expectString, formatJsonPath, isJsonObject, optionalField, readStreamFlag, requireModel,
  requiredArray, requiredString, wrongType, type JsonObject,
} from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { anthropicErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import {
  addStringLeaves, addText, addTool, newCallLinker, newExtraction, type BodyReading, type CallLinker, type Extraction, type JsonPath,
} from './extraction.js';
import {
  disguisedDotSegmentRefusal, isRefused, lookalikeRouteRefusal, outsideApiLookalikeRefusal, readRouteLookalike, unreadablePathRefusal, wrongMethodRefusal,
  type ReadRoute,
} from './route-lookalike.js';
import { locateRequest, operationSegments } from './route-path.js';
import { addOutputSchemaTexts, addToolDefinitionTexts, ANTHROPIC_OUTPUT_SCHEMA_FIELDS, ANTHROPIC_TOOL_TEXT_FIELDS } from './tool-definition-texts.js';
import type { HttpRequestInfo, TextSpan } from './types.js';

/**
 * Anthropic Messages API (`/v1/messages`, `/v1/messages/count_tokens`, and creating `/v1/messages/batches`).
 * Structured `tool_use.input` is exposed leaf by leaf, so a secret inside one argument is redacted without
 * touching the others. Tool paths point at `name` for definitions and calls, and at `tool_use_id` for results
 * (named after their call, see CallLinker). A tool definition's description and input schema are
 * `tool_definition` texts.
 */

const INSPECTED_ROUTES: Readonly<Record<string, string>> = {
  '/messages': 'messages',
  '/messages/count_tokens': 'messages.count_tokens',
  '/messages/batches': 'messages.batches',
};

/**
 * Known routes forwarded unread: model listing, Files API, and the message batch routes other than creating
 * one (listing, retrieving, results, cancelling, deleting carry no prompt).
 */
const UNINSPECTED_PREFIXES: ReadonlyArray<[string[], string]> = [
  [['models'], 'models'],
  [['files'], 'files'],
  [['messages', 'batches'], 'messages.batches'],
];

/** The routes above as look-alikes are matched against (route-lookalike.ts). */
const READ_ROUTES: ReadonlyArray<ReadRoute & { name: string; operation: string }> = Object.entries(INSPECTED_ROUTES)
  .map(([path, operation]) => ({ segments: path.slice(1).split('/'), name: path.slice(1), operation }));

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined) return outsideApiLookalikeRefusal(req, entry);
  // `/v1/Messages`, `/v1/messages;x`, `/v1/messages.`, `/v1/files/..;/messages`: Anthropic's server (or a gateway
  // serving its shape, as Copilot does on a host whose unknown routes pass) may answer any of them as `/v1/messages`.
  const lookalike = readRouteLookalike(location, entry.pathPrefixes, READ_ROUTES);
  if (lookalike !== undefined) return lookalikeRouteRefusal(req, entry, location, lookalike.name, lookalike.operation);
  // `/v1/files/%C0%AE%C0%AE/messages`, `/v1/messages%C0%AFcount%00_tokens`: read past by an origin in ways no list of
  // readings covers, so refused whatever route they would reach.
  const disguised = disguisedDotSegmentRefusal(req, entry, location) ?? unreadablePathRefusal(req, entry, location);
  if (disguised !== undefined) return disguised;
  const operation = INSPECTED_ROUTES[location.operationPath];
  if (operation !== undefined && location.method === 'POST') return { ...location, operation, inspected: true };
  const wrongMethod = operation === undefined ? undefined : wrongMethodRefusal(req, entry, location, operation);
  if (wrongMethod !== undefined) return wrongMethod;
  const segments = operationSegments(location);
  const known = UNINSPECTED_PREFIXES.find(([prefix]) => prefix.every((s, i) => segments[i] === s));
  return known ? { ...location, operation: known[1], inspected: false } : undefined;
}

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', assistant: 'assistant' };

function readMessages(body: JsonObject): BodyReading {
  const x = newExtraction();
  const model = readMessagesRequest(x, body, []);
  return { model, stream: readStreamFlag(body), extraction: x };
}

/**
 * `POST /v1/messages/batches`: `requests: [{custom_id, params}]`, each `params` a Messages request, read like
 * one at `requests[i].params`. A request carries one model for policy to check against the key's rules, so a
 * batch whose requests name different models is refused rather than checked on one of them.
 */
function readMessageBatch(body: JsonObject): BodyReading {
  const x = newExtraction();
  let first: { model: string; path: JsonPath } | undefined;
  requiredArray(body, 'requests', [], 'an array of batch requests').forEach((value, i) => {
    const request = expectObject(value, ['requests', i], 'a batch request object ({"custom_id": ..., "params": {...}})');
    const paramsPath = ['requests', i, 'params'];
    if (request['params'] === undefined || request['params'] === null) throw new BodyShapeError(paramsPath, 'is required: the Messages request to run');
    const model = readMessagesRequest(x, expectObject(request['params'], paramsPath, 'a Messages request object'), paramsPath);
    if (first === undefined) {
      first = { model, path: [...paramsPath, 'model'] };
    } else if (model !== first.model) {
      throw new BodyShapeError([...paramsPath, 'model'], `is ${JSON.stringify(model)} but ${formatJsonPath(first.path)} is ${JSON.stringify(first.model)}: `
        + 'Bifrost Edge checks one model per batch, so split the batch into one batch per model');
    }
  });
  return { model: first?.model ?? null, stream: false, extraction: x };
}

/** A Messages request's texts and tools, at paths under `path` (where the request sits in the body); returns its model. */
function readMessagesRequest(x: Extraction, body: JsonObject, path: JsonPath): string {
  const model = requireModel(body, path);
  optionalField(body, 'system', path, (system, p) => {
    if (typeof system === 'string') addText(x, p, system, 'system');
    else expectArray(system, p, 'a string or an array of text blocks').forEach((block, j) => readTextBlock(x, block, [...p, j], 'system'));
  });

  const calls = newCallLinker();
  requiredArray(body, 'messages', path, 'an array of messages').forEach((value, i) => {
    const messagePath = [...path, 'messages', i];
    const message = expectObject(value, messagePath, 'a message object');
    const kind = ROLE_KINDS[requiredString(message, 'role', messagePath)] ?? 'other';
    const content = message['content'];
    if (typeof content === 'string') {
      addText(x, [...messagePath, 'content'], content, kind);
      return;
    }
    expectArray(content, [...messagePath, 'content'], 'a string or an array of content blocks').forEach((block, j) =>
      readContentBlock(x, block, [...messagePath, 'content', j], kind, calls),
    );
  });
  calls.addResults(x);

  optionalField(body, 'tools', path, (tools, p) => {
    expectArray(tools, p, 'an array of tool definitions').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool definition object');
      addTool(x, [...p, i, 'name'], requiredString(tool, 'name', [...p, i]), 'definition');
      // A client tool's description and input schema; server tools (web search, code execution) carry neither.
      addToolDefinitionTexts(x, tool, [...p, i], ANTHROPIC_TOOL_TEXT_FIELDS);
    });
  });
  // Structured outputs: `output_config.format` (and the beta's `output_format`), the schema the answer must follow.
  const outputConfig = body['output_config'];
  const formats = [
    { holder: outputConfig, key: 'format', at: [...path, 'output_config'] },
    { holder: body, key: 'output_format', at: path },
  ];
  for (const { holder, key, at } of formats) {
    if (isJsonObject(holder) && isJsonObject(holder[key])) addOutputSchemaTexts(x, holder[key], [...at, key], ANTHROPIC_OUTPUT_SCHEMA_FIELDS);
  }
  return model;
}

function readContentBlock(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind'], calls: CallLinker): void {
  const block = expectObject(value, path, 'a content block object');
  switch (block['type']) {
    case 'text':
      readTextBlock(x, block, path, kind);
      return;
    case 'tool_use':
    case 'server_tool_use':
    case 'mcp_tool_use': {
      const name = requiredString(block, 'name', path);
      addTool(x, [...path, 'name'], name, 'call');
      calls.recordCall(block['id'], name);
      addStringLeaves(x, block['input'], [...path, 'input'], 'tool_arguments');
      return;
    }
    case 'tool_result':
    case 'mcp_tool_result': {
      const content = block['content'];
      if (typeof content === 'string') addText(x, [...path, 'content'], content, 'tool_result');
      else if (Array.isArray(content)) content.forEach((inner, k) => readNestedBlock(x, inner, [...path, 'content', k], 'tool_result'));
      else if (content !== undefined && content !== null) throw wrongType([...path, 'content'], 'a string or an array of content blocks', content);
      calls.recordResult(block['tool_use_id'], [...path, 'tool_use_id']);
      return;
    }
    case 'document':
      readDocumentSource(x, block, path, kind);
      return;
    case 'search_result':
      readSearchResult(x, block, path, kind);
      return;
    default:
      // image, thinking, redacted_thinking, ...: no client text Edge reads.
      return;
  }
}

/** Blocks inside a tool result: text, plain-text documents, and search results (a RAG tool's answer). */
function readNestedBlock(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const block = expectObject(value, path, 'a content block object');
  if (block['type'] === 'text') readTextBlock(x, block, path, kind);
  if (block['type'] === 'document') readDocumentSource(x, block, path, kind);
  if (block['type'] === 'search_result') readSearchResult(x, block, path, kind);
}

/** A search result the client supplies (its own retrieval): title and text blocks go to the model. */
function readSearchResult(x: Extraction, block: JsonObject, path: JsonPath, kind: TextSpan['kind']): void {
  if (typeof block['title'] === 'string') addText(x, [...path, 'title'], block['title'], kind);
  const content = block['content'];
  if (Array.isArray(content)) content.forEach((inner, k) => readNestedBlock(x, inner, [...path, 'content', k], kind));
}

function readTextBlock(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const block = expectObject(value, path, 'a text block object');
  addText(x, [...path, 'text'], expectString(block['text'], [...path, 'text']), kind);
}

/** A document given as plain text (`source.type: "text"`) or as content blocks is text the model reads. */
function readDocumentSource(x: Extraction, block: JsonObject, path: JsonPath, kind: TextSpan['kind']): void {
  // The title and context the client attaches go to the model beside the document.
  for (const field of ['title', 'context']) {
    if (typeof block[field] === 'string') addText(x, [...path, field], block[field], kind);
  }
  const source = block['source'];
  if (!isJsonObject(source)) return;
  if (source['type'] === 'text' && typeof source['data'] === 'string') addText(x, [...path, 'source', 'data'], source['data'], kind);
  if (source['type'] === 'content' && Array.isArray(source['content'])) {
    source['content'].forEach((inner, k) => readNestedBlock(x, inner, [...path, 'source', 'content', k], kind));
  }
}

const parse = parseWithReaders('anthropic', { messages: readMessages, 'messages.count_tokens': readMessages, 'messages.batches': readMessageBatch });

export const anthropicAdapter: ProviderAdapter = {
  id: 'anthropic',
  recognize,
  parse: (route, body, entry) => (isRefused(route) ? { ok: false, error: route.refusal } : parse(route, body, entry)),
  errorResponse: (err, opts) => errorResponse(err, anthropicErrorBody(err), { kind: 'named', event: 'error' }, opts),
};
