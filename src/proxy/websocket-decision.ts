import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EdgeError } from '../edge-error.js';
import type { HttpRequestInfo, NormalizedRequest, ProviderName } from '../providers/types.js';
import { isServedModelOperation, SESSION_MODEL_OPERATION } from '../policy/model-access.js';
import type { TokenUsage } from '../policy/usage.js';
import { header } from '../util/header.js';
import { appFromUserAgent } from './app-attribution.js';
import type { ExchangeRecord, UsageNote } from './exchange.js';
import type { InspectionResult, RequestInspector, Resolution } from './surface-resolution.js';
import { createWebSocketMessageInspector, type TurnCheck, type WebSocketMessageInspector } from './websocket-inspection.js';
import { isProjectPath, isVoiceLivePath, namesBlurredProject, namesModelInSetup, posesAsWebSocketApi, webSocketApiAt } from './websocket-api.js';
import { isBlurredDeployment, joinsExistingCall, modelsInQuery, namesAgentMode, opensTranscriptionSession } from './websocket-query-model.js';

export interface WebSocketDecisionDeps {
  resolve: (info: HttpRequestInfo) => Resolution;
  /** The policy step (app catalog, key, provider, model, limits, fail mode). */
  policy: () => RequestInspector;
  record: (record: ExchangeRecord) => Promise<void>;
  /**
   * The request inspectors after policy (custom steps, guardrails, content safety). Given, the client messages
   * of the APIs Edge reads (websocket-messages.ts) are inspected with them; without, every WebSocket is relayed
   * unread and recorded as uninspected.
   */
  contentInspectors?: () => RequestInspector[];
  /** The request body limit, which each client message is held to. */
  maxMessageBytes?: number;
  /**
   * Policy's request following (RequestHandlerDeps.follow / settle): a decision on a followed request counts
   * against the key's request limit only when sent, so a model check repeated within a session counts nothing,
   * and an opening whose upstream never opened gives its place back. Without them every decision counts.
   */
  follow?: (request: NormalizedRequest) => { sent(): void; abandoned?(): UsageNote | undefined } | void;
  settle?: (request: NormalizedRequest) => void;
  /**
   * Policy's charge of a response's usage (recordResponseUsage): given, the server messages of the APIs Edge reads
   * are read for the usage they report, which is charged to the key's windows and recorded (websocket-session-usage.ts).
   */
  charge?: (request: NormalizedRequest, usage: TokenUsage) => UsageNote | undefined;
  /**
   * Policy's usedUp: whether the token or spend windows a decided request is charged to are used up, asked with no
   * side effects after each charge; a Realtime or Gemini Live session whose are is closed.
   */
  usedUp?: (request: NormalizedRequest) => Pick<EdgeError, 'status' | 'type' | 'message'> | undefined;
  /**
   * Policy's revoked: the refusal a decided request's key now meets under the current policy (gone, switched off,
   * expired, its provider or model no longer allowed; session-revocation.ts), asked after each charge and on each
   * policy change; a Realtime or Gemini Live session whose key is revoked is closed.
   */
  revoked?: (request: NormalizedRequest) => Pick<EdgeError, 'status' | 'type' | 'message'> | undefined;
  /** Subscribes to policy changes (each bundle applied), returning the unsubscription: live sessions recheck their keys. */
  policyChanges?: (listener: () => void) => () => void;
  /**
   * Policy's priceOf: what charging usage to a decided request would cost (its route's model at its ticket's prices),
   * nothing charged. A Realtime session's usage is charged to the request it was decided on that it costs most on;
   * without it, each is priced by its model's built-in list price.
   */
  priceOf?: (request: NormalizedRequest, usage: TokenUsage) => number | undefined;
  /** Policy's recordDurationUsage: charges seconds of audio a transcription model billed by the minute (whisper-1) transcribed. */
  chargeSeconds?: (request: NormalizedRequest, seconds: number) => UsageNote | undefined;
  /** Where an allowed socket goes, by the route policy chose for its opening (websocket-route.ts); for its records. */
  upstreamVia?: (request: NormalizedRequest, target: { provider: ProviderName; path: string }) => 'gateway' | 'origin';
}

/** An upgrade Edge refused before any decision (a Host naming another server): recorded as blocked. */
export interface WebSocketRefusal {
  status: number;
  errorType: string;
  message: string;
}

/** What became of the upstream of an allowed WebSocket. */
export type UpstreamOutcome =
  | { kind: 'open' }
  /** The upstream answered the upgrade with this HTTP status (401, 403, 404, …). */
  | { kind: 'refused'; status: number }
  /** Edge could not open it: what the client is told. */
  | { kind: 'failed'; status: number; errorType: string; message: string }
  /** The client left while the upstream was dialed. */
  | { kind: 'client-gone' };

export type WebSocketVerdict =
  /**
   * `messages`: the inspector every client message goes through before it is relayed. `upstream`: to be told
   * what became of the upstream before the client is answered, exactly once (absent for a socket nobody
   * governs): it writes the opening's audit record, and only a socket that opened counts as a request.
   */
  | { action: 'allow'; messages?: WebSocketMessageInspector; upstream?: (outcome: UpstreamOutcome) => Promise<void> }
  | { action: 'block'; message: string };

/**
 * Why a URL naming `?model=` more than once is refused: Edge decides on the first, a server may take the last (or
 * join them), so the model rules would be checked on another model than the one used. Short enough for a close frame.
 */
const REPEATED_MODEL_MESSAGE = 'Bifrost Edge: the WebSocket URL names ?model= (or ?deployment=) more than once (servers differ on which counts); name the model once';

/** Why a path that differs from an API's only in letter case or `;parameters` is refused (posesAsWebSocketApi). */
const LOOKALIKE_PATH_MESSAGE = 'Bifrost Edge: the path is the API\'s but for letter case or ;parameters, trailing dots/blanks, control bytes or ..; segments';

/**
 * The close reason of a socket whose path HTTP refuses (a look-alike of an API path on a host whose other paths pass,
 * Resolution's refusal); the refusal itself, naming the path and host, is in the audit record. Short enough for a close frame.
 */
const REFUSED_PATH_MESSAGE = 'Bifrost Edge: a lenient server may read this path as an API route; refused as over HTTP. Send the documented path';

/** Why an Azure deployment a lenient server may read as another name is refused (isBlurredDeployment). */
const BLURRED_DEPLOYMENT_MESSAGE = 'Bifrost Edge: the WebSocket URL\'s deployment has spaces, control characters, a trailing dot or ;parameters a server may drop; name the deployment exactly';

/**
 * Why an Azure Realtime opening naming no deployment is refused: the server would open one Edge decided no deployment
 * for, and on Azure the model the server then names is the one behind a deployment, which the key's deployment lists
 * cannot allow (websocket-inspection.ts), so nothing would hold the session to them.
 */
const NO_DEPLOYMENT_MESSAGE = 'Bifrost Edge: the Azure Realtime WebSocket URL names no deployment; name it in ?deployment= (or ?model= on /openai/v1/realtime)';

/** Why a socket under a Foundry project whose name a lenient server may read as another is refused (namesBlurredProject). */
const BLURRED_PROJECT_MESSAGE = 'Bifrost Edge: the project name in the path has spaces, a trailing dot or ;parameters a server may drop; name it exactly';

/**
 * Why an opening in agent mode (Voice Live's, or a Foundry project's Realtime socket's: the same agent parameters) is
 * refused: the agent's definition chooses the model, where Edge cannot see it, so no model rule could hold the session.
 * Short enough for a close frame.
 */
const AGENT_MODE_MESSAGE = 'Bifrost Edge: agent mode (?agent-...) hides the model from Edge; open the session with ?model= instead';

/** Why a Voice Live opening naming no model is refused: the server would open one Edge decided no model for. */
const VOICE_LIVE_NO_MODEL_MESSAGE = 'Bifrost Edge: the Voice Live WebSocket URL names no model; name it in ?model= (gpt-4o, gpt-realtime, ...)';

/** The largest client message when the agent names no limit: the configuration's default request body limit. */
const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * A WebSocket on an intercepted AI host (the OpenAI Realtime API, Gemini Live) is decided like a request, on
 * what its URL says (the provider of the host, `?model=` where the API puts it there); a refusal closes it with
 * Edge's message as the close reason. The client messages of the APIs Edge reads are then inspected one by one
 * (websocket-inspection.ts); any other WebSocket's frames are relayed unread. The opening is recorded once its
 * upstream answered, before the client is: opened (101; flagged uninspected when its frames go unread), refused
 * by the upstream (its status) or not reached (failed, with what the client is told), with where it went (`via`:
 * the gateway or the origin); one Edge would not dial for want of a virtual key is blocked, as the HTTP request is.
 * An upgrade Edge refused before any decision (`refused`) is recorded as blocked, as is one on a path HTTP refuses
 * (a look-alike of an API path: the refusal's own status, type and message), one whose URL names `?model=` more than
 * once, and an Azure one whose deployment a server may read as another name or, on the Realtime API, that names none
 * (but a call's sideband socket on the v1 route, and a transcription socket; websocket-query-model.ts). Given
 * `charge`, what the server of a socket Edge reads reports it used is charged to the key's windows and recorded: a
 * Realtime session's to whichever request it was decided on (its opening, each model a session.update named, the
 * model its server says it runs) the usage costs most on, and its input transcriptions at the transcription model it
 * configured; a Gemini Live session's to its setup, each Responses turn's to that turn.
 */
export function createWebSocketDecision(deps: WebSocketDecisionDeps) {
  return async (input: { host: string; path: string; headers: IncomingHttpHeaders; refused?: WebSocketRefusal }): Promise<WebSocketVerdict> => {
    const info: HttpRequestInfo = { method: 'GET', host: input.host, path: input.path, headers: input.headers };
    const resolution = deps.resolve(info);
    const started = Date.now();
    const url = new URL(input.path, 'http://websocket.invalid');
    // Of the URL (a refused request target may be a whole one), without the query string, which may hold an API key.
    const path = url.pathname;
    const app = appFromUserAgent(header(input.headers['user-agent']));
    /**
     * An upgrade refused before any policy decision: recorded as blocked, and closed with the reason (`closeMessage`,
     * when the recorded message is too long for a close frame).
     */
    const refuseOpening = async (refusal: WebSocketRefusal, provider: string | undefined, closeMessage?: string): Promise<WebSocketVerdict> => {
      const { status, errorType, message } = refusal;
      await deps.record({
        id: randomUUID(), method: 'GET', host: input.host, path, ...(provider !== undefined ? { provider } : {}), app, via: 'edge', decision: 'blocked',
        status, errorType, message, findings: [], latencyMs: 0,
      });
      return { action: 'block', message: closeMessage ?? message };
    };
    if (input.refused) return refuseOpening(input.refused, resolution.kind === 'not-ai' ? undefined : resolution.surface.provider);
    if (resolution.kind === 'not-ai') return { action: 'allow' };
    const provider = resolution.surface.provider as ProviderName;
    // Azure's Realtime API names its deployment (the model, as for its HTTP routes) in `?deployment=`; one URL naming
    // both, or either twice, is refused like a repeated model: Edge would decide on one, the server might use another.
    const models = modelsInQuery(provider, url.searchParams);
    const model = models[0] ?? null;
    const invalid = (message: string) => refuseOpening({ status: 400, errorType: 'invalid_request', message }, provider);
    if (models.length > 1) return invalid(REPEATED_MODEL_MESSAGE);
    if (posesAsWebSocketApi(provider, input.path)) return invalid(LOOKALIKE_PATH_MESSAGE);
    // A path HTTP refuses whatever the request (`/OpenAI/v1/foo` on Azure AI Services, whose other paths pass) is no
    // socket Edge reads: relayed, it would reach the API the origin reads the path as, unread. Refused as HTTP refuses it.
    if (resolution.kind === 'recognized' && resolution.refusal) {
      const { status, type, message } = resolution.refusal;
      return refuseOpening({ status, errorType: type, message }, provider, REFUSED_PATH_MESSAGE);
    }
    const apiPath = webSocketApiAt(provider, input.path);
    const speaks = apiPath?.api;
    /** An Azure transcription socket naming no deployment: its session message names it (websocket-inspection.ts). */
    let deploymentInSession = false;
    /** A Voice Live socket: its names are models, held to the key's lists in its messages too (websocket-inspection.ts). */
    const namesModels = provider === 'azure' && speaks === 'openai-realtime' && isVoiceLivePath(apiPath!.pathname);
    if (provider === 'azure') {
      if (model !== null && isBlurredDeployment(model)) return invalid(BLURRED_DEPLOYMENT_MESSAGE);
      if (apiPath !== undefined && namesBlurredProject(apiPath.pathname)) return invalid(BLURRED_PROJECT_MESSAGE);
      // Voice Live names a model, not a deployment (`?model=gpt-4o`), held to the key's lists by name as every Azure name
      // is (folded): there is no call to join nor transcription intent to wait on, so an opening naming no model, or an
      // agent that chooses its own, is refused. A Foundry project's Realtime socket takes the same agent parameters.
      if (speaks === 'openai-realtime' && (namesModels || isProjectPath(apiPath!.pathname)) && namesAgentMode(url.searchParams)) {
        return invalid(AGENT_MODE_MESSAGE);
      }
      if (namesModels && (model ?? '') === '') return invalid(VOICE_LIVE_NO_MODEL_MESSAGE);
      // The key's deployment lists hold an Azure Realtime session only through a deployment (the models the session
      // names are those behind one), so an opening naming none is refused, unless it joins a call whose deployment was
      // chosen when the call was made, or opens a transcription session, whose deployment its session message names
      // and which relays nothing else until that deployment is allowed. An empty name is no exemption: a server may
      // read `?deployment=` as some default. Nor is a transcription socket Edge would not read (no content steps wired):
      // nothing would then hold back its audio until a deployment is allowed.
      if (speaks === 'openai-realtime' && (model ?? '') === '') {
        if (model === null && opensTranscriptionSession(url.searchParams) && deps.contentInspectors) deploymentInSession = true;
        else if (model !== null || !joinsExistingCall(apiPath!.pathname, url.searchParams)) return invalid(NO_DEPLOYMENT_MESSAGE);
      }
    }
    const api = deps.contentInspectors ? speaks : undefined;
    const request: NormalizedRequest = {
      provider, adapter: 'websocket', operation: 'websocket', model, stream: true, texts: [], tools: [], inspected: false,
    };
    /** The policy step; `counts`: the decision counts against the key's request limit. */
    const decide = async (candidate: NormalizedRequest, counts: boolean): Promise<InspectionResult> => {
      if (!counts) deps.follow?.(candidate);
      try {
        return await deps.policy()({ request: candidate, body: undefined, info, app });
      } finally {
        if (!counts) deps.settle?.(candidate);
      }
    };
    /** A turn of the Responses API (a message that is a model call): counts once sent, as an HTTP request does. */
    const checkTurn = async (candidate: NormalizedRequest): Promise<TurnCheck> => {
      const followed = deps.follow?.(candidate);
      let verdict: InspectionResult;
      try {
        verdict = await deps.policy()({ request: candidate, body: undefined, info, app });
      } catch (err) {
        deps.settle?.(candidate);
        throw err;
      }
      return {
        verdict, sent: () => followed?.sent(), settle: () => deps.settle?.(candidate),
        ...(followed?.abandoned ? { abandoned: () => followed.abandoned!() } : {}),
      };
    };
    // Gemini Live and Lyria RealTime name their model in their setup message: the session counts as a request when
    // that is decided. On the Responses API each turn is a model call and counts (checkTurn); its opening calls no
    // model. Any other opening counts once its upstream opened; until then it holds its place in the key's request
    // windows, which it gives back when the upstream refused or was not reached.
    const countsWhenOpen = !namesModelInSetup(api) && api !== 'openai-responses';
    const followed = countsWhenOpen ? deps.follow?.(request) : undefined;
    let verdict: InspectionResult;
    try {
      verdict = await decide(request, countsWhenOpen);
    } catch (err) {
      if (countsWhenOpen) deps.settle?.(request);
      throw err;
    }
    const base = { id: randomUUID(), method: 'GET', host: input.host, path, provider, model, app };
    if (verdict.action === 'block') {
      if (countsWhenOpen) deps.settle?.(request);
      await deps.record({ ...base, via: 'edge', decision: 'blocked', status: verdict.error.status, errorType: verdict.error.type, message: verdict.error.message, findings: [], latencyMs: 0 });
      return { action: 'block', message: verdict.error.message };
    }
    const inspected = api !== undefined && deps.contentInspectors !== undefined;
    const via = deps.upstreamVia?.(request, { provider, path: input.path });
    let told = false;
    const upstream = async (outcome: UpstreamOutcome): Promise<void> => {
      if (told) return;
      told = true;
      if (countsWhenOpen) {
        if (outcome.kind === 'open') followed?.sent();
        deps.settle?.(request);
      }
      // Written before the client is answered: an answer the record could not be written for is not given.
      await deps.record({ ...base, ...(via ? { via } : {}), ...openingRecord(outcome, inspected), latencyMs: Date.now() - started });
    };
    if (!inspected) return { action: 'allow', upstream };
    const messages = createWebSocketMessageInspector({
      socket: { api, host: input.host, path, info, app, provider, model, opening: request, ...(via ? { via } : {}), ...(deploymentInSession ? { deploymentInSession } : {}), ...(namesModels ? { namesModels } : {}) },
      contentInspectors: deps.contentInspectors!,
      checkModel: (candidate, counts) => decide(counts ? candidate : accessOnly(candidate), counts),
      checkTurn,
      record: deps.record,
      maxMessageBytes: deps.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      ...(deps.charge ? { charge: deps.charge } : {}),
      ...(deps.usedUp ? { usedUp: deps.usedUp } : {}),
      ...(deps.revoked ? { revoked: deps.revoked } : {}),
      ...(deps.policyChanges ? { policyChanges: deps.policyChanges } : {}),
      ...(deps.priceOf ? { priceOf: deps.priceOf } : {}),
      ...(deps.chargeSeconds ? { chargeSeconds: deps.chargeSeconds } : {}),
    });
    return { action: 'allow', messages, upstream };
  };
}

/**
 * A model a message names within a session already decided (a Realtime session.update's model or transcription
 * model, the model its server says it runs) is no request of its own: the opening was decided and counted, and may
 * have used the key's last request, while the session's usage is held to the key's token and spend windows as it is
 * charged (usedUp). So it is checked for access only (decide.ts): the key's provider and model lists apply, its request
 * limits and budgets do not, and its route keeps the token and spend windows the session's usage is charged to.
 * Marked on the message's own request, not a copy: the session charges that request, and the policy rechecks it
 * (revoked) as it was decided. A model the client names (SESSION_MODEL_OPERATION) is held to exact names, as any
 * model a client chooses is; only the server's own (SERVER_MODEL_OPERATION or SERVED_MODEL_BY_NAME_OPERATION, already
 * marked) lets a dated release of a listed alias through (servedModelVerdict).
 */
function accessOnly(candidate: NormalizedRequest): NormalizedRequest {
  if (!isServedModelOperation(candidate.operation)) candidate.operation = SESSION_MODEL_OPERATION;
  return candidate;
}

/** Refusals Edge itself gives an allowed socket before dialing it (websocket-route.ts): recorded as blocked, as over HTTP. */
const EDGE_REFUSALS: ReadonlySet<string> = new Set(['virtual_key_required']);

/**
 * The opening's record, as its upstream answered; a socket whose frames go unread is flagged as such once open. A
 * socket Edge refused to dial (no virtual key for the gateway) is blocked by Edge, as the HTTP request is.
 */
function openingRecord(outcome: UpstreamOutcome, inspected: boolean): Pick<ExchangeRecord, 'decision' | 'findings' | 'status' | 'errorType' | 'message' | 'via'> {
  switch (outcome.kind) {
    case 'open':
      return inspected
        ? { decision: 'forwarded', status: 101, findings: [] }
        : { decision: 'flagged', status: 101, findings: [{ type: 'uninspected', ruleId: 'websocket', action: 'flag', location: 'request' }] };
    case 'refused':
      return { decision: 'forwarded', status: outcome.status, findings: [] };
    case 'failed':
      return {
        ...(EDGE_REFUSALS.has(outcome.errorType) ? { decision: 'blocked', via: 'edge' } : { decision: 'failed' }),
        status: outcome.status, errorType: outcome.errorType, message: outcome.message, findings: [],
      };
    case 'client-gone':
      return { decision: 'failed', errorType: 'client_aborted', findings: [] };
  }
}
