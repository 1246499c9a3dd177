import { lenientPathReadings, unreadablePathReason } from '../providers/route-lookalike.js';
import { isBlurredName, isNonCanonicalTarget, routablePath, splitPathAndQuery } from '../providers/route-path.js';

/** The WebSocket APIs whose client messages Edge reads. */
export type WebSocketApi = 'openai-realtime' | 'openai-responses' | 'gemini-live' | 'gemini-music';

/** A WebSocket API recognised on a path, with the path in the form the origin routes it. */
export interface WebSocketApiPath {
  api: WebSocketApi;
  /** The path as the origin routes it (routablePath: `/v1/respons%65s/` is `/v1/responses`); what the gateway is sent. */
  pathname: string;
  /** The query string with its leading `?`, or `''`. */
  query: string;
}

/** Voice Live's paths, in the form the origin routes them. */
const VOICE_LIVE_PATH = /^\/voice-(?:live|agent)\/realtime$/;

/**
 * The paths of the APIs Edge reads, on the routable form of the path (no trailing slash, no escapes of characters
 * that stand for themselves):
 * - OpenAI Realtime: `/v1/realtime` (`?model=` or `?call_id=`); xAI's Voice Agent API speaks the same events at the
 *   same path on api.x.ai (`?model=grok-voice-…`);
 * - Azure OpenAI's Realtime API: `/openai/realtime` (`?deployment=`, the deployment being the model) and the v1 API's
 *   `/openai/v1/realtime` (`?model=`), the same events, also as a Foundry project's copy of the v1 API,
 *   `/api/projects/{project}/openai/v1/realtime`;
 * - Azure's Voice Live API on Azure AI Services / Foundry hosts: `/voice-live/realtime` (`?model=`, a model's name such
 *   as `gpt-4o` or `phi4-mm`, not a deployment), and `/voice-agent/realtime`, the name its preview was first documented
 *   under: the Realtime events, with Azure's own settings in session.update (voice, avatar, noise reduction, semantic
 *   turn detection; realtime-events.ts reads every string of a setting it does not know);
 * - the OpenAI Responses API in WebSocket mode: `/v1/responses` (the models are in the messages). The vendors that
 *   document the mode for their Responses API speak the same events at their Responses path: Azure OpenAI's v1 API,
 *   `/openai/v1/responses` on *.openai.azure.com and on Azure AI Services / Foundry hosts (the model a deployment, as
 *   over HTTP), and xAI's `/v1/responses`. Every other Responses path whose HTTP route Edge reads is read too, so a
 *   vendor adding the mode cannot have its turns go out unread: Azure's dated `/openai/responses` (`?api-version=`)
 *   and a Foundry project's `/api/projects/{project}/openai/v1/responses`, Groq's `/openai/v1/responses`,
 *   OpenRouter's `/api/v1/responses`, Copilot's `/responses` and `/v1/responses`. Only OpenAI's goes to the gateway in
 *   gateway mode (websocket-route.ts); the others go to their origin;
 * - the same on chatgpt.com for Codex signed in with ChatGPT: `/backend-api/codex/responses` (codex-rs's
 *   responses_websocket.rs, its base URL `https://chatgpt.com/backend-api/codex`);
 * - Gemini Live: `/ws/google.ai.generativelanguage.<version>.GenerativeService.BidiGenerateContent`, and
 *   `…BidiGenerateContentConstrained`, the endpoint for ephemeral tokens;
 * - Gemini's Lyria RealTime music generation: `/ws/google.ai.generativelanguage.<version>.GenerativeService.BidiGenerateMusic`
 *   (Google documents `v1alpha`), its setup naming the model and its weighted prompts the user's words.
 */
const API_PATHS = ([
  { provider: 'openai', pathname: /^\/v1\/realtime$/, api: 'openai-realtime' },
  { provider: 'xai', pathname: /^\/v1\/realtime$/, api: 'openai-realtime' },
  { provider: 'azure', pathname: /^\/openai(?:\/v1)?\/realtime$/, api: 'openai-realtime' },
  { provider: 'azure', pathname: /^\/api\/projects\/[^/]+\/openai\/v1\/realtime$/, api: 'openai-realtime' },
  { provider: 'azure', pathname: VOICE_LIVE_PATH, api: 'openai-realtime' },
  { provider: 'openai', pathname: /^\/v1\/responses$/, api: 'openai-responses' },
  { provider: 'azure', pathname: /^(?:\/api\/projects\/[^/]+)?\/openai(?:\/v1)?\/responses$/, api: 'openai-responses' },
  { provider: 'xai', pathname: /^\/v1\/responses$/, api: 'openai-responses' },
  { provider: 'groq', pathname: /^\/openai\/v1\/responses$/, api: 'openai-responses' },
  { provider: 'openrouter', pathname: /^\/api\/v1\/responses$/, api: 'openai-responses' },
  { provider: 'copilot', pathname: /^(?:\/v1)?\/responses$/, api: 'openai-responses' },
  { provider: 'chatgpt-web', pathname: /^\/backend-api\/codex\/responses$/, api: 'openai-responses' },
  { provider: 'gemini', pathname: /^\/ws\/google\.ai\.generativelanguage\.\w+\.GenerativeService\.BidiGenerateContent(?:Constrained)?$/, api: 'gemini-live' },
  { provider: 'gemini', pathname: /^\/ws\/google\.ai\.generativelanguage\.\w+\.GenerativeService\.BidiGenerateMusic$/, api: 'gemini-music' },
] as const satisfies ReadonlyArray<{ provider: string; pathname: RegExp; api: WebSocketApi }>)
  // Lenient readings are lower case (route-lookalike.ts), so they are matched whatever the letter case.
  .map((entry) => ({ ...entry, loosePathname: new RegExp(entry.pathname.source, 'i') }));

/**
 * Which API a WebSocket opened on an AI host speaks, from the host's provider and the request target; undefined for
 * one Edge cannot read (its frames are relayed, and its opening is recorded as uninspected). The one place that
 * decides it: where the socket goes (websocket-route.ts) and whether its messages are read (websocket-decision.ts)
 * both ask here, so `/v1/responses/` or `/v1/respons%65s` cannot go to the origin unread while the same path as an
 * HTTP request goes to the gateway. Paths are matched as HTTP routes are (routablePath): as the origin routes them.
 * A target that is not in canonical form (dot segments, encoded slashes; edge-proxy.ts refuses the upgrade) names
 * no API.
 */
export function webSocketApiAt(provider: string, path: string): WebSocketApiPath | undefined {
  if (isNonCanonicalTarget(path)) return undefined;
  const { pathname: received, query } = splitPathAndQuery(path);
  const pathname = routablePath(received);
  const match = API_PATHS.find((entry) => entry.provider === provider && entry.pathname.test(pathname));
  return match ? { api: match.api, pathname, query } : undefined;
}

/** The API a WebSocket speaks (webSocketApiAt), or undefined when Edge cannot read it. */
export function webSocketApiOf(provider: string, path: string): WebSocketApi | undefined {
  return webSocketApiAt(provider, path)?.api;
}

/**
 * A path Edge does not read that an origin routing leniently may still route to one of the APIs above: one differing in
 * letter case (`/V1/Responses`), `;parameters` (`/v1/responses;x=1`), trailing blanks or dots (`/openai/realtime.`,
 * `/openai./realtime`, `%20`, `%09`), control or non-ASCII bytes (`/openai/realtime%0A`), or dot segments only such an
 * origin sees (`/x/..;/openai/realtime`): the readings route-lookalike.ts makes of HTTP paths, so the two cannot drift
 * apart. HTTP refuses such a path as a look-alike; relayed as a WebSocket it would go out unread (with the app's key, in
 * gateway mode), so it is refused too (websocket-decision.ts).
 */
export function posesAsWebSocketApi(provider: string, path: string): boolean {
  if (isNonCanonicalTarget(path) || webSocketApiAt(provider, path) !== undefined) return false;
  const pathname = routablePath(splitPathAndQuery(path).pathname);
  // A path lenient servers read in ways the readings cannot follow (route-lookalike.ts unreadablePathReason: escapes
  // nested deeper than Edge decodes, an escaped `?` or `#` that ends the path for a server decoding before it routes,
  // control or non-ASCII bytes) may be an API's path to the server: on a host with a WebSocket API Edge reads, it is
  // taken for one, as the HTTP check refuses it.
  if (unreadablePathReason(pathname) !== undefined) return API_PATHS.some((entry) => entry.provider === provider);
  const readings = lenientPathReadings(pathname);
  return API_PATHS.some((entry) => entry.provider === provider && readings.some((reading) => entry.loosePathname.test(reading)));
}

/**
 * The APIs whose sessions name their model only in their first message, `setup` (Gemini Live, Lyria RealTime): nothing
 * else is relayed before that model is allowed, and the session counts as a request when it is.
 */
export function namesModelInSetup(api: WebSocketApi | undefined): boolean {
  return api === 'gemini-live' || api === 'gemini-music';
}

/**
 * Whether an Azure WebSocket path (in the form the origin routes it, webSocketApiAt) is Voice Live's: its `?model=` names
 * a model, not a deployment, and an agent may stand in for the model (websocket-decision.ts).
 */
export function isVoiceLivePath(pathname: string): boolean {
  return VOICE_LIVE_PATH.test(pathname);
}

/** A path under a Foundry project, `/api/projects/{project}/...` (the project's name captured). */
const PROJECT_PATH = /^\/api\/projects\/([^/]+)\//;

/**
 * Whether a WebSocket path under a Foundry project (`/api/projects/{project}/...`, in the form the origin routes it)
 * names its project in a form a lenient server may read as another name (`proj;x`, `proj.`, `proj%20`): the project's
 * HTTP routes refuse such a name as an unknown route (openai-compatible.ts), so its sockets are refused too.
 */
export function namesBlurredProject(pathname: string): boolean {
  const project = PROJECT_PATH.exec(pathname)?.[1];
  return project !== undefined && isBlurredName(project);
}

/** Whether a WebSocket path (in the form the origin routes it) is under a Foundry project, `/api/projects/{project}/...`. */
export function isProjectPath(pathname: string): boolean {
  return PROJECT_PATH.test(pathname);
}
