import type { IncomingHttpHeaders } from 'node:http';
import type { Mode } from '../config/schema.js';
import { webSocketApiAt } from '../proxy/websocket-api.js';
import { offeredSubprotocols } from '../proxy/websocket-upstream.js';
import { planUpstream, type Attribution, type BifrostRouteMapping, type RequestTarget, type UpstreamSettings } from './upstream-plan.js';

/**
 * Where a WebSocket on an AI host goes. Pure, like planUpstream, whose header rules it reuses.
 *
 * The Bifrost gateway serves one WebSocket API: the OpenAI Responses API's WebSocket mode, `GET /openai/v1/responses`
 * with `Upgrade: websocket` (bifrost-openapi-subset.json, openaiResponsesWebSocket), authenticated like its HTTP
 * routes. In gateway mode that socket goes there with the employee's virtual key, and the app's provider key stays
 * on the laptop. Every other WebSocket (the Realtime API, Gemini Live, web apps) has no Bifrost route and goes to
 * its origin with the app's own credentials, as an HTTP request without a Bifrost route does (bifrostRoute's
 * null). Bifrost documents its pass-through routes for HTTP only, so in pass-through mode WebSockets go to their
 * origin too.
 */

/** The subprotocol by which a client sends its OpenAI API key (`openai-insecure-api-key.<key>`: openai-node's browser clients). */
const CREDENTIAL_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';

/** The route policy chose for a WebSocket's opening, as for a request (PolicyRoute): the mode and the key to send. */
export interface WebSocketRoute {
  mode: Mode;
  virtualKey?: string;
}

/** Where the upstream WebSocket of an allowed upgrade is dialed, or why it is not. */
export type WebSocketUpstreamChoice =
  | {
    kind: 'dial';
    via: 'gateway' | 'origin';
    /** ws:// or wss://. */
    url: string;
    /** The upgrade headers to send (the WebSocket handshake's own `sec-websocket-*` ones are the dialer's). */
    headers: IncomingHttpHeaders;
    /**
     * What the client is answered when the upstream chose no subprotocol: the credential subprotocol Edge withheld
     * from the gateway. A client that offered only that one fails a handshake that answers none (`ws` does); the
     * key it carried was accepted, by Edge, in the gateway's stead.
     */
    protocolWhenNoneChosen?: string;
  }
  | { kind: 'refuse'; status: number; errorType: string; message: string };

/** The gateway's route for a WebSocket, or null when it has none (the socket goes to its origin). */
export function bifrostWebSocketRoute(provider: string | undefined, path: string, mode: Mode): BifrostRouteMapping | null {
  if (mode !== 'gateway' || provider !== 'openai') return null;
  // Recognised where Edge decides whether it reads the socket, so a socket routed here is one it reads; the gateway
  // gets the path's routable form (`/v1/responses/` and `/v1/respons%65s` are `/v1/responses`), as over HTTP.
  const at = webSocketApiAt(provider, path);
  return at?.api === 'openai-responses' ? { path: `/openai${at.pathname}${at.query}` } : null;
}

export interface WebSocketUpstreamInput {
  /** The mode and virtual key of this socket: the route policy chose, else the configuration's. */
  settings: UpstreamSettings;
  /** The provider of the host (undefined when it is not an AI host). */
  provider: string | undefined;
  /** The tunnel's host and port, the path, and the client's upgrade headers. */
  target: RequestTarget;
  /** The origin's WebSocket URL (origin overrides applied). */
  originUrl: string;
  attribution: Attribution;
}

/** Where a WebSocket goes by these settings: the gateway when it has a route for it, else its origin. */
export function webSocketVia(settings: Pick<UpstreamSettings, 'mode' | 'gatewayUrl'>, provider: string | undefined, path: string): 'gateway' | 'origin' {
  return gatewayMapping(settings, provider, path) ? 'gateway' : 'origin';
}

function gatewayMapping(settings: Pick<UpstreamSettings, 'mode' | 'gatewayUrl'>, provider: string | undefined, path: string): BifrostRouteMapping | null {
  return settings.gatewayUrl === undefined ? null : bifrostWebSocketRoute(provider, path, settings.mode);
}

export function planWebSocketUpstream(input: WebSocketUpstreamInput): WebSocketUpstreamChoice {
  const { settings, target } = input;
  const mapping = gatewayMapping(settings, input.provider, target.path);
  if (!mapping) return { kind: 'dial', via: 'origin', url: input.originUrl, headers: target.headers };
  if (!settings.virtualKey) {
    // As an HTTP request to the gateway without a key (request-handler.ts).
    return {
      kind: 'refuse', status: 401, errorType: 'virtual_key_required',
      message: 'You are not signed in to Bifrost Edge, so this AI WebSocket has no virtual key. Sign in from the Bifrost Edge tray icon (or run `bifrost-edge login`) and try again.',
    };
  }
  const plan = planUpstream(settings, target, mapping, input.attribution);
  const url = new URL(plan.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(plan.headers)) {
    if (value !== undefined) headers[name] = typeof value === 'number' ? String(value) : value;
  }
  const offered = offeredSubprotocols(target.headers);
  const withheld = offered.filter(isCredentialSubprotocol);
  const kept = offered.filter((protocol) => !isCredentialSubprotocol(protocol));
  if (kept.length > 0) headers['sec-websocket-protocol'] = kept.join(', ');
  else delete headers['sec-websocket-protocol'];
  return { kind: 'dial', via: 'gateway', url: url.toString(), headers, ...(withheld[0] !== undefined ? { protocolWhenNoneChosen: withheld[0] } : {}) };
}

function isCredentialSubprotocol(protocol: string): boolean {
  return protocol.toLowerCase().startsWith(CREDENTIAL_SUBPROTOCOL_PREFIX);
}
