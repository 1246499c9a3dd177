import type { Agent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { IWebSocketContext, Proxy as MitmProxy } from 'http-mitm-proxy';
import type WebSocket from 'ws';
import type { HostPort } from './connect-target.js';

/**
 * The subprotocols a client offered in its upgrade request (`Sec-WebSocket-Protocol`, comma-separated, possibly
 * over several header lines), in its order. They can hold credentials (openai-node's browser client sends its API
 * key as `openai-insecure-api-key.<key>`): they are handed on, never logged.
 */
export function offeredSubprotocols(headers: IncomingHttpHeaders): string[] {
  const raw = headers['sec-websocket-protocol'];
  if (raw === undefined) return [];
  const lines = Array.isArray(raw) ? raw : [raw];
  return lines.flatMap((line) => line.split(',')).map((token) => token.trim()).filter((token) => token.length > 0);
}

/**
 * The URL of the upstream of an upgrade request that arrived in the CONNECT tunnel to `tunnel`: the scheme of the
 * server it arrived on, the tunnel's host and port, and the path (a request target that is not a path, or a Host
 * naming another host, is refused before: webSocketRefusal). The tunnel's port wins over one the Host header
 * names, as for HTTP requests: http-mitm-proxy's rule (the Host header as it is) dialed `Host: api.openai.com:8443`
 * on port 8443 inside a tunnel opened to api.openai.com:443.
 */
export function upstreamUrlOf(upgradeReq: IncomingMessage, tunnel: HostPort): string {
  const encrypted = (upgradeReq.socket as TLSSocket).encrypted === true;
  const hostPart = tunnel.host.includes(':') ? `[${tunnel.host}]` : tunnel.host;
  const port = tunnel.port === (encrypted ? 443 : 80) ? '' : `:${tunnel.port}`;
  return `${encrypted ? 'wss' : 'ws'}://${hostPart}${port}${upgradeReq.url ?? '/'}`;
}

/** Error bodies are small; of a larger one, the client gets this much (its Content-Length says so). */
const MAX_REFUSAL_BODY_BYTES = 64 * 1024;

export interface UpstreamDialOptions {
  /** The `ws` class the proxy's WebSocket servers make their sockets with (the library's frame relay calls its methods). */
  WebSocketClass: typeof WebSocket;
  url: string;
  agent: Agent;
  /**
   * The client's upgrade headers, handed on as http-mitm-proxy does (but for `ws`'s own `sec-websocket-*` ones),
   * with the subprotocols the client offered, as it wrote them.
   */
  headers: IncomingHttpHeaders;
  /**
   * How long the upstream may take to answer the upgrade, all of it: to open, or to refuse with its whole body
   * (a refusal still being read then is taken with the part read).
   */
  handshakeTimeoutMs: number;
}

export type UpstreamDial =
  | { kind: 'open'; upstream: UpstreamWebSocket }
  /** The upstream answered the upgrade with an HTTP response (401, 403, 404, …), read up to a limit. */
  | { kind: 'refused'; response: IncomingMessage; body: Buffer }
  /** No upstream WebSocket: `status` 502, or 504 when it did not answer in time; `message` says why. */
  | { kind: 'failed'; status: 502 | 504; message: string };

/** An opened upstream WebSocket, not yet relayed to a client. */
export interface UpstreamWebSocket {
  /** The subprotocol the upstream chose; '' when it chose none. */
  readonly protocol: string;
  /**
   * Relays its frames, close and errors through http-mitm-proxy's handlers for `ctx`, as the library's own dial
   * does: first what it sent before it was attached, in order, then the rest as it comes.
   */
  attach(proxy: MitmProxy, ctx: IWebSocketContext): void;
  /** Closes it; for a client that went away before its handshake was answered. */
  close(): void;
}

type ContextEvent = (proxy: MitmProxy, ctx: IWebSocketContext) => void;

/**
 * Opens the upstream WebSocket of a relayed one before the client's handshake is answered, offering the
 * subprotocols the client offered (http-mitm-proxy's dial offers none: a server that authenticates by subprotocol,
 * the OpenAI Realtime API from a browser, never saw the key). The client is then answered with exactly what the
 * upstream chose, and an upstream's refusal can reach the client as the HTTP answer it is.
 *
 * RFC 6455 lets a server choose no subprotocol of those offered; `ws` fails such a handshake when it was given
 * protocols to offer. So they are offered as a plain header, and the answer is checked here instead: one the
 * client did not offer fails the dial, none or one it offered is taken (and hidden from `ws`'s own check).
 */
export function dialUpstreamWebSocket(options: UpstreamDialOptions): Promise<UpstreamDial> {
  return new Promise((resolve) => {
    let state: 'dialing' | 'open' | 'settled' = 'dialing';
    /** Set once the upstream refused: takes the refusal with the part of its body read so far. */
    let takeRefusal: (() => void) | undefined;
    // `ws`'s handshake timeout is the socket's idle timeout: an upstream sending a byte now and then (its status
    // line, or a refusal's body) never let it fire, and held the client's handshake as long as it liked.
    const deadline = setTimeout(() => {
      if (takeRefusal) {
        // Its status is the answer the client needs (a 401 is not a timeout); the body is as far as it came.
        takeRefusal();
        return;
      }
      settle(handshakeTimedOut(options.handshakeTimeoutMs));
      upstream.terminate();
    }, options.handshakeTimeoutMs);
    const settle = (dial: UpstreamDial) => {
      if (state !== 'dialing') return;
      state = dial.kind === 'open' ? 'open' : 'settled';
      clearTimeout(deadline);
      resolve(dial);
    };
    const offered = offeredSubprotocols(options.headers);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers)) {
      if (value === undefined || (name.startsWith('sec-websocket-') && name !== 'sec-websocket-protocol')) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }

    let upstream: WebSocket;
    try {
      upstream = new options.WebSocketClass(options.url, { agent: options.agent, headers, handshakeTimeout: options.handshakeTimeoutMs });
    } catch (err) {
      settle({ kind: 'failed', status: 502, message: `Bifrost Edge could not open the upstream WebSocket (${(err as Error).message}); check the origin override for this host` });
      return;
    }

    // Until a client context is attached, what the upstream sends waits here, in order.
    const early: ContextEvent[] = [];
    let attached: { proxy: MitmProxy; ctx: IWebSocketContext } | undefined;
    const deliver = (event: ContextEvent) => {
      if (attached) event(attached.proxy, attached.ctx);
      else early.push(event);
    };
    upstream.on('message', (data, isBinary) => deliver((proxy, ctx) => proxy._onWebSocketFrame(ctx, 'message', true, data, isBinary)));
    upstream.on('ping', (data) => deliver((proxy, ctx) => proxy._onWebSocketFrame(ctx, 'ping', true, data, false)));
    upstream.on('pong', (data) => deliver((proxy, ctx) => proxy._onWebSocketFrame(ctx, 'pong', true, data, false)));
    upstream.on('close', (code, reason) => {
      if (state === 'open') deliver((proxy, ctx) => proxy._onWebSocketClose(ctx, true, code, reason));
    });

    let chosen = '';
    let notOffered = false;
    upstream.on('upgrade', (response) => {
      const answer = response.headers['sec-websocket-protocol'];
      if (answer === undefined) return;
      if (!offered.includes(answer)) {
        // Left in place: `ws`, which was offered none, fails the handshake.
        notOffered = true;
        return;
      }
      chosen = answer;
      delete response.headers['sec-websocket-protocol'];
    });
    upstream.on('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const refused = () => {
        request.destroy();
        settle({ kind: 'refused', response, body: Buffer.concat(chunks) });
      };
      takeRefusal = refused;
      response.on('data', (chunk: Buffer) => {
        const room = MAX_REFUSAL_BODY_BYTES - size;
        chunks.push(chunk.subarray(0, room));
        size += Math.min(chunk.length, room);
        if (size >= MAX_REFUSAL_BODY_BYTES) refused();
      });
      response.on('end', refused);
      response.on('close', refused);
    });
    upstream.on('error', (err) => {
      if (state === 'open') {
        deliver((proxy, ctx) => proxy._onWebSocketError(ctx, err));
        return;
      }
      if (err.message.includes('handshake has timed out')) {
        settle(handshakeTimedOut(options.handshakeTimeoutMs));
        return;
      }
      const why = notOffered ? 'the server chose a WebSocket subprotocol the client did not offer' : err.message;
      settle({ kind: 'failed', status: 502, message: `Bifrost Edge could not open the upstream WebSocket (${why}); try again, or check that the server is reachable` });
    });
    upstream.on('open', () => {
      // As http-mitm-proxy does: `ws` does not report errors of its socket once open.
      (upstream as unknown as { _socket: { on(event: 'error', listener: (err: Error) => void): void } })._socket
        .on('error', (err) => deliver((proxy, ctx) => proxy._onWebSocketError(ctx, err)));
      settle({
        kind: 'open',
        upstream: {
          protocol: chosen,
          attach(proxy, ctx) {
            ctx.proxyToServerWebSocket = upstream;
            attached = { proxy, ctx };
            for (const event of early.splice(0)) event(proxy, ctx);
          },
          close: () => upstream.close(1001),
        },
      });
    });
  });
}

function handshakeTimedOut(timeoutMs: number): UpstreamDial {
  return { kind: 'failed', status: 504, message: `Bifrost Edge: the upstream WebSocket did not answer within ${timeoutMs} ms; try again later` };
}
