import type http from 'node:http';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import { openConnectTunnel } from './proxy-clients.js';

/** What a client needs of a running Edge to reach it as its proxy. */
export interface EdgeProxy {
  proxyUrl: string;
  caPem: string;
}

/**
 * TLS to `host` in a CONNECT tunnel through Edge, as a WebSocket client's `createConnection` (a `ws` client or the
 * OpenAI SDK's): the tunnel is opened first, because `createConnection` must hand back a socket at once.
 */
export async function tunnelThroughEdge(edge: EdgeProxy, host: string): Promise<() => tls.TLSSocket> {
  const { socket } = await openConnectTunnel(edge.proxyUrl, `${host}:443`);
  return () => tls.connect({ socket, servername: host, ca: edge.caPem });
}

/**
 * A `ws` client on `url` through Edge, the URL sent as written (ws keeps a trailing slash and escapes). Its errors
 * are swallowed: a test reads what happened from its open, close and unexpected-response events.
 */
export async function webSocketThroughEdge(edge: EdgeProxy, url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  const createConnection = await tunnelThroughEdge(edge, new URL(url).hostname);
  const ws = new WebSocket(url, options.protocols ?? [], { createConnection, ...(options.headers ? { headers: options.headers } : {}) } as never);
  ws.on('error', () => {});
  return ws;
}

/** Resolves once `ws` opens; rejects, saying how, when it closes first (a refused upgrade ends so too). */
export function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    let why = '';
    ws.on('error', (err) => (why = `: ${err.message}`));
    ws.once('open', () => resolve());
    ws.once('close', (code, reason) => reject(new Error(`the socket closed before it opened (${code} ${reason.toString()})${why}`)));
  });
}

export interface WebSocketClose {
  code: number;
  reason: string;
}

/** The close `ws` gets. */
export function closeOf(ws: WebSocket): Promise<WebSocketClose> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** The close `ws` gets within `ms`, or 'still open'. */
export function closeWithin(ws: WebSocket, ms: number): Promise<WebSocketClose | 'still open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still open'), ms);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

export interface SettledHandshake {
  opened: boolean;
  /** The 101 answer's Sec-WebSocket-Protocol; null when none. */
  answeredProtocol?: string | null;
  /** The answer other than 101, with its body. */
  refused?: { status: number; headers: http.IncomingHttpHeaders; body: string };
  /** What failed the handshake, when neither of those came. */
  error?: string;
}

/** Waits until the handshake of `ws` (just made) is settled: opened, refused with an answer read whole, failed or closed. */
export async function settledHandshake(ws: WebSocket): Promise<SettledHandshake> {
  const result: SettledHandshake = { opened: false };
  ws.on('upgrade', (res) => {
    result.answeredProtocol = res.headers['sec-websocket-protocol'] ?? null;
  });
  await new Promise<void>((resolve) => {
    ws.once('open', () => {
      result.opened = true;
      resolve();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        result.refused = { status: res.statusCode ?? 0, headers: res.headers, body };
        resolve();
      });
    });
    ws.once('error', (err) => {
      result.error = err.message;
      resolve();
    });
    ws.once('close', () => resolve());
  });
  return result;
}
