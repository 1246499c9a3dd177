import type { IWebSocketContext, Proxy as MitmProxy } from 'http-mitm-proxy';

/**
 * Keeps http-mitm-proxy from relaying for a WebSocket that has no upstream. Edge answers a socket it refuses or
 * blocks (a Host naming another server, a model the key does not allow, a decision that failed) with 101 and a
 * close frame, and never opens an upstream for it; the library still hands every client frame to its relay,
 * which reads `ctx.proxyToServerWebSocket.readyState` and threw on `undefined`, uncaught: a Realtime client that
 * sends `session.update` on open ended the Edge process, and with it every app's AI traffic. Such frames are
 * dropped (the client's socket closes with Edge's reason, as before); its close relays nothing either
 * (websocket-close-relay.ts).
 *
 * Handlers run before the library's own step and that step runs only once each calls back: a handler that
 * does not call back stops it.
 */
export function dropFramesWithoutUpstream(proxy: MitmProxy): void {
  const hasUpstream = (ctx: IWebSocketContext) => ctx.proxyToServerWebSocket !== undefined;
  proxy.onWebSocketFrame((ctx, _type, _fromServer, data, flags, callback) => {
    if (hasUpstream(ctx)) callback(null, data, flags);
  });
}
