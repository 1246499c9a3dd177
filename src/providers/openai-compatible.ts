import { parseWithReaders, type BodyReader, type BodyReadResult, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { isJsonObject } from './body-shape.js';
import { bifrostErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { readChatCompletion } from './openai-chat.js';
import { readAssistant, readRun, readThread, readThreadMessage, readToolOutputs } from './openai-assistants.js';
import { readCompletion, readEmbedding, readFimCompletion, readModeration, readVectorStoreSearch, readVideoPrompt } from './openai-inputs.js';
import { readAudioUpload, readImageEditUpload, readImageGeneration, readImageVariationUpload, readSpeech, readVideoUpload, UPLOAD_TEXT_FIELDS } from './openai-media.js';
import { readFormRequestBody, type FormFieldRules } from './form-request-body.js';
import { readJsonRequestBody } from './json-request-body.js';
import { readRealtimeCallOffer, readRealtimeClientSecret, readRealtimeSession, REALTIME_CALL_FORM } from './openai-realtime.js';
import { readConversationCreate, readConversationItems, readResponsesRequest } from './openai-responses.js';
import { readMistralConversationInputs, readMistralConversationStart } from './mistral-conversations.js';
import { readImageEmbeddings } from './azure-image-embeddings.js';
import type { SurfaceEntry } from './catalog.js';
import {
  BODYLESS_METHODS, disguisedDotSegmentRefusal, isRefused, lenientOperationReadings, lookalikeRouteRefusal, outsideApiLookalikeRefusal, unreadablePathRefusal,
  wrongMethodRefusal,
} from './route-lookalike.js';
import {
  isBlurredName, isUnderPath, locateNamedScope, locateRequest, operationSegments, type RequestLocation,
} from './route-path.js';
import type { HttpRequestInfo, ProviderName } from './types.js';
import { header } from '../util/header.js';

/**
 * OpenAI and the APIs that copy its shape (Groq, Mistral, xAI, DeepSeek, OpenRouter, Perplexity, Copilot, Azure OpenAI).
 * Routes are matched after the surface's path prefix, so `/v1/chat/completions` on api.openai.com and
 * `/openai/v1/chat/completions` on api.groq.com are the same operation.
 */

/** A documented POST: its path after the prefix (`*`: one id), its operation, and whether its body carries prompts. */
interface PostRoute {
  segments: readonly string[];
  operation: string;
  read: boolean;
  /** The route also takes a multipart/form-data upload of the media it works on: its text fields are read (UPLOAD_READERS). */
  upload?: boolean;
  /** How that form is read, when not as a media upload (MEDIA_UPLOAD_FORM). */
  form?: FormFieldRules;
}

const read = (path: string, operation: string): PostRoute => ({ segments: path.split('/'), operation, read: true });
const readJsonOrUpload = (path: string, operation: string): PostRoute => ({ ...read(path, operation), upload: true });
/** A POST whose body holds no text for the model (cancel, update metadata): forwarded unread. */
const unread = (path: string, operation: string): PostRoute => ({ segments: path.split('/'), operation, read: false });

/** The routes every OpenAI-shaped surface shares. */
const SHARED_POST_ROUTES: readonly PostRoute[] = [
  read('chat/completions', 'chat.completions'),
  unread('chat/completions/*', 'chat.completions'),
  read('completions', 'completions'),
  read('responses', 'responses'),
  read('responses/input_tokens', 'responses.input_tokens'),
  read('responses/compact', 'responses.compact'),
  unread('responses/*/cancel', 'responses'),
  read('embeddings', 'embeddings'),
  read('moderations', 'moderations'),
  read('fim/completions', 'fim.completions'),
  // Image edits and variations, transcriptions and translations: see UPLOAD_ROUTES.
  read('images/generations', 'images.generations'),
  read('audio/speech', 'audio.speech'),
  // Video generation: the SDKs send multipart when a reference image or video is uploaded.
  readJsonOrUpload('videos', 'videos'),
  readJsonOrUpload('videos/edits', 'videos'),
  readJsonOrUpload('videos/extensions', 'videos'),
  readJsonOrUpload('videos/*/remix', 'videos'),
  unread('videos/characters', 'videos'),
  // Assistants API: assistants carry instructions, threads messages, runs extra instructions and messages.
  read('assistants', 'assistants'),
  read('assistants/*', 'assistants'),
  read('threads', 'threads'),
  read('threads/runs', 'threads.runs'),
  unread('threads/*', 'threads'),
  read('threads/*/messages', 'threads.messages'),
  unread('threads/*/messages/*', 'threads'),
  read('threads/*/runs', 'threads.runs'),
  unread('threads/*/runs/*', 'threads'),
  unread('threads/*/runs/*/cancel', 'threads'),
  read('threads/*/runs/*/submit_tool_outputs', 'threads.tool_outputs'),
  // Vector stores hold uploaded files; a search sends its query to the embedding model.
  unread('vector_stores', 'vector_stores'),
  unread('vector_stores/*', 'vector_stores'),
  read('vector_stores/*/search', 'vector_stores.search'),
  unread('vector_stores/*/files', 'vector_stores'),
  unread('vector_stores/*/files/*', 'vector_stores'),
  unread('vector_stores/*/file_batches', 'vector_stores'),
  unread('vector_stores/*/file_batches/*/cancel', 'vector_stores'),
  // Realtime: the session configuration (instructions, tools) is POSTed before the connection opens. The
  // WebRTC offer (`/realtime/calls`) sent as plain SDP carries none (as multipart it does: UPLOAD_ROUTES),
  // and the call controls carry no text.
  read('realtime/client_secrets', 'realtime.client_secrets'),
  read('realtime/sessions', 'realtime.sessions'),
  read('realtime/calls/*/accept', 'realtime.sessions'),
  read('realtime/transcription_sessions', 'realtime.sessions'),
  unread('realtime/calls', 'realtime'),
  unread('realtime/calls/*/hangup', 'realtime'),
  unread('realtime/calls/*/refer', 'realtime'),
  unread('realtime/calls/*/reject', 'realtime'),
];

/** OpenAI's Conversations API stores Responses input items; updating one (`POST /conversations/{id}`) sets metadata only. */
const OPENAI_CONVERSATION_ROUTES: readonly PostRoute[] = [
  read('conversations', 'conversations'),
  read('conversations/*/items', 'conversations.items'),
  unread('conversations/*', 'conversations'),
];

/** Mistral's Conversations API on the same path: start, append to, and restart a conversation (mistral-conversations.ts). */
const MISTRAL_CONVERSATION_ROUTES: readonly PostRoute[] = [
  read('conversations', 'conversations.start'),
  read('conversations/*', 'conversations.append'),
  read('conversations/*/restart', 'conversations.restart'),
];

/**
 * Azure's own POSTs next to OpenAI's, whose bodies carry text for a model: Foundry's image embeddings (an image may
 * come with a `text`) and DALL-E 2's asynchronous generation (`images/generations:submit`, the prompt as OpenAI's).
 * Without them they would pass unread under the `images` root.
 */
const AZURE_ROUTES: readonly PostRoute[] = [
  read('images/embeddings', 'images.embeddings'),
  read('images/generations:submit', 'images.generations'),
];

const OPENAI_POST_ROUTES = [...SHARED_POST_ROUTES, ...OPENAI_CONVERSATION_ROUTES];
const MISTRAL_POST_ROUTES = [...SHARED_POST_ROUTES, ...MISTRAL_CONVERSATION_ROUTES];
const AZURE_POST_ROUTES = [...OPENAI_POST_ROUTES, ...AZURE_ROUTES];

/**
 * Routes a provider answers only to GET (or another bodyless method), carrying no prompt: Azure AI Foundry's model
 * inference API describes the model behind the endpoint at `GET /models/info`.
 */
const BODYLESS_ROUTES: Partial<Record<ProviderName, ReadonlyMap<string, string>>> = {
  azure: new Map([['info', 'models.info']]),
};

const READERS: Readonly<Record<string, BodyReader>> = {
  'chat.completions': readChatCompletion,
  // Image edits of images referenced by URL or file id come as JSON (`images: [{image_url}]`): the prompt
  // is read as the image generation's is.
  'images.edits': readImageGeneration,
  completions: readCompletion,
  responses: readResponsesRequest,
  'responses.input_tokens': readResponsesRequest,
  // Compaction takes the conversation as /responses does (`input`, `instructions`) and returns it shortened.
  'responses.compact': readResponsesRequest,
  embeddings: readEmbedding,
  moderations: readModeration,
  'fim.completions': readFimCompletion,
  conversations: readConversationCreate,
  'conversations.items': readConversationItems,
  'conversations.start': readMistralConversationStart,
  'conversations.append': readMistralConversationInputs,
  'conversations.restart': readMistralConversationInputs,
  'images.generations': readImageGeneration,
  'images.embeddings': readImageEmbeddings,
  'audio.speech': readSpeech,
  videos: readVideoPrompt,
  assistants: readAssistant,
  threads: readThread,
  'threads.messages': readThreadMessage,
  'threads.runs': readRun,
  'threads.tool_outputs': readToolOutputs,
  'vector_stores.search': readVectorStoreSearch,
  'realtime.client_secrets': readRealtimeClientSecret,
  'realtime.sessions': readRealtimeSession,
};

/**
 * Multipart/form-data uploads of an image or audio file that also carry text for the model (the image edit's
 * prompt, the transcription's prompt hint) and the model: their text fields are read. Sent any other way they
 * are what they were before, uninspected under their `images` and `audio` roots (UNINSPECTED_ROOTS).
 * The Realtime WebRTC offer sent as a form carries its session configuration (instructions, tools, model) in
 * its `session` field; sent as plain `application/sdp` it is the unread `realtime` route above.
 */
const UPLOAD_ROUTES: readonly PostRoute[] = [
  { segments: ['images', 'edits'], operation: 'images.edits', read: false, upload: true },
  { segments: ['images', 'variations'], operation: 'images.variations', read: false, upload: true },
  { segments: ['audio', 'transcriptions'], operation: 'audio.transcriptions', read: false, upload: true },
  { segments: ['audio', 'translations'], operation: 'audio.translations', read: false, upload: true },
  { segments: ['realtime', 'calls'], operation: 'realtime.calls', read: false, upload: true, form: REALTIME_CALL_FORM },
];

/** The media uploads' forms: `prompt` and `model` are text. */
const MEDIA_UPLOAD_FORM: FormFieldRules = { textFields: UPLOAD_TEXT_FIELDS };

/** Readers of the upload forms' text fields (FormFields), by operation. */
const UPLOAD_READERS: Readonly<Record<string, BodyReader>> = {
  'images.edits': readImageEditUpload,
  'images.variations': readImageVariationUpload,
  'audio.transcriptions': readAudioUpload,
  'audio.translations': readAudioUpload,
  videos: readVideoUpload,
  'realtime.calls': readRealtimeCallOffer,
};

/**
 * Roots of stored objects that a POST above creates: retrieving, listing and deleting them (`GET /responses/{id}`,
 * `DELETE /chat/completions/{id}`) carries no prompt, nor does opening the Realtime WebSocket (`GET /realtime`).
 * A POST under them that the table does not list is an unknown route (`POST /responses/{id}/summarize`),
 * refused on API hosts rather than forwarded unread.
 */
const STORED_OBJECT_ROOTS: Readonly<Record<string, string>> = {
  responses: 'responses',
  chat: 'chat.completions',
  conversations: 'conversations',
  videos: 'videos',
  assistants: 'assistants',
  threads: 'threads',
  vector_stores: 'vector_stores',
  realtime: 'realtime',
};

/**
 * Roots Edge forwards without reading the body whatever the method: model listings, files and uploads, batches,
 * fine-tuning, evals, containers, ChatKit, organization admin, and image and audio POSTs the tables above do not
 * read (they read image generation and speech, and the multipart UPLOAD_ROUTES). The last group is OpenRouter's
 * account routes (`/api/v1/key`, ...).
 */
const UNINSPECTED_ROOTS: ReadonlySet<string> = new Set([
  'models', 'files', 'batches', 'audio', 'images', 'fine_tuning', 'uploads', 'containers', 'evals', 'chatkit', 'organization',
  'generation', 'credits', 'key', 'auth', 'providers',
]);

function findRoute(routes: readonly PostRoute[], segments: readonly string[]): PostRoute | undefined {
  return routes.find((route) => route.segments.length === segments.length
    && route.segments.every((want, i) => (want === '*' ? segments[i] !== '' : want === segments[i])));
}

function findPostRoute(entry: SurfaceEntry, segments: readonly string[]): PostRoute | undefined {
  const routes = entry.provider === 'mistral' ? MISTRAL_POST_ROUTES : entry.provider === 'azure' ? AZURE_POST_ROUTES : OPENAI_POST_ROUTES;
  return findRoute(routes, segments);
}

/** An upload route sent as multipart: its form is read (form-request-body.ts) with the Content-Type that frames it. */
interface UploadRouteMatch extends RouteMatch {
  upload: { contentType: string; form: FormFieldRules };
}

function isUpload(route: RouteMatch): route is UploadRouteMatch {
  return (route as Partial<UploadRouteMatch>).upload !== undefined;
}

/** The Content-Type of a multipart body (any multipart type: a form reader refuses all but form-data). */
function multipartType(req: HttpRequestInfo): string | undefined {
  const type = header(req.headers['content-type']);
  return type !== undefined && type.trim().toLowerCase().startsWith('multipart/') ? type : undefined;
}

/** The route read as an upload, when it takes one and the request is multipart. */
function uploadMatch(location: RequestLocation, route: PostRoute, req: HttpRequestInfo): UploadRouteMatch | undefined {
  const contentType = route.upload === true ? multipartType(req) : undefined;
  return contentType === undefined ? undefined : { ...location, operation: route.operation, inspected: true, upload: { contentType, form: route.form ?? MEDIA_UPLOAD_FORM } };
}

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  return recognizeInScope(req, entry) ?? outsideApiLookalikeRefusal(req, entry);
}

/**
 * Routes at the API's own paths, or a Foundry project's copy of them (`/api/projects/{project}/openai/v1/...`), or
 * the project's Agent Service (AGENT_SERVICE_ROOTS). Anything else under the projects path is left unrecognised:
 * the projects path is one of the entry's prefixes, so the registry refuses it as an unknown route under the API.
 */
function recognizeInScope(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const { projectsPath } = entry;
  const project = projectsPath === undefined ? undefined : locateNamedScope(req, projectsPath);
  if (projectsPath !== undefined && project === undefined && isUnderPath(req, projectsPath)) return undefined;
  // `proj1;x`, `proj1.`, `proj1%20` may be project proj1 to a lenient origin, while the look-alike checks below read
  // only paths under the name as sent: `proj1;x/threads/Runs` would pass unread as an unknown-to-Edge spelling.
  if (project !== undefined && isBlurredName(project.name)) return undefined;
  if (project !== undefined && AGENT_SERVICE_ROOTS.has(project.rest[0] ?? '')) return recognizeUnder(req, entry, [project.prefix]);
  const scope = project?.prefix ?? '';
  const prefixes = entry.pathPrefixes.filter((prefix) => prefix !== projectsPath).map((prefix) => `${scope}${prefix}`);
  if (entry.deploymentsPath === undefined) return recognizeUnder(req, entry, prefixes);
  return recognizeDeployments(req, entry, `${scope}${entry.deploymentsPath}`, prefixes);
}

/**
 * Azure AI Foundry's Agent Service (the classic one, `?api-version=v1` and its dated previews) sits at a project's own
 * root, not under its OpenAI API: `/api/projects/{project}/assistants`, `.../threads/{thread}/runs`. It is OpenAI's
 * Assistants API there, same routes and bodies (the model a deployment's name, folded as Azure's are), so it is read
 * as that API is on api.openai.com. A deployment is judged only where the request names it (an assistant's `model`,
 * a run's override): a run naming none runs on its assistant's, which Edge does not look up, so it is judged on no
 * model and its usage priced at the model its answer names (openai-assistants.ts readRun). Only these roots: the project's others (connections, evaluations, datasets,
 * indexes, files) are not read, and any spelling of these roots but the exact one is one of them, refused as an
 * unknown route; a look-alike below them (`threads/Runs`) is refused as it is on api.openai.com.
 */
const AGENT_SERVICE_ROOTS: ReadonlySet<string> = new Set(['assistants', 'threads']);

/**
 * Routes under a deployments path take the deployment as the model. The deployments themselves (`GET
 * /openai/deployments`, `GET /openai/deployments/{deployment}`) are listings that carry no prompt.
 */
function recognizeDeployments(req: HttpRequestInfo, entry: SurfaceEntry, deploymentsPath: string, prefixes: readonly string[]): RouteMatch | undefined {
  const deployment = locateNamedScope(req, deploymentsPath);
  // `gpt4o;x`, `gpt4o%20` or `gpt4o.` may reach deployment gpt4o at a lenient origin while policy judged another name.
  if (deployment !== undefined && isBlurredName(deployment.name)) return undefined;
  if (deployment !== undefined && deployment.rest.length > 0) {
    const route = recognizeUnder(req, entry, [deployment.prefix]);
    // The deployment is what the origin answers with, whatever model the body names: policy judges that.
    return route === undefined ? undefined : { ...route, pathModel: deployment.name };
  }
  const listing = locateRequest(req, [deploymentsPath]);
  if (listing === undefined) return recognizeUnder(req, entry, prefixes);
  return BODYLESS_METHODS.has(listing.method) ? { ...listing, operation: 'deployments', inspected: false } : undefined;
}

/**
 * A route Edge reads, spelled so that only an origin routing leniently takes it for that route (`images/Generations`,
 * `audio/speech;x`, `images/generations%20`, `threads/Runs`): its exact segments match no route Edge reads, so it
 * would pass unread under its root (`images`, `audio`), as another route, or as an unknown route on a host that lets
 * those through. Returns the route it poses as. Where it is an unknown route that the host refuses anyway, it is
 * left to that refusal (the 404 naming the route). Matched against the POST route tables, whose reads depend on the host
 * (Mistral's, Azure's), rather than route-lookalike.ts's readRouteLookalike patterns.
 */
function postRouteLookalike(entry: SurfaceEntry, location: RequestLocation, prefixes: readonly string[], segments: readonly string[]): PostRoute | undefined {
  const exact = findPostRoute(entry, segments);
  if (exact?.read === true || findRoute(UPLOAD_ROUTES, segments) !== undefined) return undefined;
  const forwarded = exact !== undefined || UNINSPECTED_ROOTS.has(segments[0] ?? '') || entry.unknownRoutes === 'pass';
  if (!forwarded) return undefined;
  // Each reading a lenient origin may make (lenientOperationReadings: also control or non-ASCII bytes dropped, `..;` resolved).
  for (const loose of lenientOperationReadings(location, prefixes)) {
    if (loose.length === segments.length && loose.every((segment, i) => segment === segments[i])) continue;
    const route = findPostRoute(entry, loose);
    const lookalike = route?.read === true || route?.upload === true ? route : findRoute(UPLOAD_ROUTES, loose);
    if (lookalike !== undefined) return lookalike;
  }
  return undefined;
}

function recognizeUnder(req: HttpRequestInfo, entry: SurfaceEntry, prefixes: readonly string[]): RouteMatch | undefined {
  const location = locateRequest(req, prefixes);
  if (location === undefined) return undefined;
  const segments = operationSegments(location);
  const [root] = segments;
  if (root === undefined) return undefined;
  const lookalike = BODYLESS_METHODS.has(location.method) ? undefined : postRouteLookalike(entry, location, prefixes, segments);
  if (lookalike !== undefined) return lookalikeRouteRefusal(req, entry, location, lookalike.segments.join('/'), lookalike.operation);
  // `/v1/images/..;/chat/completions` is `/v1/chat/completions` to an origin that drops `;parameters`.
  // `/v1/images/%C0%AE%C0%AE/chat/completions`, `/v1/images/generations%3Fx`: read past by an origin in ways no list of
  // readings covers, so refused whatever route they would reach.
  const disguised = disguisedDotSegmentRefusal(req, entry, location) ?? unreadablePathRefusal(req, entry, location);
  if (disguised !== undefined) return disguised;
  const route = findPostRoute(entry, segments);
  if (location.method === 'POST') {
    // Uploads first: a form to `/realtime/calls` is read, while the same route's plain SDP is the unread route.
    const upload = findRoute(UPLOAD_ROUTES, segments);
    const asUpload = upload === undefined ? undefined : uploadMatch(location, upload, req);
    if (asUpload !== undefined) return asUpload;
    // Not a form: a body that names its images by reference, read as JSON (a body that is not JSON is a 400).
    if (upload?.operation === 'images.edits') return { ...location, operation: upload.operation, inspected: true };
    if (route !== undefined) return uploadMatch(location, route, req) ?? { ...location, operation: route.operation, inspected: route.read };
    return UNINSPECTED_ROOTS.has(root) ? { ...location, operation: root, inspected: false } : undefined;
  }
  if (!BODYLESS_METHODS.has(location.method)) {
    // An origin may route PUT /chat/completions to the POST handler; Edge reads only the POST, so it refuses the rest.
    if (route?.read === true) return wrongMethodRefusal(req, entry, location, route.operation);
    // OpenAI's APIs use no PUT or PATCH: under any other root they are unknown routes.
    return UNINSPECTED_ROOTS.has(root) ? { ...location, operation: root, inspected: false } : undefined;
  }
  // GET /chat/completions lists stored completions: same path as a read POST, no prompt in it.
  const storedObjects = root === 'chat' && segments[1] !== 'completions' ? undefined : STORED_OBJECT_ROOTS[root];
  if (storedObjects !== undefined) return { ...location, operation: storedObjects, inspected: false };
  if (route !== undefined && !route.segments.includes('*')) return { ...location, operation: route.operation, inspected: false };
  if (UNINSPECTED_ROOTS.has(root)) return { ...location, operation: root, inspected: false };
  const bodyless = BODYLESS_ROUTES[entry.provider]?.get(segments.join('/'));
  return bodyless === undefined ? undefined : { ...location, operation: bodyless, inspected: false };
}

/**
 * A body on a route that names the model (Azure's deployments) need not name it too, as it must on OpenAI's own
 * routes: the readers get a copy with the path's model where the body has none. What is forwarded is the client's.
 */
function withPathModel(route: RouteMatch, body: unknown): unknown {
  if (route.pathModel === undefined || !isJsonObject(body) || body['model'] !== undefined) return body;
  return { ...body, model: route.pathModel };
}

const parseJson = parseWithReaders('openai-compatible', READERS);
const parseUpload = parseWithReaders('openai-compatible', UPLOAD_READERS);

/** A multipart upload is read as its text fields; everything else is JSON. */
function readBody(route: RouteMatch, raw: Uint8Array | undefined, entry: SurfaceEntry): BodyReadResult {
  return isUpload(route) ? readFormRequestBody(route, raw, entry, route.upload.contentType, route.upload.form) : readJsonRequestBody(route, raw, entry);
}

export const openAICompatibleAdapter: ProviderAdapter = {
  id: 'openai-compatible',
  recognize,
  readBody,
  parse: (route, body, entry) => {
    if (isRefused(route)) return { ok: false, error: route.refusal };
    const read = withPathModel(route, body);
    return isUpload(route) ? parseUpload(route, read, entry) : parseJson(route, read, entry);
  },
  errorResponse: (err, opts) => errorResponse(err, bifrostErrorBody(err), { kind: 'data' }, opts),
};
