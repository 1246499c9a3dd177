import { parseWithReaders, type BodyReader, type ProviderAdapter, type RouteMatch } from './adapter.js';
import { bifrostErrorBody } from './error-bodies.js';
import { errorResponse } from './error-response.js';
import { readChatCompletion } from './openai-chat.js';
import { readCompletion, readEmbedding, readFimCompletion, readModeration } from './openai-inputs.js';
import { readImageGeneration, readSpeech } from './openai-media.js';
import { readConversationCreate, readConversationItems, readResponsesRequest } from './openai-responses.js';
import type { SurfaceEntry } from './catalog.js';
import { locateRequest, operationSegments } from './route-path.js';
import type { HttpRequestInfo } from './types.js';

/**
 * OpenAI and the APIs that copy its shape (Groq, Mistral, xAI, DeepSeek, OpenRouter, Perplexity, Copilot).
 * Routes are matched after the surface's path prefix, so `/v1/chat/completions` on api.openai.com and
 * `/openai/v1/chat/completions` on api.groq.com are the same operation.
 */

/** POST routes whose body carries prompts: path after the prefix → operation. */
const INSPECTED_ROUTES: Readonly<Record<string, string>> = {
  '/chat/completions': 'chat.completions',
  '/completions': 'completions',
  '/responses': 'responses',
  '/responses/input_tokens': 'responses.input_tokens',
  '/embeddings': 'embeddings',
  '/moderations': 'moderations',
  '/fim/completions': 'fim.completions',
  '/conversations': 'conversations',
  // Image edits and variations, transcriptions and translations are multipart uploads of the media itself:
  // they stay uninspected under the `images` and `audio` roots (UNINSPECTED_ROOTS).
  '/images/generations': 'images.generations',
  '/audio/speech': 'audio.speech',
};

/** POST routes with an id in the path whose body carries prompts: segments after the prefix (`*`: any id). */
const INSPECTED_PATTERNS: ReadonlyArray<[string[], string]> = [
  [['conversations', '*', 'items'], 'conversations.items'],
];

const READERS: Readonly<Record<string, BodyReader>> = {
  'chat.completions': readChatCompletion,
  completions: readCompletion,
  responses: readResponsesRequest,
  'responses.input_tokens': readResponsesRequest,
  embeddings: readEmbedding,
  moderations: readModeration,
  'fim.completions': readFimCompletion,
  conversations: readConversationCreate,
  'conversations.items': readConversationItems,
  'images.generations': readImageGeneration,
  'audio.speech': readSpeech,
};

/**
 * Documented routes Edge forwards without reading the body: listings, retrievals, uploads, binary media,
 * stateful resources and websockets (the POSTs above under these roots are read: conversation items, image
 * generation, speech). The last group is OpenRouter's account routes (`/api/v1/key`, ...).
 */
const UNINSPECTED_ROOTS: ReadonlySet<string> = new Set([
  'models', 'files', 'batches', 'audio', 'images', 'assistants', 'threads', 'vector_stores', 'fine_tuning', 'uploads',
  'conversations', 'realtime', 'containers', 'evals', 'videos', 'chatkit', 'organization',
  'generation', 'credits', 'key', 'auth', 'providers',
]);

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined) return undefined;
  const inspectedOperation = INSPECTED_ROUTES[location.operationPath];
  if (inspectedOperation !== undefined) {
    // GET /chat/completions lists stored completions: same path, no prompt in it.
    return { ...location, operation: inspectedOperation, inspected: location.method === 'POST' };
  }
  const segments = operationSegments(location);
  const pattern = INSPECTED_PATTERNS.find(([want]) => want.length === segments.length && want.every((segment, i) => segment === '*' || segment === segments[i]));
  if (pattern !== undefined && location.method === 'POST') return { ...location, operation: pattern[1], inspected: true };
  const [root, second] = segments;
  if (root === undefined) return undefined;
  // Stored objects under an inspected route: /responses/{id}, /responses/{id}/input_items, /chat/completions/{id};
  // the rest of the Conversations API (retrieve, update metadata, list or delete items) falls to its root below.
  if (root === 'responses') return { ...location, operation: 'responses', inspected: false };
  if (root === 'chat' && second === 'completions') return { ...location, operation: 'chat.completions', inspected: false };
  if (UNINSPECTED_ROOTS.has(root)) return { ...location, operation: root, inspected: false };
  return undefined;
}

export const openAICompatibleAdapter: ProviderAdapter = {
  id: 'openai-compatible',
  recognize,
  parse: parseWithReaders('openai-compatible', READERS),
  errorResponse: (err, opts) => errorResponse(err, bifrostErrorBody(err), { kind: 'data' }, opts),
};
