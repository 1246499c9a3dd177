import type { IncomingMessage } from 'node:http';
import type { IWebSocketContext, Proxy as MitmProxy } from 'http-mitm-proxy';
import type WebSocket from 'ws';
import { closeReason } from './websocket-close-reason.js';

/**
 * The subprotocols a client offered in its upgrade request (`Sec-WebSocket-Protocol`, comma-separated, possibly
 * over several header lines), in its order. They can hold credentials (openai-node's browser client sends its API
 * key as `openai-insecure-api-key.<key>`): they are handed on, never logged.
 */
export function offeredSubprotocols(upgradeReq: IncomingMessage | undefined): string[] {
  const raw = upgradeReq?.headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  const lines = Array.isArray(raw) ? raw : [raw];
  return lines.flatMap((line) => line.split(',')).map((token) => token.trim()).filter((token) => token.length > 0);
}

/** RFC 6455: the endpoint received a handshake or frame it cannot go on with. */
const PROTOCOL_ERROR = 1002;

/**
 * Opens the upstream WebSocket of a relayed one, as http-mitm-proxy's own dial does (same URL, agent and headers,
 * same frame, close and error handlers), but offering the upstream the subprotocols the client offered: the
 * library copies every header except `sec-websocket-*`, so a server that authenticates by subprotocol (the OpenAI
 * Realtime API from a browser) never saw the key, and one that needs a subprotocol refused the session.
 *
 * Edge's WebSocket server answered the client before the upstream exists, with the first protocol it offered
 * (ws's default). When the upstream chooses another one (or none), the two ends would speak different protocols:
 * both close instead, with a reason saying so (the protocols are not named: they may hold a key). An upstream that
 * chooses none when some were offered fails its handshake in `ws`, which closes the client as any failed dial does.
 */
export function openUpstreamWebSocket(proxy: MitmProxy, ctx: IWebSocketContext, protocols: string[]): void {
  const client = ctx.clientToProxyWebSocket as WebSocket & { _socket: { resume(): void } };
  const options = ctx.proxyToServerWebSocketOptions!;
  // The client's socket is an instance of the `ws` class http-mitm-proxy uses; the upstream is made by the same one.
  const WebSocketClass = client.constructor as typeof WebSocket;
  const upstream = new WebSocketClass(options.url!, protocols, options);
  ctx.proxyToServerWebSocket = upstream;
  upstream.on('message', (data, isBinary) => proxy._onWebSocketFrame(ctx, 'message', true, data, isBinary));
  upstream.on('ping', (data) => proxy._onWebSocketFrame(ctx, 'ping', true, data, false));
  upstream.on('pong', (data) => proxy._onWebSocketFrame(ctx, 'pong', true, data, false));
  upstream.on('error', (err) => proxy._onWebSocketError(ctx, err));
  upstream.on('close', (code, reason) => proxy._onWebSocketClose(ctx, true, code, reason));
  upstream.on('open', () => {
    (upstream as unknown as { _socket: { on(event: 'error', listener: (err: Error) => void): void } })._socket.on('error', (err) => proxy._onWebSocketError(ctx, err));
    if (upstream.protocol !== client.protocol) {
      // Marked closed first, so the library's close handler does not relay one side's close to the other.
      (ctx as { closedByServer?: boolean }).closedByServer = true;
      const reason = closeReason('Bifrost Edge: the server chose another WebSocket subprotocol than this connection was answered with');
      upstream.close(1000);
      client.close(PROTOCOL_ERROR, reason);
      client._socket.resume();
      return;
    }
    if (client.readyState === client.OPEN) client._socket.resume();
  });
}
