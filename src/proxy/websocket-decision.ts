import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpRequestInfo, NormalizedRequest, ProviderName } from '../providers/types.js';
import { header } from '../util/header.js';
import { appFromUserAgent } from './app-attribution.js';
import type { ExchangeRecord } from './exchange.js';
import type { InspectionResult, RequestInspector, Resolution } from './surface-resolution.js';
import { createWebSocketMessageInspector, type WebSocketMessageInspector } from './websocket-inspection.js';
import { webSocketApiOf } from './websocket-messages.js';

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
   * against the key's request limit only when sent, so a model check repeated within a session counts nothing.
   * Without them every decision counts.
   */
  follow?: (request: NormalizedRequest) => unknown;
  settle?: (request: NormalizedRequest) => void;
}

export type WebSocketVerdict =
  /** `messages`: the inspector every client message goes through before it is relayed. */
  | { action: 'allow'; messages?: WebSocketMessageInspector }
  | { action: 'block'; message: string };

/** The largest client message when the agent names no limit: the configuration's default request body limit. */
const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/**
 * A WebSocket on an intercepted AI host (the OpenAI Realtime API, Gemini Live) is decided like a request, on
 * what its URL says (the provider of the host, `?model=` where the API puts it there); a refusal closes it with
 * Edge's message as the close reason. The client messages of the APIs Edge reads are then inspected one by one
 * (websocket-inspection.ts) and the opening is recorded as forwarded; any other WebSocket's frames are relayed
 * unread and its opening is recorded as flagged: uninspected.
 */
export function createWebSocketDecision(deps: WebSocketDecisionDeps) {
  return async (input: { host: string; path: string; headers: IncomingHttpHeaders }): Promise<WebSocketVerdict> => {
    const info: HttpRequestInfo = { method: 'GET', host: input.host, path: input.path, headers: input.headers };
    const resolution = deps.resolve(info);
    if (resolution.kind === 'not-ai') return { action: 'allow' };
    const app = appFromUserAgent(header(input.headers['user-agent']));
    const model = new URL(input.path, 'http://websocket.invalid').searchParams.get('model');
    const provider = resolution.surface.provider as ProviderName;
    const api = deps.contentInspectors ? webSocketApiOf(provider, input.path) : undefined;
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
    // Gemini Live names its model in its setup message: the session counts as a request when that is decided.
    const verdict = await decide(request, api !== 'gemini-live');
    const path = input.path.split('?')[0] ?? '/';
    const base = { id: randomUUID(), method: 'GET', host: input.host, path, provider, model, app, latencyMs: 0 };
    if (verdict.action === 'block') {
      await deps.record({ ...base, via: 'edge', decision: 'blocked', status: verdict.error.status, errorType: verdict.error.type, message: verdict.error.message, findings: [] });
      return { action: 'block', message: verdict.error.message };
    }
    // Recorded before the socket opens: an answer the record could not be written for is not given.
    if (!api || !deps.contentInspectors) {
      await deps.record({ ...base, decision: 'flagged', findings: [{ type: 'uninspected', ruleId: 'websocket', action: 'flag', location: 'request' }] });
      return { action: 'allow' };
    }
    await deps.record({ ...base, decision: 'forwarded', findings: [] });
    const messages = createWebSocketMessageInspector({
      socket: { api, host: input.host, path, info, app, provider, model },
      contentInspectors: deps.contentInspectors,
      checkModel: (candidate, counts) => decide(candidate, counts),
      record: deps.record,
      maxMessageBytes: deps.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    });
    return { action: 'allow', messages };
  };
}
