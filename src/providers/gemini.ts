import { parseWithReaders, type BodyReader, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { BodyShapeError, expectObject, requireModel, requiredArray, type JsonObject } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { googleErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { newExtraction, type BodyReading } from './extraction.js';
import { fields, readContent, readGenerateRequest } from './gemini-content.js';
import { readAsyncBatchEmbedContent, readBatchGenerateContent, readPrediction } from './gemini-jobs.js';
import { edgeError } from '../edge-error.js';
import { normalizeHost } from './host-pattern.js';
import {
  disguisedDotSegmentRefusal, isRefused, lookalikeRouteRefusal, outsideApiLookalikeRefusal, readRouteLookalike, unreadablePathRefusal, wrongMethodRefusal,
  type ReadRoute, type RefusedRouteMatch,
} from './route-lookalike.js';
import { isBlurredName, locateRequest, operationSegments, type RequestLocation } from './route-path.js';
import type { HttpRequestInfo } from './types.js';

/**
 * Gemini API (generativelanguage.googleapis.com): `/{version}/models/{model}:{method}`, and the same methods on
 * a tuned model, `/{version}/tunedModels/{model}:{method}`. The model and the streaming flag come from the path
 * (creating a `cachedContents` names its model in the body). The bodies' content is read in gemini-content.ts.
 */

/**
 * Model methods whose body carries prompts: generation, token counting, embeddings, batches with inline requests,
 * and Imagen/Veo predictions.
 */
const INSPECTED_METHODS: ReadonlySet<string> = new Set([
  'generateContent', 'streamGenerateContent', 'countTokens', 'embedContent', 'batchEmbedContents',
  'batchGenerateContent', 'asyncBatchEmbedContent', 'predict', 'predictLongRunning',
]);
/** Tuned-model methods that manage the model rather than prompt it. */
const TUNED_MODEL_MANAGEMENT_METHODS: ReadonlySet<string> = new Set(['transferOwnership']);
/** Resources forwarded unread, except creating a cachedContent (see recognize). */
const UNINSPECTED_ROOTS: ReadonlySet<string> = new Set([
  'files', 'cachedContents', 'tunedModels', 'operations', 'batches', 'corpora', 'fileSearchStores', 'generatedFiles',
]);

/**
 * The routes above as look-alikes are matched against (route-lookalike.ts): each inspected method on a base or tuned
 * model, and creating a cachedContent.
 */
const READ_ROUTES: ReadonlyArray<ReadRoute & { name: string; operation: string }> = [
  ...[...INSPECTED_METHODS].flatMap((method) => ['models', 'tunedModels'].map((root) => ({ segments: [root, `*:${method}`], name: `${root}/{model}:${method}`, operation: method }))),
  { segments: ['cachedContents'], name: 'cachedContents', operation: 'cachedContents' },
];

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined) return outsideApiLookalikeRefusal(req, entry);
  // Google's paths are case-sensitive and keep `;`, but a proxy or gateway in front of the API may not: conservatively,
  // `models/m:GenerateContent`, `models/m:generateContent;x`, `files/..;/models/m:generateContent` are refused.
  const lookalike = readRouteLookalike(location, entry.pathPrefixes, READ_ROUTES);
  if (lookalike !== undefined) return lookalikeRouteRefusal(req, entry, location, lookalike.name, lookalike.operation);
  const disguised = disguisedDotSegmentRefusal(req, entry, location);
  if (disguised !== undefined) return disguised;
  const route = recognizeLocated(req, entry, location);
  // `files/%C0%AE%C0%AE/models/m:generateContent`: read past by an origin in ways no list of readings covers, so refused
  // whatever route it would reach. After the route's own refusals, which say more (a model name a service may misread).
  if (route !== undefined && isRefused(route)) return route;
  return unreadablePathRefusal(req, entry, location) ?? route;
}

/** The route at a path under the API that is no look-alike. */
function recognizeLocated(req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation): RouteMatch | undefined {
  const [root, modelAndMethod, ...rest] = operationSegments(location);
  if (root === undefined) return undefined;
  // A tuned model answers the same methods as a base model, so it goes through the same table.
  if ((root === 'models' || root === 'tunedModels') && modelAndMethod?.includes(':')) {
    const colon = modelAndMethod.lastIndexOf(':');
    const model = modelAndMethod.slice(0, colon);
    const method = modelAndMethod.slice(colon + 1);
    if (model === '' || rest.length > 0) return undefined;
    // A tuned model keeps its resource name, so policy never mistakes it for the base model of the same name.
    const pathModel = root === 'models' ? model : `tunedModels/${model}`;
    if (INSPECTED_METHODS.has(method) && location.method === 'POST') {
      // `gemini-2.5-flash;x`, `gemini-2.5-flash.`, `gemini-2.5-flash%20`: policy would judge a model the service may read as another.
      if (isBlurredName(model)) return blurredModelRefusal(req, entry, location, model, method);
      return { ...location, operation: method, inspected: true, pathModel, stream: method === 'streamGenerateContent' };
    }
    const wrongMethod = INSPECTED_METHODS.has(method) ? wrongMethodRefusal(req, entry, location, method) : undefined;
    if (wrongMethod !== undefined) return wrongMethod;
    if (root === 'tunedModels' && TUNED_MODEL_MANAGEMENT_METHODS.has(method)) return { ...location, operation: root, inspected: false };
    return undefined;
  }
  if (root === 'models') return { ...location, operation: 'models', inspected: false };
  // Creating a cache stores generateContent context that later calls reuse; reading, updating its ttl (PATCH
  // `cachedContents/{id}`), listing and deleting caches carry no prompt. The collection itself takes a body only to
  // create one: PUT or PATCH on it could reach the create handler unread.
  if (root === 'cachedContents' && modelAndMethod === undefined) {
    if (location.method === 'POST') return { ...location, operation: root, inspected: true };
    const wrongMethod = wrongMethodRefusal(req, entry, location, root);
    if (wrongMethod !== undefined) return wrongMethod;
  }
  return UNINSPECTED_ROOTS.has(root) ? { ...location, operation: root, inspected: false } : undefined;
}

function blurredModelRefusal(req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation, model: string, method: string): RefusedRouteMatch {
  const refusal = edgeError(400, 'invalid_request',
    `Bifrost Edge blocked ${location.method} ${location.pathname} on ${normalizeHost(req.host)}: the model name ${JSON.stringify(model)} holds \`;\`, `
      + 'blanks, trailing dots, or control or non-ASCII bytes, which a lenient service may drop and answer another model than the one Edge '
      + `checked policy for. Send the model's name as ${entry.label} lists it.`, { provider: entry.provider, model });
  return { ...location, operation: method, inspected: false, refusal };
}

function readGenerate(body: JsonObject): BodyReading {
  const x = newExtraction();
  readGenerateRequest(x, body, [], true);
  return { model: null, stream: false, extraction: x };
}

function readCountTokens(body: JsonObject): BodyReading {
  const x = newExtraction();
  readGenerateRequest(x, body, [], false);
  for (const nested of fields(body, 'generateContentRequest', 'generate_content_request')) {
    readGenerateRequest(x, expectObject(nested.value, [nested.key]), [nested.key], false);
  }
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
  batchGenerateContent: readBatchGenerateContent,
  asyncBatchEmbedContent: readAsyncBatchEmbedContent,
  predict: readPrediction,
  predictLongRunning: readPrediction,
};

const parse = parseWithReaders('gemini', READERS);

export const geminiAdapter: ProviderAdapter = {
  id: 'gemini',
  recognize,
  parse: (route, body, entry) => (isRefused(route) ? { ok: false, error: route.refusal } : parse(route, body, entry)),
  errorResponse: (err, opts) => errorResponse(err, googleErrorBody(err), { kind: 'data' }, opts),
};
