import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Mode } from '../config/schema.js';
import { Readable, type Transform } from 'node:stream';
import { edgeError, type EdgeError } from '../edge-error.js';
import { malformedFormError } from '../providers/form-request-body.js';
import type { Logger } from '../log.js';
import type { HttpRequestInfo, NormalizedRequest } from '../providers/types.js';
import { planUpstream, type Attribution, type UpstreamPlan, type UpstreamSettings } from '../gateway/upstream-plan.js';
import type { UpstreamClient } from '../gateway/upstream-client.js';
import { appFromUserAgent } from './app-attribution.js';
import { createAnswerTextReader } from './answer-text.js';
import { canDecodeAlongside, decodableAcceptEncoding, decodeOnceFor, type DecodedBodyReader } from '../util/side-decoder.js';
import { acceptsStreamOptions, createUsageEventStripper, withStreamUsageRequested } from './stream-usage.js';
import { hostOfHostHeader, parseConnectTarget, type HostPort } from './connect-target.js';
import type { Exchange, ExchangeRecord, UsageNote } from './exchange.js';
import { decodeForInspection, readRequestBody, RequestBodyError } from './request-body.js';
import { DEFAULT_MAX_UPLOAD_BYTES, readFormUpload, spoolableFormBoundary, SpooledUpload, UPLOAD_PROGRESS_BYTES, UPLOAD_PROGRESS_MS, type UploadLimits } from './form-upload.js';
import { isJsonObject } from '../providers/body-shape.js';
import { mcpClientForHost } from '../providers/mcp.js';
import { createToolListFilter, toolListRequestIds } from '../mcp/tool-list-filter.js';
import type { ToolListCheckOptions, ToolListVerdict } from '../mcp/tool-list-guardrails.js';
import { ToolListVerdicts } from '../mcp/tool-list-verdicts.js';
import { McpHttpSessions, type McpHttpSession } from '../mcp/mcp-http-sessions.js';
import { calledTool } from '../providers/mcp-messages.js';
import type { AiSurface, RequestInspector, Resolution, SurfaceResolver } from './surface-resolution.js';
import { header } from '../util/header.js';
import { RequestScopedSlot } from '../util/request-scoped-slot.js';
import { conversationTexts } from '../providers/conversation-texts.js';

export interface RequestHandlerDeps {
  resolve: SurfaceResolver;
  upstream: UpstreamClient;
  /**
   * Read on every request so a policy or sign-in change applies without a restart. `maxUploadBytes` bounds a
   * multipart/form-data upload (default DEFAULT_MAX_UPLOAD_BYTES), spooled to `uploadSpoolDir` while Edge decides
   * on it (a directory this Edge alone uses; spool files a killed Edge left are removed when it starts); `requestBodyIdleTimeoutMs` (default
   * REQUEST_BODY_IDLE_TIMEOUT_MS) is how long a request body, JSON or upload, may stop arriving before it is refused.
   */
  settings: () => UpstreamSettings & { maxRequestBodyBytes: number; maxUploadBytes?: number; maxUploadSpoolBytes?: number; uploadSpoolDir: string; requestBodyIdleTimeoutMs?: number };
  identity: () => Omit<Attribution, 'app'>;
  inspectors: () => RequestInspector[];
  /** The route policy chose for an allowed request (mode and the virtual key to send). */
  routeFor?: (request: NormalizedRequest) => { mode: Mode; virtualKey?: string } | undefined;
  /**
   * Told once per exchange of an inspected request when it is over, however it ended (answered,
   * refused by a later step, failed, abandoned): policy gives back what the request held meanwhile.
   */
  settle?: (request: NormalizedRequest) => void;
  /**
   * Announces an inspected request before the decision steps run, and returns how to say later that it
   * was sent (policy counts it against the key's request limit only then, as the gateway counts it).
   */
  follow?: (request: NormalizedRequest) => FollowedRequest;
  /**
   * Watches a response to charge its token usage (rate limits, budgets). `onCharge` gets what was charged:
   * the usage the response reported, or Edge's estimate when it reported none (a stream stopped early).
   * It is fed the decoded body when Edge can decode the answer (its head then names no Content-Encoding).
   * `onAnsweredModel` gets the model the answer names, if it names one (an Assistants run started on its assistant's
   * model, a stored prompt's): the record of a request that named none shows it.
   */
  meterResponse?: (
    request: NormalizedRequest,
    response: Pick<IncomingMessage, 'headers' | 'statusCode'>,
    onCharge: (charge: UsageNote, source: 'reported' | 'estimated') => void,
    onAnsweredModel?: (model: string) => void,
  ) => { push(chunk: Buffer): void; end(): void; readonly finished: Promise<void> } | undefined;
  /** Scans streamed answers for secrets and PII when the guardrail policy asks (flag only). */
  responseScanner?: () => { push(text: string): ResponseFinding[]; end(): ResponseFinding[] } | undefined;
  /**
   * Of the tools a remote MCP server lists, those the user may run (the key's MCP tool rules for
   * `client`, the server's host); its `tools/list` answers are filtered to them.
   */
  visibleMcpTools?: (client: string, tools: string[]) => string[];
  /**
   * The guardrails' verdict on the tools a remote MCP server's `tools/list` answer shows (after visibleMcpTools),
   * `positions` their places in the server's list.
   */
  checkMcpToolList?: (tools: unknown[], server: string, positions: number[], options?: ToolListCheckOptions) => ToolListVerdict;
  /** Told whether the gateway answered, so fail mode and recovery probing know. */
  onGatewayResult?: (reachable: boolean) => void;
  /** Told when the gateway took too long to answer: a slow model or a hung gateway (a health probe tells). */
  onGatewayTimeout?: () => void;
  /**
   * The program behind a client connection, where the OS tells (looked up once per connection).
   * The lookup scans /proc (tens of ms), so it runs only while `needsProcess` says a rule uses it.
   */
  processOf?: (clientPort: number, proxyPort: number) => Promise<string | undefined>;
  needsProcess?: () => boolean;
  /** Requests addressed to the proxy itself (PAC file, health). */
  serveLocal: (exchange: Exchange) => void;
  /**
   * Receives every finished exchange (audit, metrics); the answer waits for the returned promise, and
   * is cut off instead of completed when it rejects (the record could not be written, failing closed).
   */
  onRecord?: (record: ExchangeRecord) => void | Promise<void>;
  /**
   * Told of a record still to come after its exchange closed (a cut-off answer's record waits for the
   * readers beside the relay), so a shutdown waits for it too.
   */
  trackPendingRecord?: (pending: Promise<unknown>) => void;
  log: Logger;
}

interface ResponseFinding {
  type: string;
  ruleId: string;
}

/**
 * What the proxy tells policy about a request after its decision (see `follow`): a request Edge refuses
 * after the decision (a guardrail finds a secret) never reaches the gateway and does not use the limit
 * up. The exchange's end is `settle`. Requests nobody follows (WebSocket openings) count when decided.
 */
export interface FollowedRequest {
  /** Edge hands the request to the gateway or provider now. */
  sent(): void;
  /**
   * The client left after the request was sent, before any answer began: the provider still read the
   * prompt (and bills it), though no answer will report usage. Returns what it was charged instead, if anything.
   */
  abandoned(): UsageNote | undefined;
}

interface Target extends HostPort {
  path: string;
  /** Whether the upstream is reached over TLS: as the client reached Edge in a tunnel, else the URL's scheme. */
  tls: boolean;
}

/**
 * The per-request pipeline: check the target, recognise the AI surface, read and inspect the
 * body when the route carries a prompt, then forward to the gateway or origin and stream back.
 */
export function createRequestHandler(deps: RequestHandlerDeps): (exchange: Exchange) => void {
  const mcpSessions = new McpHttpSessions();
  return (exchange) => {
    handle(deps, exchange, mcpSessions).catch(async (err: unknown) => {
      deps.log.error('request handler failed', { id: exchange.id, error: (err as Error).stack ?? String(err) });
      // The exchange still ends in the audit trail, and policy gets back what it held for it.
      await finishers.get(exchange)?.({ decision: 'failed', status: 500, errorType: 'internal_error', message: (err as Error).message });
      if (!exchange.res.headersSent) sendPlain(exchange.res, 500, `Bifrost Edge hit an internal error handling this request (${(err as Error).message}). It has been logged.`);
      else exchange.res.destroy();
    });
  };
}

/**
 * Each exchange's `done`, so a failure thrown out of `handle` can still finish it. A slot on the
 * exchange, not a WeakMap: `done` holds the whole exchange, which a WeakMap would carry into the old
 * generation (see request-scoped-slot.ts).
 */
const finishers = new RequestScopedSlot<Exchange, (patch: Partial<ExchangeRecord>) => Promise<boolean>>('exchange finisher');

async function handle(deps: RequestHandlerDeps, exchange: Exchange, mcpSessions: McpHttpSessions): Promise<void> {
  const { req, res } = exchange;
  if (!exchange.tls && !exchange.connectTarget && (req.url ?? '').startsWith('/')) {
    deps.serveLocal(exchange);
    return;
  }
  const record: ExchangeRecord = { id: exchange.id, method: req.method ?? 'GET', host: '', path: '', decision: 'forwarded', findings: [], latencyMs: 0 };
  let recorded = false;
  /** The request as its provider adapter read it, once read (policy decided this object). */
  let normalized: NormalizedRequest | null = null;
  /** Finishes the record; false when it could not be written and the answer must not be completed. */
  const done = Object.assign(async (patch: Partial<ExchangeRecord>): Promise<boolean> => {
    if (recorded) return true;
    recorded = true;
    if (normalized) deps.settle?.(normalized);
    Object.assign(record, patch, { latencyMs: Date.now() - exchange.startedAt });
    try {
      await deps.onRecord?.(record);
      return true;
    } catch (err) {
      deps.log.error('could not record the exchange', { id: record.id, error: (err as Error).message });
      return false;
    }
  }, {
    record,
    /** Adds facts learnt while the answer streams (token usage) without finishing the record. */
    note: (patch: Partial<ExchangeRecord>) => {
      if (!recorded) Object.assign(record, patch);
    },
  });
  finishers.set(exchange, done);

  const target = resolveTarget(exchange);
  if ('error' in target) {
    await done({ decision: 'blocked', status: target.status, errorType: 'invalid_target' });
    sendPlain(res, target.status, target.error);
    return;
  }
  record.host = target.host;
  record.path = target.path;
  const app = appFromUserAgent(header(req.headers['user-agent']));
  record.app = app;
  const info: HttpRequestInfo = { method: record.method, host: target.host, path: target.path, headers: req.headers };
  const resolution = deps.resolve(info);
  const settings = deps.settings();
  const upstreamTarget = { host: target.host, port: target.port, tls: target.tls, path: target.path, headers: req.headers };
  const attribution: Attribution = { ...deps.identity(), app };

  if (resolution.kind === 'not-ai') {
    forward(deps, exchange, planUpstream({ ...settings, mode: 'local' }, upstreamTarget, null, attribution), req, undefined, false, done);
    return;
  }
  const surface = resolution.surface;
  record.provider = surface.provider;
  const processName = await connectionProcess(deps, exchange);
  if (processName) info.process = processName;
  /** `requestBody`: the parsed body once read, for formats whose errors answer the request (JSON-RPC ids). */
  const block = async (error: EdgeError, stream = false, requestBody?: unknown): Promise<void> => {
    await done({ decision: 'blocked', status: error.status, errorType: error.type, message: error.message, via: 'edge' });
    sendError(res, surface, error, stream && acceptsEventStream(req.headers.accept), requestBody);
  };

  const hostMismatch = checkHostHeader(exchange, target);
  if (hostMismatch) return block(hostMismatch);

  if (resolution.kind === 'unrecognized') {
    if (!resolution.passThrough) return block(resolution.error);
    forward(deps, exchange, planUpstream({ ...settings, mode: 'local' }, upstreamTarget, null, attribution), req, surface, false, done);
    return;
  }

  let outcome: ExchangeRecord['decision'] = 'forwarded';
  /** What policy is told about this request after its decision (see FollowedRequest). */
  let followed: FollowedRequest = NOT_FOLLOWED;
  let body: Buffer | Readable = req;
  let parsedBody: unknown;
  let encodeBody = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
  let bodyRewritten = false;
  // Uninspected routes (model lists, uploads) keep streaming their body, but policy (app catalog,
  // provider, route and key) still decides them, on what their path says, and on the model a JSON
  // POST names (images, audio speech, batches, assistants): without it the key's model rules would not
  // apply, and any model would be allowed.
  let decoded: Buffer | undefined;
  let modelInBody: string | undefined;
  /** A large form upload held on disk: its form without the files' content is what is inspected (form-upload.ts). */
  let spooled: SpooledUpload | undefined;
  if (resolution.inspected || namesModelInJson(req)) {
    try {
      const boundary = resolution.inspected ? spoolableFormBoundary(req.headers) : undefined;
      const raw = boundary === undefined
        ? await readRequestBody(req, settings.maxRequestBodyBytes, settings.requestBodyIdleTimeoutMs)
        : await readFormUpload(req, boundary, { ...uploadLimits(settings, deps.log, exchange.id), onFramingBroken: (skeleton, problem) => brokenFormRefusal(resolution, skeleton, problem) });
      if (raw instanceof SpooledUpload) {
        spooled = raw;
        disposeWhenClosed(res, raw);
        decoded = raw.skeleton;
      } else {
        body = raw;
        if (resolution.inspected) decoded = decodeForInspection(raw, header(req.headers['content-encoding']), settings.maxRequestBodyBytes);
        else modelInBody = modelNamedIn(raw, header(req.headers['content-encoding']), settings.maxRequestBodyBytes);
      }
    } catch (err) {
      // A client that stopped sending may never send the rest: the connection is closed after the answer.
      if (err instanceof RequestBodyError && err.edge.type === 'request_timeout') res.setHeader('connection', 'close');
      // A refusal for now only (the upload spool budget is full): the client is told when to send it again.
      if (err instanceof RequestBodyError && err.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(err.retryAfterSeconds));
      if (err instanceof RequestBodyError) return block({ ...err.edge, provider: surface.provider });
      throw err;
    }
  }
  {
    let parsed = resolution.parse(decoded);
    if (spooled !== undefined && parsed.ok && parsed.body === undefined) {
      // The route did not read it as a form (an MCP host's other traffic): judged on the whole body, as before.
      try {
        // As received: a compressed upload is decoded to be judged, and forwarded as it came.
        const coding = spooled.contentCoding;
        body = await spooled.whole(settings.maxRequestBodyBytes);
        decoded = coding === undefined ? body : decodeForInspection(body, coding, settings.maxRequestBodyBytes);
      } catch (err) {
        if (err instanceof RequestBodyError) return block({ ...err.edge, provider: surface.provider });
        throw err;
      }
      spooled = undefined;
      parsed = resolution.parse(decoded);
    }
    if (!parsed.ok) return block({ ...parsed.error, provider: parsed.error.provider ?? surface.provider });
    parsedBody = parsed.body;
    if (parsed.encode) encodeBody = parsed.encode;
    normalized = parsed.request.model === null && modelInBody !== undefined ? { ...parsed.request, model: modelInBody } : parsed.request;
    // Usually the surface's provider; a protocol carried on a host (MCP on a custom host) names its own.
    record.provider = normalized.provider;
    record.model = normalized.model;
    if (resolution.inspected) record.prompt = conversationTexts(normalized.texts).join('\n');

    followed = deps.follow?.(normalized) ?? NOT_FOLLOWED;
    const droppedCall = droppedToolCall(deps, mcpSessions, normalized, parsedBody, req, target.host);
    if (droppedCall) return block(droppedCall, normalized.stream, parsedBody);
    let flagged = false;
    for (const inspect of deps.inspectors()) {
      const verdict = await inspect({ request: normalized, body: parsedBody, info, app });
      if (verdict.notes?.findings) record.findings.push(...verdict.notes.findings);
      flagged ||= verdict.notes?.flagged === true;
      if (verdict.action === 'block') return block(verdict.error, normalized.stream, parsedBody);
      if (verdict.action === 'rewrite') {
        parsedBody = verdict.body;
        bodyRewritten = true;
      }
    }
    outcome = bodyRewritten ? 'redacted' : flagged ? 'flagged' : 'forwarded';
  }

  const route = normalized ? deps.routeFor?.(normalized) : undefined;
  const mode = route?.mode ?? settings.mode;
  const virtualKey = route?.virtualKey ?? settings.virtualKey;
  const mapping = mode === 'local' ? null : resolution.bifrostRoute(normalized, mode);
  const plan = planUpstream({ ...settings, mode, ...(virtualKey ? { virtualKey } : {}) }, upstreamTarget, mapping, attribution);
  if (plan.via !== 'origin' && !virtualKey) {
    return block(edgeError(401, 'virtual_key_required',
      'You are not signed in to Bifrost Edge, so this AI request has no virtual key. Sign in from the Bifrost Edge tray icon (or run `bifrost-edge login`) and try again.', { provider: surface.provider, ...(normalized?.model ? { model: normalized.model } : {}) }), normalized?.stream, parsedBody);
  }
  if (plan.rewriteModel !== undefined && parsedBody && typeof parsedBody === 'object') {
    parsedBody = { ...(parsedBody as Record<string, unknown>), model: plan.rewriteModel };
    bodyRewritten = true;
  }
  // A stream charged to a key's local limits must report its usage (see stream-usage.ts).
  const usageRequested = normalized && route?.virtualKey && acceptsStreamOptions(normalized.provider, plan.via, target.path) ? withStreamUsageRequested(normalized, parsedBody) : undefined;
  if (usageRequested) {
    parsedBody = usageRequested;
    bodyRewritten = true;
  }
  if (spooled?.removed === true) {
    // The client left while Edge decided (its response closed, which removed the spool): nothing is sent.
    await done({ decision: outcome, errorType: 'client_aborted' });
    return;
  }
  // Untouched requests go out byte for byte (original encoding); changed ones are re-serialised.
  if (spooled !== undefined) {
    // A spooled upload goes out from its file: as received, or with the changed text around the same files.
    const out = bodyRewritten ? spooled.rebuilt(encodeBody(parsedBody)) : spooled.original();
    // Sized when the client sized it; else the upstream client sends it chunked, as it came.
    if (plan.headers['content-length'] !== undefined) plan.headers['content-length'] = String(out.length);
    body = out.body;
  } else if (bodyRewritten) {
    body = encodeBody(parsedBody);
  }
  // The answer is read beside the relay (usage, guardrails): the server may only pick a coding Edge decodes.
  const acceptEncoding = plan.headers['accept-encoding'];
  if (normalized && typeof acceptEncoding === 'string') plan.headers['accept-encoding'] = decodableAcceptEncoding(acceptEncoding);
  const listVerdicts = new ToolListVerdicts();
  const listFilter = toolListFilter(deps, normalized, parsedBody, target.host, settings.maxRequestBodyBytes, listVerdicts, mcpSessions, req);
  // A tool list is checked as plain text, so ask for one (a JSON answer compressed anyway is still decoded).
  if (listFilter?.listsExpected === true) plan.headers['accept-encoding'] = 'identity';
  const usageStripper = usageRequested ? (response: IncomingMessage) => createUsageEventStripper(response.headers, settings.maxRequestBodyBytes) : undefined;
  // Nothing refuses it from here on: it counts against the key's request limit now.
  followed.sent();
  forward(deps, exchange, plan, body, surface, bodyRewritten, done, normalized, outcome, listFilter ?? usageStripper, followed, listFilter ? listVerdicts : undefined);
}

const NOT_FOLLOWED: FollowedRequest = { sent: () => {}, abandoned: () => undefined };

function uploadLimits(settings: ReturnType<RequestHandlerDeps['settings']>, log: Logger, exchangeId: string): UploadLimits {
  return {
    maxTextBytes: settings.maxRequestBodyBytes,
    // An upload Edge would read whole in memory is never refused for being an upload.
    maxUploadBytes: Math.max(settings.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, settings.maxRequestBodyBytes),
    spoolDir: settings.uploadSpoolDir,
    ...(settings.requestBodyIdleTimeoutMs !== undefined ? { idleTimeoutMs: settings.requestBodyIdleTimeoutMs } : {}),
    ...(settings.maxUploadSpoolBytes !== undefined ? { maxSpoolBytes: settings.maxUploadSpoolBytes } : {}),
    progress: { everyBytes: UPLOAD_PROGRESS_BYTES, everyMs: UPLOAD_PROGRESS_MS, report: (progress) => log.debug('upload still arriving', { id: exchangeId, ...progress }) },
    onSpoolLeftBehind: (file, err) => log.warn('could not remove a spooled upload; Bifrost Edge removes it when it next starts', { file, error: err.message }),
  };
}

/**
 * What a spooled upload whose form framing broke is refused with at once, as its route reads the form up to the break
 * (the form reader stops at its first problem, so the rest could not change it): a route reading it as a form refuses
 * it in its own words. Undefined for a route that does not read it (an MCP host's other traffic): such a body is no
 * form to refuse, and is judged whole once it has all arrived, as a smaller one held in memory is.
 */
function brokenFormRefusal(resolution: Extract<Resolution, { kind: 'recognized' }>, skeleton: Buffer, problem: string): EdgeError | undefined {
  const parsed = resolution.parse(skeleton);
  if (!parsed.ok) return parsed.error;
  if (parsed.body === undefined) return undefined;
  // Read as something else than a form from a broken one (no route does): it must not go on to be judged on this part alone.
  return malformedFormError(problem);
}

/**
 * The spool lives as long as its exchange: the response closes however the exchange ends (answered, refused,
 * failed upstream, the client gone, Edge stopping and cutting it off).
 */
function disposeWhenClosed(res: ServerResponse, upload: SpooledUpload): void {
  if (res.closed) upload.dispose();
  else res.once('close', () => upload.dispose());
}

/**
 * The MCP session a request belongs to (mcp-http-sessions.ts): its Mcp-Session-Id at its server's endpoint (host and
 * path: one host may serve several MCP servers), or that endpoint when it has none.
 */
function mcpSessionOf(sessions: McpHttpSessions, req: IncomingMessage, host: string): McpHttpSession {
  return sessions.session(mcpEndpoint(req, host), header(req.headers['mcp-session-id']));
}

function mcpEndpoint(req: IncomingMessage, host: string): string {
  let path = req.url ?? '/';
  try {
    path = new URL(path, 'http://edge.invalid').pathname;
  } catch {
    // Kept as it came: still one key per distinct request target.
  }
  // As the request spelled it: McpHttpSessions folds the spellings one server routes alike (`/mcp/`, `/mc%70`, `/mcp;x`).
  return `${host}${path}`;
}

/**
 * The refusal of an MCP POST calling a tool the guardrails left out of its session's tool list (the client listed it
 * earlier, or guessed its name), or undefined.
 */
function droppedToolCall(
  deps: RequestHandlerDeps, sessions: McpHttpSessions, request: NormalizedRequest, body: unknown, req: IncomingMessage, host: string,
): EdgeError | undefined {
  if (request.adapter !== 'mcp' || !deps.checkMcpToolList) return undefined;
  const memory = mcpSessionOf(sessions, req, host).memory;
  for (const message of Array.isArray(body) ? body : [body]) {
    const tool = calledTool(message);
    const refusal = tool !== undefined ? memory.callRefusal(tool, host) : undefined;
    if (refusal !== undefined) return { ...refusal, provider: 'mcp' };
  }
  return undefined;
}

/**
 * For an MCP request whose answer may carry a tool list: a POST that lists tools, any POST while one of its session's
 * lists is unanswered (a server may answer it on any stream of the session), an event stream (a list is also
 * recognised there by its shape), a GET opening the server's own stream (where, after SSE polling or a resumption, a
 * list may arrive that no POST's stream carried). What filters the answer down to the tools the user may run, and
 * has the guardrails read what it shows of them (their verdicts go to `verdicts`).
 */
function toolListFilter(
  deps: RequestHandlerDeps, request: NormalizedRequest | null, body: unknown, host: string, maxJsonBytes: number, verdicts: ToolListVerdicts,
  sessions: McpHttpSessions, req: IncomingMessage,
): (((response: IncomingMessage) => Transform | undefined) & { listsExpected: boolean }) | undefined {
  const visible = deps.visibleMcpTools;
  if (request?.adapter !== 'mcp' || !visible) return undefined;
  if (request.operation === 'session.end') {
    sessions.end(mcpEndpoint(req, host), header(req.headers['mcp-session-id']));
    return undefined;
  }
  const session = mcpSessionOf(sessions, req, host);
  const listIds = toolListRequestIds(body);
  for (const id of listIds) session.lists.add(id, askedForPage(body, id));
  const client = mcpClientForHost(host);
  const check = deps.checkMcpToolList;
  // Whether a list is likely in the answer: this POST's, another of the session's still waiting, the server's stream.
  const listsExpected = session.lists.size > 0 || request.operation === 'listen';
  return Object.assign((response: IncomingMessage) => {
    const status = response.statusCode ?? 200;
    // Refused whole (4xx, 5xx): the server will answer none of this POST's lists.
    if (status < 200 || status > 299) for (const id of listIds) session.lists.answer(id);
    return createToolListFilter(response, {
      listIds,
      outstanding: session.lists,
      anyListResult: true,
      visible: (tools) => visible(client, tools),
      maxJsonBytes,
      request: body,
      server: host,
      onHidden: (hidden) => deps.log.debug('MCP tools hidden from a tool list', { client, hidden }),
      ...(check ? {
        check: (tools: unknown[], positions: number[], paged: boolean) => {
          const verdict = check(tools, host, positions, { paged });
          // The same list with the same verdict again (clients re-list often) adds no findings to the record.
          const changed = session.memory.noteVerdict(tools, verdict);
          verdicts.add(changed ? verdict : { ...verdict, findings: [] });
          return verdict;
        },
      } : {}),
    });
  }, { listsExpected });
}

/** Whether the `tools/list` request `id` of `body` named a cursor (asked for a later page). */
function askedForPage(body: unknown, id: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => isJsonObject(m) && m['id'] === id && m['method'] === 'tools/list' && isJsonObject(m['params']) && m['params']['cursor'] !== undefined);
}

function forward(
  deps: RequestHandlerDeps,
  exchange: Exchange,
  plan: UpstreamPlan,
  body: Buffer | Readable,
  surface: AiSurface | undefined,
  bodyRewritten: boolean,
  done: ((patch: Partial<ExchangeRecord>) => Promise<boolean>) & { record: ExchangeRecord; note(patch: Partial<ExchangeRecord>): void },
  normalized: NormalizedRequest | null = null,
  outcome: ExchangeRecord['decision'] = 'forwarded',
  transformBody?: (response: IncomingMessage) => Transform | undefined,
  followed: FollowedRequest = NOT_FOLLOWED,
  listVerdicts?: ToolListVerdicts,
): void {
  const { req, res } = exchange;
  const record = done.record;
  const responseFindings: ExchangeRecord['findings'] = [];
  // Readers of the answer beside the relay (meter, scanner); a compressed answer finishes decoding after it ended.
  const sideReads: Promise<void>[] = [];
  let answered = false;
  if (bodyRewritten) {
    // A re-serialised JSON body is plain again: drop the client's compression header.
    delete plan.headers['content-encoding'];
  }
  const hasBody = Buffer.isBuffer(body) || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  deps.upstream.forward(plan, req.method ?? 'GET', hasBody ? body : null, res, {
    ...(transformBody ? { transformBody } : {}),
    onResponse: (response) => {
      answered = true;
      if (plan.via !== 'origin') deps.onGatewayResult?.(true);
      // The readers beside the relay (meter, scanner) share one decoder: a compressed answer is inflated
      // once, however many read it. It is fed by an extra 'data' listener, which sees every chunk without
      // changing flow control.
      const encoding = header(response.headers['content-encoding']);
      const decodable = canDecodeAlongside(encoding);
      const readers: DecodedBodyReader[] = [];
      const meter = normalized
        ? deps.meterResponse?.(normalized, decodable ? decodedHead(response) : response, (charge, source) => done.note(source === 'reported'
          ? { usage: charge.usage, costUsd: charge.costUsd }
          : { estimatedUsage: { ...charge.usage, costUsd: charge.costUsd } }), (model) => {
          if (normalized!.model === null) done.note({ model });
        })
        : undefined;
      if (meter) {
        // An encoding Node cannot decode (zstd on Node 20): the meter is given the answer as it is, and
        // charges what it charges for an answer it cannot read.
        if (decodable) readers.push(meter);
        else readAlongside(response, meter);
        sideReads.push(meter.finished);
      }
      const scanner = normalized ? deps.responseScanner?.() : undefined;
      const answer = scanner ? createAnswerTextReader(response.headers['content-type'], deps.settings().maxRequestBodyBytes) : undefined;
      // An answer in an encoding Node cannot decode goes unscanned, as an unreadable one would.
      if (scanner && answer && decodable) {
        const requestFindings = [...record.findings];
        const note = (found: ResponseFinding[]) => {
          if (found.length === 0) return;
          responseFindings.push(...found.map((f) => ({ type: f.type, ruleId: f.ruleId, action: 'flag' as const, location: 'response' })));
          done.note({ findings: [...requestFindings, ...responseFindings] });
        };
        readers.push({
          push: (chunk) => note(scanner.push(answer.push(chunk))),
          end: () => note(scanner.push(answer.end()).concat(scanner.end())),
        });
      }
      const decoder = readers.length > 0 ? decodeOnceFor(encoding, readers) : undefined;
      if (decoder) {
        readAlongside(response, decoder);
        sideReads.push(decoder.finished);
      }
    },
    onFailure: (error) => {
      const withProvider = { ...error, ...(surface ? { provider: surface.provider } : {}) };
      void done({ via: plan.via, decision: 'failed', status: error.status, errorType: error.type, message: error.message }).then(() => {
        if (surface) sendError(res, surface, withProvider, (normalized?.stream ?? false) && acceptsEventStream(req.headers.accept));
        else sendPlain(res, error.status, error.message);
      });
    },
    beforeEnd: async (status) => {
      // The record is written once the side readers are done, so their findings and usage are in it.
      await Promise.all(sideReads);
      // Response findings only ever flag: the answer has already streamed to the client.
      const decision = outcome === 'forwarded' && responseFindings.length > 0 ? 'flagged' : outcome;
      const written = await done({
        via: plan.via,
        decision,
        ...(status !== undefined ? { status } : {}),
        ...listedPatch(listVerdicts, record, decision),
      });
      if (!written) throw new Error('the exchange could not be recorded');
    },
    onDone: (result) => {
      if (plan.via !== 'origin' && result.error?.type === 'upstream_unreachable') deps.onGatewayResult?.(false);
      if (plan.via !== 'origin' && result.error?.type === 'upstream_timeout') deps.onGatewayTimeout?.();
      // Told before the exchange settles: an answer would have reported the usage the prompt cost. A
      // request the client gave up on before it was all sent (still connecting, still uploading) cost nothing.
      const estimate = result.aborted && !answered && result.requestSent === true ? followed.abandoned() : undefined;
      // Failures and completions were recorded already; this catches exchanges the client abandoned.
      // The status the client got: the upstream's when its answer had begun (an answer cut off after its
      // head, e.g. by the body idle timeout, was a 200 to the client), else Edge's error status.
      // An answer cut off by the client is still being read beside the relay (its stream ends when the
      // upstream socket closes, a moment later): the record waits for that, so it holds what was charged.
      const recorded = sideReadsSettled(sideReads).then(() => done({
        via: plan.via, decision: result.error ? 'failed' : outcome, status: result.status ?? result.error?.status, errorType: result.error?.type ?? (result.aborted ? 'client_aborted' : undefined),
        ...(estimate ? { estimatedUsage: { ...estimate.usage, costUsd: estimate.costUsd } } : {}),
        ...(result.error ? {} : listedPatch(listVerdicts, record, outcome)),
      }));
      deps.trackPendingRecord?.(recorded);
      deps.log.debug('exchange', { id: exchange.id, via: plan.via, url: plan.url.origin + plan.url.pathname, status: result.status, error: result.error?.type, aborted: result.aborted });
    },
  });
}

/** The record's decision and findings with what the guardrails found in the answer's tool lists, if it had any. */
function listedPatch(verdicts: ToolListVerdicts | undefined, record: ExchangeRecord, decision: ExchangeRecord['decision']): Partial<ExchangeRecord> {
  if (verdicts === undefined) return {};
  const patch = verdicts.recordPatch(decision);
  return { ...patch, findings: [...record.findings, ...patch.findings] };
}

/**
 * Hands every chunk of the answer to `reader` beside the relay. Its 'end' listener is added before the
 * relay's own, so the reader has seen the whole answer when the relay asks for the record to be written.
 */
/**
 * How long a cut-off exchange's record waits for the readers beside the relay. They end when the upstream
 * socket closes, at once after the client left; the bound only keeps a reader that never ends from
 * holding the record back for good.
 */
const SIDE_READS_GRACE_MS = 2_000;

function sideReadsSettled(sideReads: Promise<void>[]): Promise<void> {
  if (sideReads.length === 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SIDE_READS_GRACE_MS);
  });
  return Promise.race([Promise.all(sideReads).then(() => undefined, () => undefined), grace]).finally(() => clearTimeout(timer));
}

function readAlongside(response: IncomingMessage, reader: { push(chunk: Buffer): void; end(): void }): void {
  response.on('data', (chunk: Buffer) => reader.push(chunk));
  response.once('end', () => reader.end());
  response.once('close', () => reader.end());
}

/** The answer's head as a reader of its decoded body sees it: no Content-Encoding left to undo. */
function decodedHead(response: IncomingMessage): Pick<IncomingMessage, 'headers' | 'statusCode'> {
  const { 'content-encoding': _decoded, ...headers } = response.headers;
  return { headers, statusCode: response.statusCode };
}

/** A POST with a JSON body: the uninspected ones still carry `model` at the top (OpenAI-style APIs). */
function namesModelInJson(req: IncomingMessage): boolean {
  return req.method === 'POST' && /^application\/json\b/i.test(header(req.headers['content-type']) ?? '');
}

/** The top-level `model` of a JSON body, or undefined (unreadable encoding, not JSON, no string model). */
function modelNamedIn(raw: Buffer, contentEncoding: string | undefined, maxBytes: number): string | undefined {
  try {
    const parsed = JSON.parse(decodeForInspection(raw, contentEncoding, maxBytes).toString('utf8')) as unknown;
    const model = isJsonObject(parsed) ? parsed['model'] : undefined;
    return typeof model === 'string' && model !== '' ? model : undefined;
  } catch {
    return undefined;
  }
}

const processByConnection = new WeakMap<object, Promise<string | undefined>>();

/** Looks the client program up once per connection (keep-alive requests share the answer). */
function connectionProcess(deps: RequestHandlerDeps, exchange: Exchange): Promise<string | undefined> {
  const socket = exchange.req.socket;
  if (!deps.processOf || !deps.needsProcess?.() || socket.remotePort === undefined || socket.localPort === undefined) return Promise.resolve(undefined);
  let lookup = processByConnection.get(socket);
  if (!lookup) {
    lookup = deps.processOf(socket.remotePort, socket.localPort);
    processByConnection.set(socket, lookup);
  }
  return lookup;
}

function resolveTarget(exchange: Exchange): Target | { status: number; error: string } {
  const url = exchange.req.url ?? '/';
  if (exchange.connectTarget) {
    if (!url.startsWith('/')) {
      // An absolute URI inside a tunnel must still name the tunnel's host.
      const parsed = safeUrl(url);
      if (!parsed) return { status: 400, error: `Malformed request target ${JSON.stringify(url.slice(0, 200))}.` };
      return { ...exchange.connectTarget, path: parsed.pathname + parsed.search, tls: exchange.tls };
    }
    return { ...exchange.connectTarget, path: url, tls: exchange.tls };
  }
  const parsed = safeUrl(url);
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    return { status: 400, error: `Bifrost Edge is a proxy: send an absolute http:// URL or use CONNECT for https (got ${JSON.stringify(url.slice(0, 200))}).` };
  }
  const hp = parseConnectTarget(parsed.host, parsed.protocol === 'https:' ? 443 : 80);
  if (!hp) return { status: 400, error: `Malformed host in ${JSON.stringify(url.slice(0, 200))}.` };
  // The client asked for https:// in the clear (urllib3's forwarding mode does): Edge must still speak
  // TLS upstream, or the credential and prompt would cross the network unencrypted.
  return { ...hp, path: parsed.pathname + parsed.search, tls: parsed.protocol === 'https:' };
}

/**
 * http-mitm-proxy picks the upstream from the Host header, not the CONNECT target; Edge routes by
 * the CONNECT target and refuses a request whose Host names another server, which would otherwise
 * let a client smuggle traffic for an ungoverned host through a governed tunnel (or vice versa).
 */
function checkHostHeader(exchange: Exchange, target: Target): EdgeError | undefined {
  const raw = header(exchange.req.headers.host);
  if (raw === undefined) return undefined;
  const hostHeader = hostOfHostHeader(raw);
  if (hostHeader === undefined) {
    return edgeError(400, 'invalid_request', `The Host header ${JSON.stringify(raw.slice(0, 200))} is not a valid host name.`);
  }
  if (hostHeader !== target.host) {
    return edgeError(421, 'host_mismatch',
      `The Host header names ${hostHeader} but this connection was opened to ${target.host}. Bifrost Edge refuses requests whose Host header disagrees with their destination.`);
  }
  return undefined;
}

function sendError(res: ServerResponse, surface: AiSurface, error: EdgeError, stream: boolean, requestBody?: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const response = surface.errorResponse(error, { stream, ...(requestBody !== undefined ? { requestBody } : {}) });
  res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
  res.end(response.body);
}

export function sendPlain(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Streaming clients that read SSE (browsers, web apps) get the error as an SSE event; SDKs ask for
 * JSON and raise their native typed error from a JSON body with the right status.
 */
function acceptsEventStream(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}


