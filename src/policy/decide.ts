import type { PolicyBundle, RoutingMode } from '../control/protocol/policy-bundle.js';
import type { VirtualKey } from '../control/protocol/virtual-key.js';
import { edgeError, type EdgeError } from '../edge-error.js';
import type { NormalizedRequest } from '../providers/types.js';
import { keyLabel, selectActiveKey } from './active-key.js';
import { decideApp, type AppIdentity } from './apps.js';
import { formatSpan } from './durations.js';
import { applyFailMode, type AuditQueueProblem } from './fail-mode.js';
import {
  checkBudgets, checkRateLimits, describeAmount, describeLimit, describeUsed, limitWindows, providerConfigSpent,
  type CounterSnapshot, type LimitViolation, type LimitWindow,
} from './limits.js';
import { checkMcpTools, isMcpProtocolRequest, type McpRefusal } from './mcp-tools.js';
import { allowedModelsOn, allowedProviders, isProviderAllowed, isServedModelOperation, modelVerdictFor, SESSION_MODEL_OPERATION } from './model-access.js';
import { isJudgeableModelName } from './model-name-key.js';
import { resolveTarget } from './model-target.js';
import { generatesAnswer } from './response-meter.js';
import type { NoticeDraft, NoticeKind } from './notices.js';
import { bifrostProviderFor } from './provider-names.js';

/**
 * The policy decision for one AI request: pure, no I/O, every input passed in.
 *
 * Order of checks (the first refusal wins):
 *  1. app catalog: denied apps, and pending apps when the policy blocks them (`app_blocked` 403);
 *  2. fail mode, when the gateway or Edge Control is unreachable (`gateway_unreachable` 503 when closed);
 *  3. surfaces governed by the app catalog alone (web apps, Copilot, Cursor) are allowed here;
 *     MCP protocol traffic (adapter `mcp`) goes on to the key, then straight to step 6: it is a tool
 *     server's JSON-RPC, not a model call, so provider configs, model lists, rate limits and budgets do not
 *     apply, and it goes to the MCP server itself (local mode) with no virtual key attached;
 *  4. sign-in and the virtual key: `virtual_key_required` 401, `virtual_key_not_found` 401,
 *     `virtual_key_blocked` 403 (inactive or expired);
 *  5. provider (`provider_blocked` 403) and model (`model_blocked` 403), with Bifrost's list semantics; first, a model
 *     name outside plain ASCII for a provider that matches names in any letter case (`invalid_request` 400);
 *  6. MCP tool calls (`mcp_tool_blocked` 403);
 *  7. rate limits (`rate_limited` / `token_limited` / `request_limited` 429), then budgets
 *     (`budget_exceeded` 402), from the device's counters and the gateway's last report. Reading back stored
 *     work (a response, a run, a conversation's items) is held to request limits only (readsBackStoredWork);
 *     the model a live session's server names (SERVER_MODEL_OPERATION), or its client names within the session
 *     (SESSION_MODEL_OPERATION), to none: it is no request of its own.
 * Steps 4-7 mirror the gateway's own order, so a request refused here would be refused there too.
 */

export interface DecisionInput {
  request: NormalizedRequest;
  /** The verified policy bundle; undefined before the first sync. */
  bundle: PolicyBundle | undefined;
  app: AppIdentity;
  counters: CounterSnapshot;
  now: Date;
  signedIn: boolean;
  controlPlaneReachable: boolean;
  /** Default true: only the forwarder knows when the gateway stops answering. */
  gatewayReachable?: boolean;
  /** Default true: false while the audit outbox is full and refuses records. */
  auditQueueAccepting?: boolean;
  /** Why the audit outbox refuses records, for the refusal's text. */
  auditQueueProblem?: AuditQueueProblem;
  /** Routing when no bundle (or catalog entry) says otherwise: the agent's configured mode. Default gateway. */
  defaultMode?: RoutingMode;
}

export interface RouteKey {
  id: string;
  name: string;
  /** The `sk-bf-…` secret to send in `x-bf-vk`; absent in local mode when the bundle carries none. */
  value?: string;
}

export interface PolicyRoute {
  mode: RoutingMode;
  /** The key to send (and to charge); null for traffic no virtual key governs (app-governed surfaces, no policy yet). */
  virtualKey: RouteKey | null;
  /** The Bifrost provider the request is governed as; null for app-governed surfaces. */
  provider: string | null;
  /** Model without provider prefix, as governed; null when the request names none. */
  model: string | null;
  /** For a load-balanced bare model: every provider the gateway may choose. */
  candidates: string[];
  /** Windows the request counts against: requests now, tokens and spend once its usage is known. */
  windows: LimitWindow[];
}

export type Decision =
  /** `failOpen`: the reason the request goes ahead although the gateway or Edge Control is unreachable. */
  | { action: 'allow'; route: PolicyRoute; reasons: string[]; appSeen: boolean; failOpen?: string }
  | { action: 'block'; error: EdgeError; notice: NoticeDraft; reasons: string[]; appSeen: boolean };

export function decideRequest(input: DecisionInput): Decision {
  const { request, bundle, app, now } = input;
  const reasons: string[] = [];

  const surfaceProvider = bifrostProviderFor(request.provider);
  const mcpProtocol = isMcpProtocolRequest(request);
  // The provider and model the client asked for travel with every refusal (error body extra_fields, notices).
  const aboutRequest = (error: EdgeError): EdgeError => governanceError(error.status, error.type, error.message);

  // 1. App catalog.
  const appVerdict = decideApp(app, bundle);
  const appSeen = appVerdict.seen;
  if (appVerdict.action === 'block') return block(input, aboutRequest(appVerdict.error), 'blocked', [`app ${app.id} is ${appVerdict.status}`], appSeen);
  if (appVerdict.status === 'pending' && bundle) reasons.push(`app ${app.id} is pending review; allowed by apps.pending_action`);

  // 2. Fail mode.
  let mode: RoutingMode = mcpProtocol ? 'local' : app.routing ?? bundle?.routing.default_mode ?? input.defaultMode ?? 'gateway';
  const failMode = applyFailMode({
    bundle,
    connectivity: {
      controlPlane: input.controlPlaneReachable, gateway: input.gatewayReachable ?? true, auditQueue: input.auditQueueAccepting ?? true,
      ...(input.auditQueueProblem ? { auditQueueProblem: input.auditQueueProblem } : {}),
    },
    // App-governed surfaces go to their origin, whatever the routing mode says.
    mode: surfaceProvider === undefined ? 'local' : mode,
    now,
  });
  if (failMode.action === 'refuse') return block(input, aboutRequest(failMode.error), 'fail_closed', [...reasons, failMode.reason], appSeen);
  const failOpen = failMode.action === 'proceed-degraded' ? failMode.reason : undefined;
  if (failMode.action === 'proceed-degraded') {
    reasons.push(failMode.reason);
    if (failMode.routeDirect) mode = 'local';
  }
  const allow = (route: PolicyRoute): Decision => ({ action: 'allow', route, reasons, appSeen, ...(failOpen !== undefined ? { failOpen } : {}) });

  // 3. Surfaces the app catalog governs on its own.
  if (surfaceProvider === undefined && !mcpProtocol) {
    reasons.push(`${request.provider} is governed by the app catalog, not by virtual keys`);
    return allow({ mode: 'local', virtualKey: null, provider: null, model: request.model, candidates: [], windows: [] });
  }

  // 4. Sign-in and the virtual key.
  if (!input.signedIn) {
    // This decision cannot tell whether sign-in is set up here, and where it is not `login` only says so:
    // the message names what works on such a device too.
    return block(input, governanceError(401, 'virtual_key_required',
      'You are not signed in to Bifrost Edge, so this AI request has no virtual key. Sign in from the Bifrost Edge tray icon (or run `bifrost-edge login`) and try again. ' +
        'If sign-in is not set up on this device, Edge needs a virtual key instead: ask your admin for one and set gateway.virtualKey in the Bifrost Edge configuration ' +
        '(or the BIFROST_EDGE_VIRTUAL_KEY environment variable), or sign in with it through Edge Control with `bifrost-edge login --virtual-key`.'),
    'sign_in_required', [...reasons, 'not signed in'], appSeen);
  }
  if (!bundle) {
    reasons.push(mcpProtocol ? 'no policy bundle yet: MCP tools are not restricted' : 'no policy bundle yet: the gateway decides with the configured key');
    return allow({ mode, virtualKey: null, provider: surfaceProvider ?? null, model: request.model, candidates: [], windows: [] });
  }
  const selection = selectActiveKey(bundle, now);
  switch (selection.kind) {
    case 'none':
      return block(input, governanceError(401, 'virtual_key_required',
        'Your AI policy gives you no Bifrost virtual key, so Bifrost Edge cannot send this request. Ask your admin to issue you a virtual key; it reaches this device with the next policy update.'),
      'blocked', [...reasons, 'the bundle has no virtual key'], appSeen);
    case 'named-missing':
      return block(input, governanceError(401, 'virtual_key_not_found',
        `Your AI policy selects a virtual key (id ${selection.id}) that it does not contain, so Bifrost Edge cannot send this request. Ask your admin to fix your policy's active key.`),
      'blocked', [...reasons, `active key ${selection.id} missing from the bundle`], appSeen);
    case 'inactive':
      return block(input, governanceError(403, 'virtual_key_blocked',
        `Your virtual key '${keyLabel(selection.key)}' is switched off (inactive), so your AI requests are refused. Ask your admin to re-activate it or to issue you another key.`),
      'blocked', [...reasons, `key ${selection.key.id} inactive`], appSeen);
    case 'expired':
      return block(input, governanceError(403, 'virtual_key_blocked',
        `Your virtual key '${keyLabel(selection.key)}' expired on ${selection.expiredAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}, so your AI requests are refused. Ask your admin to extend it or to issue you a new key.`),
      'blocked', [...reasons, `key ${selection.key.id} expired`], appSeen);
    case 'usable':
      break;
  }
  const key = selection.key;
  const label = keyLabel(key);
  if (mode !== 'local' && key.value === undefined) {
    return block(input, governanceError(401, 'virtual_key_required',
      `Your virtual key '${label}' reached this device without its secret, so Bifrost Edge cannot attach it. Sign out of Bifrost Edge and sign in again to refresh your policy; if that does not help, tell your admin.`),
    'blocked', [...reasons, `key ${key.id} has no value in the bundle`], appSeen);
  }

  // 6, for MCP protocol traffic (the `undefined` test only narrows: other app-governed surfaces left at step 3).
  if (mcpProtocol || surfaceProvider === undefined) {
    const refusal = checkMcpTools(request, key);
    if (refusal) {
      return block(input, governanceError(403, 'mcp_tool_blocked', mcpMessage(label, refusal)), 'blocked', [...reasons, `MCP tool ${refusal.ref.name} not allowed`], appSeen);
    }
    // The key decided the call, but nothing is sent to Bifrost or charged to it.
    return allow({ mode: 'local', virtualKey: null, provider: null, model: null, candidates: [], windows: [] });
  }

  // 5. Provider and model.
  const issuedAtMs = Date.parse(bundle.issued_at);
  const nowMs = now.getTime();
  const spentCache = new Map<string, boolean>();
  const isSpent = (provider: string) => {
    if (!spentCache.has(provider)) {
      const windows = limitWindows(key, provider, issuedAtMs).windows.filter((w) => w.provider === provider);
      spentCache.set(provider, providerConfigSpent(windows, provider, input.counters, nowMs));
    }
    return spentCache.get(provider)!;
  };
  const target = resolveTarget({ key, surfaceProvider, model: request.model, mode, isSpent });
  if (target.loadBalanced) reasons.push(`bare model ${target.model} may be load-balanced across ${target.candidates.join(', ')}; checked as ${target.provider}`);
  const { provider } = target;
  // A name a provider that folds case cannot be trusted to fold like the key's lists (model-name-key.ts) is refused
  // before a list is read, wherever it came from (a body's model, a query's, a live session's), and whichever config the
  // gateway may pick for it, spent on this device or not (the gateway keeps its own counters).
  const named = target.model;
  const unjudged = named === null ? undefined : [provider, ...target.mayServe].find((p) => !isJudgeableModelName(p, named));
  if (named !== null && unjudged !== undefined) {
    const balancedOnto = unjudged !== surfaceProvider && target.mayServe.includes(unjudged) ? surfaceProvider : undefined;
    return block(input, governanceError(400, 'invalid_request', unjudgeableNameMessage(unjudged, named, balancedOnto), unjudged),
      'blocked', [...reasons, `model name ${JSON.stringify(named)} has non-ASCII or control characters; ${unjudged} matches names in any case`], appSeen);
  }
  if (!isProviderAllowed(key, provider)) {
    const others = allowedProviders(key);
    const message = others.length === 0
      ? `Your key '${label}' does not allow any provider, so this ${provider} request was refused. Ask your admin to add the providers you need to your key.`
      : `Your key '${label}' does not allow ${provider}; allowed providers: ${others.join(', ')}. Ask your admin, or use an allowed provider.`;
    return block(input, governanceError(403, 'provider_blocked', message, provider), 'blocked', [...reasons, `provider ${provider} not in the key's provider_configs`], appSeen);
  }
  if (target.model !== null) {
    // The model a live session's server says it runs is held to its own rule: a release its alias allows (model-access.ts).
    const verdict = modelVerdictFor(request.operation, key, provider, target.model);
    if (verdict !== 'allowed') {
      return block(input, governanceError(403, 'model_blocked', modelBlockedMessage(key, label, provider, target.model, verdict), provider),
        'blocked', [...reasons, `model ${target.model} ${verdict === 'blacklisted' ? 'blacklisted' : 'not allowed'} on ${provider}`], appSeen);
    }
  }

  // 6. MCP tools.
  const refusal = checkMcpTools(request, key);
  if (refusal) {
    return block(input, governanceError(403, 'mcp_tool_blocked', mcpMessage(label, refusal), provider), 'blocked',
      [...reasons, `MCP tool ${refusal.ref.name} not allowed`], appSeen);
  }

  // 7. Rate limits, then budgets.
  const windows = limitWindows(key, provider, issuedAtMs).windows;
  // A model a live session's server, or its client within the session, names is no request of its own: its opening
  // already passed the limits (and may have used the key's last request), and the session's usage is held to its
  // windows as it is charged (usedUp). It is checked for access only (above: exact names for the client's, releases of a
  // listed alias for the server's), and its route leaves out the request windows, so it counts nothing whoever decides
  // it; the token and spend windows stay, the session's usage is charged to them.
  const sessionNamer = sessionModelNamer(request.operation);
  if (sessionNamer !== undefined) {
    reasons.push(`model ${target.model ?? '(none)'} named ${sessionNamer}: checked for access only`);
    const charged = windows.filter((w) => w.metric !== 'requests');
    return allow({ mode, virtualKey: routeKey(key), provider, model: target.model, candidates: target.candidates, windows: charged });
  }
  const checked = readsBackStoredWork(request) ? windows.filter((w) => w.metric === 'requests') : windows;
  const rate = checkRateLimits(checked, input.counters, nowMs);
  if (rate) return block(input, governanceError(429, rate.type, limitMessage(label, rate, nowMs), provider), 'blocked', [...reasons, describeViolation(rate)], appSeen);
  const budget = checkBudgets(checked, input.counters, nowMs);
  if (budget) return block(input, governanceError(402, budget.type, limitMessage(label, budget, nowMs), provider), 'blocked', [...reasons, describeViolation(budget)], appSeen);

  return allow({ mode, virtualKey: routeKey(key), provider, model: target.model, candidates: target.candidates, windows });

  function governanceError(status: number, type: string, message: string, errorProvider = surfaceProvider): EdgeError {
    return edgeError(status, type, message, {
      ...(errorProvider !== undefined ? { provider: errorProvider } : {}),
      ...(request.model !== null ? { model: request.model } : {}),
    });
  }
}

/** Who named the model of a request that is a live session's model rather than a request of its own; undefined for any other request. */
function sessionModelNamer(operation: string): string | undefined {
  if (isServedModelOperation(operation)) return 'by the session\'s server';
  if (operation === SESSION_MODEL_OPERATION) return 'in the session by its client';
  return undefined;
}

function routeKey(key: VirtualKey): RouteKey {
  return { id: key.id, name: key.name, ...(key.value !== undefined ? { value: key.value } : {}) };
}

/**
 * Operations whose uninspected requests read back what a generation stored, or cancel or delete it: a Response
 * (`GET /responses/{id}`, its cancel), an Assistants thread, run or message, a conversation's items, a stored chat
 * completion. They cost nothing (the answer was billed, and charged, when it was made), so a key whose tokens or
 * budget are used up may still fetch an answer it already paid for, a background response's above all (its usage
 * is charged when it is fetched back). Request limits still apply: every allowed request counts against them,
 * fetches included. Other uninspected routes are not among them: creating a batch or a fine-tuning job costs.
 */
const STORED_WORK_OPERATIONS: ReadonlySet<string> = new Set(['responses', 'threads', 'conversations', 'chat.completions']);

function readsBackStoredWork(request: NormalizedRequest): boolean {
  return !generatesAnswer(request) && STORED_WORK_OPERATIONS.has(request.operation);
}

/**
 * Whether the key's token or spend windows on a route are used up, from the counters given: what step 7 of
 * decideRequest says of those windows (token limits, then budgets), leaving out the request-count windows, so a
 * request limit reached neither hides a spent budget nor reads as one. For a session already open whose server
 * uses the key's tokens without a request Edge decides (websocket-session-usage.ts). Pure, as decideRequest is.
 */
export function usedUpRefusal(input: {
  label: string; provider: string | null; model: string | null; windows: readonly LimitWindow[]; counters: CounterSnapshot; nowMs: number;
}): EdgeError | undefined {
  const { windows, counters, nowMs } = input;
  const violation = checkRateLimits(windows.filter((w) => w.metric === 'tokens'), counters, nowMs) ?? checkBudgets(windows, counters, nowMs);
  if (!violation) return undefined;
  return edgeError(violation.type === 'budget_exceeded' ? 402 : 429, violation.type, limitMessage(input.label, violation, nowMs), {
    ...(input.provider !== null ? { provider: input.provider } : {}),
    ...(input.model !== null ? { model: input.model } : {}),
  });
}

function block(input: DecisionInput, error: EdgeError, kind: NoticeKind, reasons: string[], appSeen: boolean): Decision {
  const { request, app } = input;
  const provider = error.provider ?? request.provider;
  const notice: NoticeDraft = {
    kind,
    who: { app: app.name },
    what: { provider, host: app.host, ...(request.model !== null ? { model: request.model } : {}) },
    why: { message: error.message, errorType: error.type },
  };
  return { action: 'block', error, notice, reasons, appSeen };
}

function modelBlockedMessage(key: VirtualKey, label: string, provider: string, model: string, verdict: 'blacklisted' | 'not_allowed'): string {
  const allowed = allowedModelsOn(key, provider);
  const advice = 'Ask your admin, or pick an allowed model.';
  if (allowed.any) {
    const except = allowed.except.length > 0 ? ` except ${allowed.except.join(', ')}` : '';
    return `Your key '${label}' blocks ${model} on ${provider}; allowed: any ${provider} model${except}. ${advice}`;
  }
  if (allowed.models.length === 0) return `Your key '${label}' does not allow ${model} on ${provider}; it allows no ${provider} models at all. Ask your admin for access, or use another provider your key allows.`;
  const verb = verdict === 'blacklisted' ? 'blocks' : 'does not allow';
  return `Your key '${label}' ${verb} ${model} on ${provider}; allowed: ${allowed.models.join(', ')}. ${advice}`;
}

/**
 * Why a name outside plain ASCII was refused. `surfaceProvider` is set when the app called another provider's surface and
 * the gateway may route the bare model to `provider` by load balancing: the app may not know it can land there, and
 * pinning the model to the surface's provider keeps it off that provider.
 */
function unjudgeableNameMessage(provider: string, model: string, surfaceProvider?: string): string {
  const opening = `The model name ${JSON.stringify(model)} has a character outside plain ASCII (or a control character).`;
  const cannotTell = `Bifrost Edge cannot tell which model ${provider} would read this name as, so it was not sent.`;
  if (surfaceProvider !== undefined) {
    return `${opening} The gateway may route this bare model to ${provider}, which matches its model names in any letter case, and ${cannotTell} ` +
      `Name the model in plain ASCII, or send it as ${JSON.stringify(`${surfaceProvider}/${model}`)} to keep it on ${surfaceProvider}.`;
  }
  return `${opening} ${provider} matches its model names in any letter case, and ${cannotTell} Use the model's name as ${provider} lists it, in plain ASCII.`;
}

function mcpMessage(label: string, refusal: McpRefusal): string {
  const { ref, allowedTools } = refusal;
  if (allowedTools === undefined) {
    return `Your key '${label}' does not enable the MCP server '${ref.client}', so its tool '${ref.tool}' was not run. Ask your admin to add '${ref.client}' to your key.`;
  }
  const list = allowedTools.length === 0 ? 'none' : allowedTools.join(', ');
  return `Your key '${label}' does not allow the MCP tool '${ref.tool}' of '${ref.client}'; allowed tools there: ${list}. Ask your admin, or use an allowed tool.`;
}

function limitMessage(label: string, violation: LimitViolation, nowMs: number): string {
  const parts = violation.windows.map(({ window, usage }) => {
    const where = window.provider !== undefined ? ` on ${window.provider}` : '';
    const estimated = window.metric === 'spend' ? ', as estimated on this device' : '';
    const inFlight = usage.inFlight !== undefined ? `, ${describeAmount(window, usage.inFlight)} of it held by requests still being answered` : '';
    return `${describeLimit(window)}${where} (${describeUsed(window, usage.used)}${estimated}${inFlight})`;
  });
  const resets = violation.windows
    .map(({ usage }) => usage.resetsAtMs)
    .filter((t): t is number => t !== undefined);
  const when = resets.length > 0 ? `; it resets in ${formatSpan(Math.max(...resets) - nowMs)}` : '';
  if (violation.type === 'budget_exceeded') {
    return `Your key '${label}' has used up its ${parts.join(' and ')}${when}. Ask your admin for more budget, or wait for the reset.`;
  }
  return `Your key '${label}' reached its limit of ${parts.join(' and ')}${when}. Wait for the reset, or ask your admin for a higher limit.`;
}

function describeViolation(violation: LimitViolation): string {
  return `${violation.type}: ${violation.windows.map(({ window, usage }) => `${window.counterKey} ${usage.used}/${window.max}`).join(', ')}`;
}
