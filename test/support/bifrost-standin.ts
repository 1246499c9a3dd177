/**
 * A stand-in for the Bifrost LLM gateway, for tests and demos: a plain `node:http` server on 127.0.0.1
 * that speaks the routes Edge forwards to (see shared/reference/bifrost-openapi-subset.json), checks
 * virtual keys the way the gateway does, answers in each provider's format with text that echoes the
 * request (`echo: <last user text>`), streams real SSE in each provider's dialect with every event
 * flushed on its own, and records every request it receives.
 *
 *   const bifrost = await startBifrostStandin({ virtualKeys: [{ value: 'sk-bf-alice' }] });
 *   // point Edge at bifrost.url ... then
 *   expect(bifrost.received.at(-1)?.headers['x-bf-vk']).toBe('sk-bf-alice');
 *   bifrost.failNext(429);              // next request answers rate_limited in its route's error dialect
 *   await bifrost.close();
 *
 * The Responses API's WebSocket mode (`GET /openai/v1/responses` and `/v1/responses` with `Upgrade: websocket`)
 * checks the virtual key like the HTTP routes, answers each `response.create` with the streamed events of a
 * Responses stream (response.created … response.completed) as WebSocket messages, and records every socket in
 * `webSockets` (its upgrade request is in `received` too). `failNext` refuses the next upgrade as it would a request.
 *
 * Streams: `sseChunks` content events (default 5) `sseChunkDelayMs` apart (default 0); the framing events
 * travel with the first and last content event, so a stream lasts (chunks - 1) × delay. Override per
 * request with headers `x-standin-chunks` / `x-standin-delay-ms` or query `standin_chunks` /
 * `standin_delay_ms`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';

import { defaultErrorType, errorBody, virtualKeyError, type RouteFamily, type StandinError } from './standin-errors.js';
import {
  MODEL_CATALOG, anthropicMessage, anthropicStream, anthropicUserText, bifrostModelList, echoText, estimateTokens,
  geminiModelList, geminiResponse, geminiStream, geminiUserText, openaiChatCompletion, openaiChatStream,
  openaiChatUserText, openaiEmbeddings, openaiModelList, promptTokens, responsesObject, responsesStream,
  responsesUserText, splitModel, embeddingVector, type CatalogModel, type EchoAnswer, type Tick,
} from './standin-responses.js';
import {
  DEMO_VIRTUAL_KEY, modelAllowed, normalizeVirtualKeys, quotaFor, readVirtualKey,
  type BifrostVirtualKey, type StandinVirtualKeyInput, type VirtualKeySource,
} from './standin-virtual-keys.js';

export { DEMO_VIRTUAL_KEY } from './standin-virtual-keys.js';
export type {
  BifrostVirtualKey, BifrostVirtualKeyQuota, StandinBudgetInput, StandinMcpConfigInput, StandinProviderConfigInput,
  StandinRateLimitInput, StandinVirtualKeyInput,
} from './standin-virtual-keys.js';
export type { RouteFamily, StandinError } from './standin-errors.js';

export interface BifrostStandinOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Keys the gateway knows. Default: one active key, `sk-bf-demo-0000`. */
  virtualKeys?: StandinVirtualKeyInput[];
  /** Refuse inference without a virtual key (401 virtual_key_required). Default true. A key that is sent is always checked. */
  requireVirtualKey?: boolean;
  /** Pause between streamed content events. Default 0. */
  sseChunkDelayMs?: number;
  /** Content events per stream. Default 5. */
  sseChunks?: number;
  /** When set, the admin governance routes (not the quota route) require HTTP Basic with these credentials. */
  adminAuth?: { username: string; password: string };
  /** Called when a request has been fully read and recorded. */
  onRequest?: (request: ReceivedRequest) => void;
  /** Called when the answer to a request is complete (or the connection closed). */
  onResponse?: (request: ReceivedRequest) => void;
  /** Gzip JSON answers for clients that accept gzip, as providers behind a CDN do. Default false. */
  gzipJson?: boolean;
}

export interface ReceivedRequest {
  /** Arrival order, from 1. */
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Query string without `?` ('' when none). */
  query: string;
  /** Path and query exactly as sent. */
  url: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Body as text, after undoing gzip / deflate / br content-encoding. */
  body: string;
  /** The body parsed, when it is JSON. */
  json?: unknown;
  /** Body bytes as they arrived on the wire. */
  rawBody: Buffer;
  /** Arrival time (ms since epoch). */
  time: number;
  /** The virtual key found in the request, and where. */
  virtualKey?: string;
  virtualKeySource?: VirtualKeySource;
  /** `x-bf-lh-<name>` log headers, by `<name>`. */
  logHeaders: Record<string, string>;
  /** Status answered; set once the answer is complete. */
  status?: number;
}

/** A WebSocket the stand-in was asked to open (the Responses API's WebSocket mode). */
export interface ReceivedWebSocket {
  /** The upgrade request, also recorded in `received`; its `status` is 101 once opened, else the refusal's. */
  request: ReceivedRequest;
  /** The subprotocols the client offered (Sec-WebSocket-Protocol), in order. */
  subprotocols: string[];
  /** The one the stand-in chose: the first offered that is not an `openai-insecure-api-key.` credential; '' none. */
  chosenSubprotocol: string;
  /** Every message the client sent, as text, in order. */
  messages: string[];
}

export interface FailNextOptions {
  /** Only a request whose path starts with this string (or matches this RegExp) takes the failure. Default: any but /health. */
  path?: string | RegExp;
  /** Error type when no body is given. Default follows the status (429 rate_limited, 402 budget_exceeded, ...). */
  type?: string;
  message?: string;
  headers?: Record<string, string>;
}

export interface BifrostStandin {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Every request, in arrival order. The same array for the stand-in's lifetime (clear() empties it in place). */
  received: ReceivedRequest[];
  /** Every WebSocket upgrade, opened or refused, in arrival order (the same array for the stand-in's lifetime). */
  webSockets: ReceivedWebSocket[];
  /** Forget the received requests and WebSockets (pending failNext failures stay queued). */
  clear(): void;
  close(): Promise<void>;
  /**
   * The next matching request answers `status` instead. Without a body, the error is built in the route's dialect
   * (BifrostError, Anthropic or Google) with `options.type` or the status's usual type; a string body is sent as is,
   * an object as JSON. Calls queue up: each failure is used once.
   */
  failNext(status: number, body?: string | object, options?: FailNextOptions): void;
  /** Replace the keys the gateway knows. */
  setVirtualKeys(keys: StandinVirtualKeyInput[]): void;
  /** The keys as the admin API serves them. */
  virtualKeys(): BifrostVirtualKey[];
  /** Change stream pacing for later requests. */
  setStreaming(settings: { chunks?: number; delayMs?: number }): void;
  /** Resolves with the first recorded request (already received or still to come) that matches. */
  waitForRequest(predicate?: (request: ReceivedRequest) => boolean, timeoutMs?: number): Promise<ReceivedRequest>;
}

type Json = Record<string, unknown>;

class HttpProblem extends Error {
  constructor(readonly problem: StandinError) {
    super(problem.message);
  }
}

function invalid(message: string): HttpProblem {
  return new HttpProblem({ status: 400, type: 'invalid_request', message });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireString(body: Json, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw invalid(`${key} is required`);
  return v;
}

function requireArray(body: Json, key: string): unknown[] {
  const v = body[key];
  if (!Array.isArray(v)) throw invalid(`${key} is required and must be an array`);
  return v;
}

/** The Responses API's WebSocket mode: Bifrost's OpenAI integration route and its generic one. */
const RESPONSES_WEBSOCKET = /^\/(openai\/)?v1\/responses$/;

/** The subprotocol by which openai-node's browser clients send an API key (`openai-insecure-api-key.<key>`). */
const CREDENTIAL_SUBPROTOCOL = 'openai-insecure-api-key.';

function familyForPath(path: string): RouteFamily {
  if (path.startsWith('/anthropic')) return 'anthropic';
  if (path.startsWith('/genai')) return 'genai';
  return 'bifrost';
}

function decodeBody(raw: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || raw.length === 0) return raw;
  try {
    switch (encoding.trim().toLowerCase()) {
      case 'gzip':
      case 'x-gzip':
        return zlib.gunzipSync(raw);
      case 'deflate':
        try {
          return zlib.inflateSync(raw);
        } catch {
          return zlib.inflateRawSync(raw);
        }
      case 'br':
        return zlib.brotliDecompressSync(raw);
      default:
        return raw;
    }
  } catch {
    return raw;
  }
}

function clampInt(value: string | null | undefined, min: number, max: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(max, Math.max(min, Math.floor(n)));
}

/** Answers whose JSON goes out gzipped (the stand-in runs with gzipJson and the client accepts gzip). */
const gzipAnswers = new WeakSet<http.ServerResponse>();

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const payload = gzipAnswers.has(res) ? zlib.gzipSync(text) : Buffer.from(text);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(payload.length),
    ...(gzipAnswers.has(res) ? { 'content-encoding': 'gzip' } : {}),
    ...headers,
  });
  res.end(payload);
}

/** Writes one piece and waits for the socket to take it; false when the client is gone. */
function write(res: http.ServerResponse, chunk: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve(!res.destroyed);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  entry: ReceivedRequest;
  family: RouteFamily;
  /** Parsed JSON body (routes that take one). */
  body: Json;
  vk?: BifrostVirtualKey;
  chunks: number;
  delayMs: number;
  params: string[];
}

type Auth = 'vk' | 'quota' | 'admin' | 'none';

interface Route {
  methods: readonly string[];
  pattern: RegExp;
  auth: Auth;
  /** Needs a JSON object body. */
  json: boolean;
  handle: (ctx: Ctx) => Promise<void> | void;
}

interface Failure {
  status: number;
  body?: string | object;
  options: FailNextOptions;
}

export async function startBifrostStandin(options: BifrostStandinOptions = {}): Promise<BifrostStandin> {
  let keys = normalizeVirtualKeys(options.virtualKeys ?? [{ value: DEMO_VIRTUAL_KEY, name: 'demo' }]);
  const requireVk = options.requireVirtualKey ?? true;
  let chunkCount = Math.max(1, Math.floor(options.sseChunks ?? 5));
  let chunkDelay = Math.max(0, options.sseChunkDelayMs ?? 0);
  const received: ReceivedRequest[] = [];
  const failures: Failure[] = [];
  const waiters = new Set<{ predicate: (r: ReceivedRequest) => boolean; resolve: (r: ReceivedRequest) => void }>();
  const sleepers = new Set<() => void>();
  let seq = 0;
  let answerSeq = 0;
  let closing = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (closing || ms <= 0) return resolve();
      const wake = (): void => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  // ---- answers ---------------------------------------------------------------------------------

  const answer = (ctx: Ctx, requestedModel: string, routeProvider: string | undefined, userText: string, requestType?: string): EchoAnswer =>
    answerFor(ctx.body, requestedModel, routeProvider, userText, requestType);

  const answerFor = (body: Json, requestedModel: string, routeProvider: string | undefined, userText: string, requestType?: string): EchoAnswer => {
    const { provider, model } = splitModel(requestedModel, routeProvider);
    const text = echoText(userText);
    const a: EchoAnswer = {
      id: `standin${Date.now().toString(36)}${(++answerSeq).toString(36)}`,
      created: Math.floor(Date.now() / 1000),
      model,
      provider,
      requestedModel,
      text,
      promptTokens: promptTokens(body),
      completionTokens: estimateTokens(text),
    };
    if (requestType) a.extraFields = { requestType };
    return a;
  };

  const stream = async (ctx: Ctx, ticks: Tick[], contentType = 'text/event-stream; charset=utf-8'): Promise<void> => {
    const { res, req } = ctx;
    req.socket.setNoDelay(true);
    res.writeHead(200, {
      'content-type': contentType,
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    for (let i = 0; i < ticks.length; i++) {
      if (i > 0) await sleep(ctx.delayMs);
      if (closing) break;
      for (const event of ticks[i] as Tick) {
        if (!(await write(res, event))) return;
      }
    }
    if (!res.destroyed) res.end();
  };

  const visibleModels = (vk: BifrostVirtualKey | undefined, filter?: (m: CatalogModel) => boolean): CatalogModel[] =>
    MODEL_CATALOG.filter((m) => (filter ? filter(m) : true) && modelAllowed(vk, m.provider, m.model));

  const chat = async (ctx: Ctx, provider: string | undefined, generic: boolean): Promise<void> => {
    const model = requireString(ctx.body, 'model');
    requireArray(ctx.body, 'messages');
    const a = answer(ctx, model, provider, openaiChatUserText(ctx.body), generic ? 'chat_completion' : undefined);
    if (ctx.body['stream'] === true) {
      const so = ctx.body['stream_options'];
      const includeUsage = isObject(so) && so['include_usage'] === true;
      return stream(ctx, openaiChatStream(a, ctx.chunks, includeUsage));
    }
    sendJson(ctx.res, 200, openaiChatCompletion(a));
  };

  const responses = async (ctx: Ctx, provider: string | undefined, generic: boolean): Promise<void> => {
    const model = requireString(ctx.body, 'model');
    const input = ctx.body['input'];
    if (typeof input !== 'string' && !Array.isArray(input)) throw invalid('input is required (a string or an array of input items)');
    const a = answer(ctx, model, provider, responsesUserText(ctx.body), generic ? 'responses' : undefined);
    if (ctx.body['stream'] === true) return stream(ctx, responsesStream(a, ctx.chunks));
    sendJson(ctx.res, 200, responsesObject(a));
  };

  const embeddings = (ctx: Ctx, provider: string | undefined, generic: boolean): void => {
    const model = requireString(ctx.body, 'model');
    const input = ctx.body['input'];
    let inputs: string[];
    if (typeof input === 'string') inputs = [input];
    else if (Array.isArray(input) && input.length > 0) inputs = input.map((i) => (typeof i === 'string' ? i : JSON.stringify(i)));
    else throw invalid('input is required (a string or an array)');
    const dims = typeof ctx.body['dimensions'] === 'number' ? Math.min(4096, Math.max(1, Math.floor(ctx.body['dimensions']))) : 16;
    const tokens = estimateTokens(inputs.join(''));
    const a = generic ? answer(ctx, model, provider, '', 'embedding') : undefined;
    sendJson(ctx.res, 200, openaiEmbeddings(inputs, splitModel(model, provider).model, dims, tokens, a));
  };

  /** OpenAI-format moderation: text containing "UNSAFE" scores 0.97 for violence, anything else 0.01. */
  const moderations = (ctx: Ctx): void => {
    const model = requireString(ctx.body, 'model');
    const input = ctx.body['input'];
    const inputs = typeof input === 'string' ? [input] : Array.isArray(input) ? input.map(String) : undefined;
    if (!inputs || inputs.length === 0) throw invalid('input is required (a string or an array of strings)');
    sendJson(ctx.res, 200, {
      id: `modr-${Date.now().toString(36)}`,
      model,
      results: inputs.map((text) => {
        const score = text.includes('UNSAFE') ? 0.97 : 0.01;
        return { flagged: score > 0.5, categories: { violence: score > 0.5, harassment: false }, category_scores: { violence: score, harassment: 0.001 } };
      }),
    });
  };

  const anthropicMessages = async (ctx: Ctx): Promise<void> => {
    const model = requireString(ctx.body, 'model');
    requireArray(ctx.body, 'messages');
    const a = answer(ctx, model, 'anthropic', anthropicUserText(ctx.body));
    if (ctx.body['stream'] === true) return stream(ctx, anthropicStream(a, ctx.chunks));
    sendJson(ctx.res, 200, anthropicMessage(a));
  };

  const anthropicCountTokens = (ctx: Ctx): void => {
    requireString(ctx.body, 'model');
    requireArray(ctx.body, 'messages');
    sendJson(ctx.res, 200, { input_tokens: promptTokens(ctx.body) });
  };

  const gemini = async (ctx: Ctx, model: string, method: string): Promise<void> => {
    switch (method) {
      case 'generateContent':
      case 'streamGenerateContent': {
        requireArray(ctx.body, 'contents');
        const a = answer(ctx, model, 'gemini', geminiUserText(ctx.body));
        if (method === 'generateContent') return sendJson(ctx.res, 200, geminiResponse(a));
        const alt = new URLSearchParams(ctx.entry.query).get('alt') === 'sse' ? 'sse' : 'json';
        return stream(ctx, geminiStream(a, ctx.chunks, alt), alt === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/json; charset=utf-8');
      }
      case 'countTokens':
        return sendJson(ctx.res, 200, { totalTokens: promptTokens(isObject(ctx.body['generateContentRequest']) ? ctx.body['generateContentRequest'] : ctx.body) });
      case 'embedContent': {
        const content = ctx.body['content'];
        const text = isObject(content) ? geminiUserText({ contents: [content] }) : '';
        return sendJson(ctx.res, 200, { embedding: { values: embeddingVector(text, 16) } });
      }
      default:
        throw new HttpProblem({ status: 404, type: 'not_found', message: `unknown Gemini method ${method}` });
    }
  };

  const GEMINI_MODEL_ROUTE = /^\/models\/(.+):(generateContent|streamGenerateContent|countTokens|embedContent)$/;

  /** Pass-through: answer known provider routes in kind, echo anything else. */
  const passthrough = async (ctx: Ctx): Promise<void> => {
    const [provider = '', inner = '/'] = ctx.params;
    const method = ctx.entry.method;
    const parsed = isObject(ctx.entry.json) ? ctx.entry.json : undefined;
    const withBody = async (fn: (c: Ctx) => Promise<void> | void): Promise<void> => {
      if (!parsed) throw invalid('invalid JSON body: expected a JSON object');
      ctx.body = parsed;
      await fn(ctx);
    };
    if (provider === 'openai') {
      if (method === 'POST' && inner === '/v1/chat/completions') return withBody((c) => chat(c, 'openai', false));
      if (method === 'POST' && inner === '/v1/responses') return withBody((c) => responses(c, 'openai', false));
      if (method === 'POST' && inner === '/v1/embeddings') return withBody((c) => embeddings(c, 'openai', false));
      if (method === 'GET' && inner === '/v1/models') return sendJson(ctx.res, 200, openaiModelList(visibleModels(ctx.vk, (m) => m.provider === 'openai')));
    } else if (provider === 'anthropic') {
      if (method === 'POST' && inner === '/v1/messages') return withBody(anthropicMessages);
      if (method === 'POST' && inner === '/v1/messages/count_tokens') return withBody(anthropicCountTokens);
    } else if (provider === 'genai') {
      const m = inner.startsWith('/v1beta') ? GEMINI_MODEL_ROUTE.exec(inner.slice('/v1beta'.length)) : null;
      if (method === 'POST' && m) return withBody((c) => gemini(c, m[1] as string, m[2] as string));
      if (method === 'GET' && inner === '/v1beta/models') return sendJson(ctx.res, 200, geminiModelList(visibleModels(ctx.vk, (x) => x.provider === 'gemini')));
    }
    const credentials = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key'].filter((h) => ctx.entry.headers[h] !== undefined);
    sendJson(ctx.res, 200, {
      object: 'passthrough.echo',
      provider,
      method,
      path: inner,
      query: ctx.entry.query,
      provider_credential_headers: credentials,
      content_type: ctx.entry.headers['content-type'] ?? null,
      bytes: ctx.entry.rawBody.length,
      body: ctx.entry.json !== undefined ? ctx.entry.json : ctx.entry.body,
    });
  };

  const listVirtualKeys = (ctx: Ctx): void => {
    const q = new URLSearchParams(ctx.entry.query);
    const search = q.get('search')?.toLowerCase();
    const matching = search ? keys.filter((k) => k.name.toLowerCase().includes(search)) : keys;
    const offset = clampInt(q.get('offset'), 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = clampInt(q.get('limit'), 0, Number.MAX_SAFE_INTEGER);
    const page = matching.slice(offset, limit ? offset + limit : undefined);
    sendJson(ctx.res, 200, { virtual_keys: page, count: page.length, total_count: matching.length, limit: limit ?? matching.length, offset });
  };

  const getVirtualKey = (ctx: Ctx): void => {
    const id = decodeURIComponent(ctx.params[0] ?? '');
    const vk = keys.find((k) => k.id === id);
    if (!vk) throw new HttpProblem({ status: 404, type: 'not_found', message: `virtual key ${id} not found` });
    sendJson(ctx.res, 200, { virtual_key: vk });
  };

  const routes: Route[] = [
    { methods: ['GET'], pattern: /^\/health$/, auth: 'none', json: false, handle: (c) => sendJson(c.res, 200, { status: 'ok', components: { config_store: 'ok', log_store: 'ok' } }) },
    { methods: ['POST'], pattern: /^\/openai\/v1\/chat\/completions$/, auth: 'vk', json: true, handle: (c) => chat(c, 'openai', false) },
    { methods: ['POST'], pattern: /^\/v1\/chat\/completions$/, auth: 'vk', json: true, handle: (c) => chat(c, undefined, true) },
    { methods: ['POST'], pattern: /^\/openai\/v1\/responses$/, auth: 'vk', json: true, handle: (c) => responses(c, 'openai', false) },
    { methods: ['POST'], pattern: /^\/v1\/responses$/, auth: 'vk', json: true, handle: (c) => responses(c, undefined, true) },
    { methods: ['POST'], pattern: /^\/openai\/v1\/embeddings$/, auth: 'vk', json: true, handle: (c) => embeddings(c, 'openai', false) },
    { methods: ['POST'], pattern: /^\/openai\/v1\/moderations$/, auth: 'vk', json: true, handle: (c) => moderations(c) },
    { methods: ['POST'], pattern: /^\/v1\/embeddings$/, auth: 'vk', json: true, handle: (c) => embeddings(c, undefined, true) },
    { methods: ['GET'], pattern: /^\/openai\/v1\/models$/, auth: 'vk', json: false, handle: (c) => sendJson(c.res, 200, openaiModelList(visibleModels(c.vk))) },
    { methods: ['GET'], pattern: /^\/v1\/models$/, auth: 'vk', json: false, handle: (c) => sendJson(c.res, 200, bifrostModelList(visibleModels(c.vk))) },
    { methods: ['POST'], pattern: /^\/anthropic\/v1\/messages$/, auth: 'vk', json: true, handle: anthropicMessages },
    { methods: ['POST'], pattern: /^\/anthropic\/v1\/messages\/count_tokens$/, auth: 'vk', json: true, handle: anthropicCountTokens },
    { methods: ['POST'], pattern: /^\/genai\/v1beta\/models\/(.+):([A-Za-z]+)$/, auth: 'vk', json: true, handle: (c) => gemini(c, c.params[0] ?? '', c.params[1] ?? '') },
    { methods: ['GET'], pattern: /^\/genai\/v1beta\/models$/, auth: 'vk', json: false, handle: (c) => sendJson(c.res, 200, geminiModelList(visibleModels(c.vk, (m) => m.provider === 'gemini'))) },
    { methods: ['GET'], pattern: /^\/api\/governance\/virtual-keys$/, auth: 'admin', json: false, handle: listVirtualKeys },
    { methods: ['GET'], pattern: /^\/api\/governance\/virtual-keys\/quota$/, auth: 'quota', json: false, handle: (c) => sendJson(c.res, 200, quotaFor(c.vk as BifrostVirtualKey)) },
    { methods: ['GET'], pattern: /^\/api\/governance\/virtual-keys\/([^/]+)$/, auth: 'admin', json: false, handle: getVirtualKey },
    { methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], pattern: /^\/(openai|anthropic|genai)_passthrough(\/.*)?$/, auth: 'vk', json: false, handle: passthrough },
  ];

  // ---- request pipeline -------------------------------------------------------------------------

  const takeFailure = (path: string): Failure | undefined => {
    const index = failures.findIndex(({ options: { path: want } }) =>
      want === undefined ? path !== '/health' : typeof want === 'string' ? path.startsWith(want) : want.test(path));
    return index < 0 ? undefined : failures.splice(index, 1)[0];
  };

  const problemFor = (entry: ReceivedRequest, base: StandinError): StandinError => {
    const json = entry.json;
    if (isObject(json) && typeof json['model'] === 'string' && json['model'] !== '') {
      const { provider } = splitModel(json['model'], entry.path.startsWith('/openai') ? 'openai' : entry.path.startsWith('/anthropic') ? 'anthropic' : undefined);
      return { provider, model: json['model'], ...base };
    }
    const gem = /^\/genai\/v1beta\/models\/(.+):[A-Za-z]+$/.exec(entry.path);
    if (gem?.[1]) return { provider: 'gemini', model: gem[1], ...base };
    return base;
  };

  const sendProblem = (res: http.ServerResponse, family: RouteFamily, problem: StandinError, headers?: Record<string, string>): void => {
    sendJson(res, problem.status, errorBody(family, problem), headers);
  };

  const authenticate = (ctx: Ctx, auth: Auth): { family: RouteFamily; problem: StandinError } | null => {
    if (auth === 'none') return null;
    if (auth === 'admin') {
      if (!options.adminAuth) return null;
      const expected = `Basic ${Buffer.from(`${options.adminAuth.username}:${options.adminAuth.password}`).toString('base64')}`;
      if (ctx.entry.headers['authorization'] === expected) return null;
      return { family: 'bifrost', problem: { status: 401, type: 'unauthorized', message: 'admin credentials required: send HTTP Basic authorization' } };
    }
    const found = readVirtualKey(ctx.entry.headers);
    const family: RouteFamily = auth === 'quota' ? 'quota' : ctx.family;
    if (!found) {
      if (auth === 'vk' && !requireVk) return null;
      return { family, problem: virtualKeyError('required') };
    }
    const vk = keys.find((k) => k.value === found.value);
    if (!vk) return { family, problem: virtualKeyError('not_found') };
    ctx.vk = vk;
    if (!vk.is_active && auth === 'vk') return { family, problem: virtualKeyError('blocked', vk.name) };
    return null;
  };

  /** Records a request (its body read): in `received`, to `onRequest` and to the waiters. */
  const recordRequest = (req: http.IncomingMessage, rawBody: Buffer, time: number): ReceivedRequest => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path
    }
    const body = decodeBody(rawBody, headers['content-encoding']).toString('utf8');
    const logHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith('x-bf-lh-')) logHeaders[name.slice('x-bf-lh-'.length)] = value;
    }
    const entry: ReceivedRequest = {
      seq: ++seq,
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      query: q < 0 ? '' : url.slice(q + 1),
      url,
      headers,
      body,
      rawBody,
      time,
      logHeaders,
    };
    if (body.trim() !== '') {
      try {
        entry.json = JSON.parse(body);
      } catch {
        // not JSON: routes that need JSON answer 400
      }
    }
    const vkFound = readVirtualKey(headers);
    if (vkFound) {
      entry.virtualKey = vkFound.value;
      entry.virtualKeySource = vkFound.source;
    }
    received.push(entry);
    options.onRequest?.(entry);
    for (const w of waiters) {
      if (w.predicate(entry)) {
        waiters.delete(w);
        w.resolve(entry);
      }
    }
    return entry;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const time = Date.now();
    const pieces: Buffer[] = [];
    for await (const piece of req) pieces.push(piece as Buffer);
    const entry = recordRequest(req, Buffer.concat(pieces), time);
    const { path, headers } = entry;
    let reported = false;
    const report = (): void => {
      if (reported) return;
      reported = true;
      entry.status = res.statusCode;
      options.onResponse?.(entry);
    };
    res.on('finish', report);
    res.on('close', report);

    const family = familyForPath(path);
    const params = new URLSearchParams(entry.query);
    const ctx: Ctx = {
      req, res, entry, family, body: {}, params: [],
      chunks: clampInt(headers['x-standin-chunks'] ?? params.get('standin_chunks'), 1, 1000) ?? chunkCount,
      delayMs: clampInt(headers['x-standin-delay-ms'] ?? params.get('standin_delay_ms'), 0, 60_000) ?? chunkDelay,
    };

    const candidates = routes.filter((r) => r.pattern.test(path));
    const route = candidates.find((r) => r.methods.includes(entry.method));
    if (!route) {
      if (candidates.length === 0) {
        return sendProblem(res, family, { status: 404, type: 'not_found', message: `the Bifrost stand-in has no route ${entry.method} ${path}` });
      }
      const allow = [...new Set(candidates.flatMap((r) => r.methods))].join(', ');
      const ws = path.endsWith('/responses') && entry.method === 'GET' ? ' (GET is the Responses API\'s WebSocket mode: send Upgrade: websocket)' : '';
      return sendProblem(res, family, { status: 405, type: 'method_not_allowed', message: `${entry.method} ${path} is not allowed; use ${allow}${ws}` }, { allow });
    }
    ctx.params = (route.pattern.exec(path) ?? []).slice(1).map((p) => p ?? '');

    const failure = takeFailure(path);
    if (failure) {
      const { status, body: failBody, options: fo } = failure;
      if (failBody === undefined) {
        const problem = problemFor(entry, { status, type: fo.type ?? defaultErrorType(status), message: fo.message ?? `injected failure (stand-in failNext ${status})` });
        return sendProblem(res, family, problem, fo.headers);
      }
      if (typeof failBody === 'string') {
        let isJson = true;
        try {
          JSON.parse(failBody);
        } catch {
          isJson = false;
        }
        res.writeHead(status, { 'content-type': isJson ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', ...fo.headers });
        res.end(failBody);
        return;
      }
      return sendJson(res, status, failBody, fo.headers);
    }

    try {
      if (route.json) {
        if (!isObject(entry.json)) {
          throw invalid(entry.body.trim() === '' ? 'request body is required (JSON)' : 'invalid JSON body: could not parse the request as a JSON object');
        }
        ctx.body = entry.json;
      }
      const refused = authenticate(ctx, route.auth);
      if (refused) return sendProblem(res, refused.family, refused.family === 'quota' ? refused.problem : problemFor(entry, refused.problem));
      await route.handle(ctx);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const problem = err instanceof HttpProblem
        ? problemFor(entry, err.problem)
        : { status: 500, type: 'internal_error', message: `stand-in error: ${err instanceof Error ? err.message : String(err)}` };
      sendProblem(res, family, problem);
    }
  };

  // ---- the Responses API's WebSocket mode -----------------------------------------------------

  const webSockets: ReceivedWebSocket[] = [];
  const openSockets = new Set<WebSocket>();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => [...offered].find((protocol) => !protocol.startsWith(CREDENTIAL_SUBPROTOCOL)) ?? false,
  });

  /** The inference routes' key check (headers only: the stand-in does not read a key from a subprotocol). */
  const inferenceKey = (headers: Record<string, string>): { vk?: BifrostVirtualKey; problem?: StandinError } => {
    const found = readVirtualKey(headers);
    if (!found) return requireVk ? { problem: virtualKeyError('required') } : {};
    const vk = keys.find((k) => k.value === found.value);
    if (!vk) return { problem: virtualKeyError('not_found') };
    if (!vk.is_active) return { vk, problem: virtualKeyError('blocked', vk.name) };
    return { vk };
  };

  /** Answers an upgrade with an HTTP error, as the gateway refuses one, and closes the connection. */
  const refuseUpgrade = (socket: Duplex, entry: ReceivedRequest, status: number, body: string, headers: Record<string, string> = {}): void => {
    const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`];
    let json = true;
    try {
      JSON.parse(body);
    } catch {
      json = false;
    }
    const all = { 'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', ...headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
    for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`);
    entry.status = status;
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
    options.onResponse?.(entry);
  };

  /** Answers one client event: a `response.create` with the events of a Responses stream, anything else with an error event. */
  const answerWebSocketEvent = async (ws: WebSocket, text: string, routeProvider: string | undefined): Promise<void> => {
    const fail = (message: string) => ws.send(JSON.stringify({ type: 'error', status: 400, error: { type: 'invalid_request_error', message } }));
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return fail('the message is not JSON');
    }
    if (!isObject(event) || event['type'] !== 'response.create') return fail('only response.create events are supported');
    const { type: _type, ...body } = event;
    const model = body['model'];
    const input = body['input'];
    if (typeof model !== 'string' || model === '') return fail('model is required');
    if (typeof input !== 'string' && !Array.isArray(input)) return fail('input is required (a string or an array of input items)');
    const a = answerFor(body, model, routeProvider, responsesUserText(body), routeProvider ? undefined : 'responses');
    const ticks = responsesStream(a, chunkCount);
    for (let i = 0; i < ticks.length; i++) {
      if (i > 0) await sleep(chunkDelay);
      for (const sseEvent of ticks[i] as Tick) {
        if (closing || ws.readyState !== ws.OPEN) return;
        // Each SSE event's data is one WebSocket message.
        ws.send(/^data: (.*)$/m.exec(sseEvent)?.[1] ?? '');
      }
    }
  };

  const upgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    const entry = recordRequest(req, Buffer.alloc(0), Date.now());
    const offered = (entry.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
    const record: ReceivedWebSocket = { request: entry, subprotocols: offered, chosenSubprotocol: '', messages: [] };
    webSockets.push(record);
    const problem = (p: StandinError): string => JSON.stringify(errorBody('bifrost', problemFor(entry, p)));
    if (!RESPONSES_WEBSOCKET.test(entry.path)) {
      return refuseUpgrade(socket, entry, 404, problem({ status: 404, type: 'not_found', message: `the Bifrost stand-in has no WebSocket route ${entry.path}; it serves the Responses API's WebSocket mode at /openai/v1/responses and /v1/responses` }));
    }
    const failure = takeFailure(entry.path);
    if (failure) {
      const { status, body, options: fo } = failure;
      const text = body === undefined
        ? problem({ status, type: fo.type ?? defaultErrorType(status), message: fo.message ?? `injected failure (stand-in failNext ${status})` })
        : typeof body === 'string' ? body : JSON.stringify(body);
      return refuseUpgrade(socket, entry, status, text, fo.headers);
    }
    const key = inferenceKey(entry.headers);
    if (key.problem) return refuseUpgrade(socket, entry, key.problem.status, problem(key.problem));
    const routeProvider = entry.path.startsWith('/openai/') ? 'openai' : undefined;
    wss.handleUpgrade(req, socket, head, (ws) => {
      entry.status = 101;
      options.onResponse?.(entry);
      record.chosenSubprotocol = ws.protocol;
      openSockets.add(ws);
      ws.on('close', () => openSockets.delete(ws));
      ws.on('message', (data) => {
        const text = String(data);
        record.messages.push(text);
        void answerWebSocketEvent(ws, text, routeProvider);
      });
    });
  };

  const server = http.createServer((req, res) => {
    if (options.gzipJson && /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''))) gzipAnswers.add(res);
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, errorBody('bifrost', { status: 500, type: 'internal_error', message: 'stand-in error' }));
      else res.destroy();
    });
  });

  server.on('upgrade', upgrade);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    webSockets,
    clear() {
      received.length = 0;
      webSockets.length = 0;
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const wake of [...sleepers]) wake();
      // Upgraded sockets are no longer the HTTP server's to close.
      for (const ws of openSockets) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    failNext(status, body, failOptions = {}) {
      if (!Number.isInteger(status) || status < 100 || status > 999) throw new Error(`failNext: ${status} is not an HTTP status`);
      failures.push({ status, body, options: failOptions });
    },
    setVirtualKeys(next) {
      keys = normalizeVirtualKeys(next);
    },
    virtualKeys() {
      return keys;
    },
    setStreaming(settings) {
      if (settings.chunks !== undefined) chunkCount = Math.max(1, Math.floor(settings.chunks));
      if (settings.delayMs !== undefined) chunkDelay = Math.max(0, settings.delayMs);
    },
    waitForRequest(predicate = () => true, timeoutMs = 5_000) {
      const already = received.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise<ReceivedRequest>((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (r: ReceivedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`waitForRequest: no matching request within ${timeoutMs} ms (${received.length} received)`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
