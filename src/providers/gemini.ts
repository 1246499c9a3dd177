import { parseWithReaders, type BodyReader, type ProviderAdapter, type RouteMatch } from './adapter.js';
import {
  BodyShapeError, expectArray, expectObject, expectString, optionalField, requireModel, requiredArray, requiredString, type JsonObject,
} from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { googleErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { addStringLeaves, addText, addTool, newExtraction, type BodyReading, type Extraction, type JsonPath } from './extraction.js';
import { locateRequest, operationSegments } from './route-path.js';
import type { HttpRequestInfo, TextSpan } from './types.js';

/**
 * Gemini API (generativelanguage.googleapis.com): `/{version}/models/{model}:{method}`. The model and the
 * streaming flag come from the path (creating a `cachedContents` names its model in the body). Google's JSON accepts both lowerCamel and snake_case field names
 * (`systemInstruction` / `system_instruction`), so both are read and paths use the name actually sent.
 * Tool paths point at `name` inside `functionDeclarations`, `functionCall` and `functionResponse`.
 */

const INSPECTED_METHODS: ReadonlySet<string> = new Set(['generateContent', 'streamGenerateContent', 'countTokens', 'embedContent', 'batchEmbedContents']);
/** Model methods forwarded unread (batch jobs, Imagen/Veo predictions). */
const UNINSPECTED_METHODS: ReadonlySet<string> = new Set(['batchGenerateContent', 'asyncBatchEmbedContent', 'predict', 'predictLongRunning']);
/** Resources forwarded unread, except creating a cachedContent (see recognize). */
const UNINSPECTED_ROOTS: ReadonlySet<string> = new Set([
  'files', 'cachedContents', 'tunedModels', 'operations', 'batches', 'corpora', 'fileSearchStores', 'generatedFiles',
]);

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined) return undefined;
  const [root, modelAndMethod, ...rest] = operationSegments(location);
  if (root === undefined) return undefined;
  if (root === 'models') {
    if (modelAndMethod === undefined || !modelAndMethod.includes(':')) return { ...location, operation: 'models', inspected: false };
    const colon = modelAndMethod.lastIndexOf(':');
    const model = modelAndMethod.slice(0, colon);
    const method = modelAndMethod.slice(colon + 1);
    if (model === '' || rest.length > 0) return undefined;
    if (INSPECTED_METHODS.has(method) && location.method === 'POST') {
      return { ...location, operation: method, inspected: true, pathModel: model, stream: method === 'streamGenerateContent' };
    }
    if (UNINSPECTED_METHODS.has(method)) return { ...location, operation: method, inspected: false, pathModel: model };
    return undefined;
  }
  // Creating a cache stores generateContent context that later calls reuse; reading, updating its ttl, listing
  // and deleting caches carry no prompt.
  if (root === 'cachedContents' && modelAndMethod === undefined && location.method === 'POST') return { ...location, operation: root, inspected: true };
  return UNINSPECTED_ROOTS.has(root) ? { ...location, operation: root, inspected: false } : undefined;
}

/** The value under the lowerCamel or snake_case spelling of a field, with the key actually used. */
function field(obj: JsonObject, camel: string, snake: string): { key: string; value: unknown } | undefined {
  for (const key of [camel, snake]) {
    if (obj[key] !== undefined && obj[key] !== null) return { key, value: obj[key] };
  }
  return undefined;
}

const ROLE_KINDS: Record<string, TextSpan['kind']> = { user: 'user', model: 'assistant', function: 'tool_result' };

/** A generateContent-shaped request (also nested in countTokens' `generateContentRequest`). */
function readGenerateRequest(x: Extraction, body: JsonObject, path: JsonPath, contentsRequired: boolean): void {
  const system = field(body, 'systemInstruction', 'system_instruction');
  if (system !== undefined) readContent(x, system.value, [...path, system.key], 'system');
  const contents = contentsRequired ? requiredArray(body, 'contents', path, 'an array of contents') : optionalField(body, 'contents', path, (v, p) => expectArray(v, p, 'an array of contents'));
  contents?.forEach((content, i) => {
    const contentPath = [...path, 'contents', i];
    const role = optionalField(expectObject(content, contentPath, 'a content object'), 'role', contentPath, expectString);
    // A content without a role is the user's turn (single-turn requests usually omit it).
    readContent(x, content, contentPath, ROLE_KINDS[role ?? 'user'] ?? 'other');
  });
  optionalField(body, 'tools', path, (tools, p) => {
    expectArray(tools, p, 'an array of tools').forEach((value, i) => {
      const tool = expectObject(value, [...p, i], 'a tool object');
      const declarations = field(tool, 'functionDeclarations', 'function_declarations');
      if (declarations === undefined) return;
      expectArray(declarations.value, [...p, i, declarations.key], 'an array of function declarations').forEach((decl, j) => {
        const declPath = [...p, i, declarations.key, j];
        addTool(x, [...declPath, 'name'], requiredString(expectObject(decl, declPath, 'a function declaration object'), 'name', declPath), 'definition');
      });
    });
  });
}

/** A Content: `{role?, parts: [...]}`. */
function readContent(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const content = expectObject(value, path, 'a content object ({"parts": [...]})');
  optionalField(content, 'parts', path, (parts, p) => {
    expectArray(parts, p, 'an array of parts').forEach((part, j) => readPart(x, part, [...p, j], kind));
  });
}

function readPart(x: Extraction, value: unknown, path: JsonPath, kind: TextSpan['kind']): void {
  const part = expectObject(value, path, 'a part object');
  optionalField(part, 'text', path, (text, p) => addText(x, p, expectString(text, p), kind));
  const call = field(part, 'functionCall', 'function_call');
  if (call !== undefined) {
    const callPath = [...path, call.key];
    const fn = expectObject(call.value, callPath);
    addTool(x, [...callPath, 'name'], requiredString(fn, 'name', callPath), 'call');
    addStringLeaves(x, fn['args'], [...callPath, 'args'], 'tool_arguments');
  }
  const response = field(part, 'functionResponse', 'function_response');
  if (response !== undefined) {
    const responsePath = [...path, response.key];
    const fn = expectObject(response.value, responsePath);
    addTool(x, [...responsePath, 'name'], requiredString(fn, 'name', responsePath), 'result');
    addStringLeaves(x, fn['response'], [...responsePath, 'response'], 'tool_result');
  }
}

function readGenerate(body: JsonObject): BodyReading {
  const x = newExtraction();
  readGenerateRequest(x, body, [], true);
  return { model: null, stream: false, extraction: x };
}

function readCountTokens(body: JsonObject): BodyReading {
  const x = newExtraction();
  readGenerateRequest(x, body, [], false);
  const nested = field(body, 'generateContentRequest', 'generate_content_request');
  if (nested !== undefined) readGenerateRequest(x, expectObject(nested.value, [nested.key]), [nested.key], false);
  return { model: null, stream: false, extraction: x };
}

function readEmbedContent(body: JsonObject): BodyReading {
  const x = newExtraction();
  readContent(x, body['content'], ['content'], 'input');
  return { model: null, stream: false, extraction: x };
}

function readBatchEmbedContents(body: JsonObject): BodyReading {
  const x = newExtraction();
  requiredArray(body, 'requests', [], 'an array of embed requests').forEach((request, i) => {
    const requestPath = ['requests', i];
    readContent(x, expectObject(request, requestPath, 'an embed request object')['content'], [...requestPath, 'content'], 'input');
  });
  return { model: null, stream: false, extraction: x };
}

/**
 * `POST /{version}/cachedContents`: a generateContent-shaped body (contents optional: a cache may hold only a
 * system instruction) with the model in it as `models/{model}`, reported like a path model, without the prefix.
 */
function readCachedContent(body: JsonObject): BodyReading {
  const named = requireModel(body);
  const model = named.startsWith('models/') ? named.slice('models/'.length) : named;
  if (model === '') throw new BodyShapeError(['model'], 'must name a model, as "models/{model}"');
  const x = newExtraction();
  readGenerateRequest(x, body, [], false);
  return { model, stream: false, extraction: x };
}

const READERS: Readonly<Record<string, BodyReader>> = {
  generateContent: readGenerate,
  streamGenerateContent: readGenerate,
  countTokens: readCountTokens,
  embedContent: readEmbedContent,
  batchEmbedContents: readBatchEmbedContents,
  cachedContents: readCachedContent,
};

export const geminiAdapter: ProviderAdapter = {
  id: 'gemini',
  recognize,
  parse: parseWithReaders('gemini', READERS),
  errorResponse: (err, opts) => errorResponse(err, googleErrorBody(err), { kind: 'data' }, opts),
};
