import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpRequestInfo, NormalizedRequest, ProviderName } from '../providers/types.js';
import { header } from '../util/header.js';
import { appFromUserAgent } from './app-attribution.js';
import type { ExchangeRecord } from './exchange.js';
import type { RequestInspector, Resolution } from './surface-resolution.js';

export interface WebSocketDecisionDeps {
  resolve: (info: HttpRequestInfo) => Resolution;
  /** The policy step (app catalog, key, provider, model, limits, fail mode); guardrails have no text to read. */
  policy: () => RequestInspector;
  record: (record: ExchangeRecord) => Promise<void>;
}

/**
 * A WebSocket on an intercepted AI host (the OpenAI Realtime API, Gemini Live) carries prompts in
 * frames Edge does not read. It is still decided like a request, on what its URL says (the provider of
 * the host, `?model=` where the API puts it there), and its opening is recorded as flagged: uninspected.
 * A refusal closes the socket with Edge's message as the close reason.
 */
export function createWebSocketDecision(deps: WebSocketDecisionDeps) {
  return async (input: { host: string; path: string; headers: IncomingHttpHeaders }): Promise<{ action: 'allow' } | { action: 'block'; message: string }> => {
    const info: HttpRequestInfo = { method: 'GET', host: input.host, path: input.path, headers: input.headers };
    const resolution = deps.resolve(info);
    if (resolution.kind === 'not-ai') return { action: 'allow' };
    const app = appFromUserAgent(header(input.headers['user-agent']));
    const model = new URL(input.path, 'http://websocket.invalid').searchParams.get('model');
    const request: NormalizedRequest = {
      provider: resolution.surface.provider as ProviderName, adapter: 'websocket', operation: 'websocket', model, stream: true, texts: [], tools: [], inspected: false,
    };
    const verdict = await deps.policy()({ request, body: undefined, info, app });
    const base = { id: randomUUID(), method: 'GET', host: input.host, path: input.path.split('?')[0] ?? '/', provider: request.provider, model, app, latencyMs: 0 };
    if (verdict.action === 'block') {
      await deps.record({ ...base, via: 'edge', decision: 'blocked', status: verdict.error.status, errorType: verdict.error.type, message: verdict.error.message, findings: [] });
      return { action: 'block', message: verdict.error.message };
    }
    // Recorded before the socket opens: an answer the record could not be written for is not given.
    await deps.record({ ...base, decision: 'flagged', findings: [{ type: 'uninspected', ruleId: 'websocket', action: 'flag', location: 'request' }] });
    return { action: 'allow' };
  };
}
