import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { IWebSocketContext } from 'http-mitm-proxy';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { silentLogger } from '../../src/log.js';
import type { HandOver, WebSocketMessageInspector } from '../../src/proxy/websocket-inspection.js';
import { inspectClientMessages } from '../../src/proxy/websocket-message-relay.js';

/**
 * The relay says why an allowed turn was not sent, for its record: its client left (client_aborted), the upstream
 * closed (upstream_closed), or the upstream was not open yet (upstream_not_open): a socket still connecting is not
 * one that closed. Real `ws` sockets on 127.0.0.1; the relay is given the frame hook http-mitm-proxy would call.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return (server.address() as AddressInfo).port;
}

/** The proxy's side of a client's WebSocket (what http-mitm-proxy calls clientToProxyWebSocket), open. */
async function clientSide(): Promise<WebSocket> {
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer();
  const accepted = new Promise<WebSocket>((resolve) => {
    server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, resolve));
  });
  const port = await listen(server);
  const client = new WebSocket(`ws://127.0.0.1:${port}/`);
  client.on('error', () => {});
  cleanups.push(() => client.terminate());
  return accepted;
}

/** An upstream WebSocket still connecting: its server takes the connection and never answers the upgrade. */
async function connectingUpstream(): Promise<WebSocket> {
  const server = http.createServer();
  server.on('upgrade', () => {});
  const port = await listen(server);
  const upstream = new WebSocket(`ws://127.0.0.1:${port}/`);
  upstream.on('error', () => {});
  cleanups.push(() => upstream.terminate());
  return upstream;
}

/** Relays one client message through inspectClientMessages, with an inspector that allows it; resolves to its hand-over. */
async function handOverOf(ctx: Partial<IWebSocketContext>): Promise<{ outcome: HandOver; relayed: boolean }> {
  let frameHook: Parameters<IWebSocketContext['onWebSocketFrame']>[0] | undefined;
  const context = { ...ctx, onWebSocketFrame: (hook: typeof frameHook) => { frameHook = hook; } } as unknown as IWebSocketContext;
  let handedOver: (outcome: HandOver) => void = () => {};
  const outcome = new Promise<HandOver>((resolve) => { handedOver = resolve; });
  const inspector: WebSocketMessageInspector = {
    inspect: () => Promise.resolve({ action: 'forward', handedOver: (result) => { handedOver(result); return Promise.resolve(); } }),
    tooBigReason: 'too big',
    recordTooBig: () => Promise.resolve(),
    serverMessage: () => undefined,
    closed: () => Promise.resolve(),
  };
  inspectClientMessages(context, inspector, silentLogger);
  let relayed = false;
  frameHook!(context, 'message', false, Buffer.from('{"type":"response.create","model":"gpt-5-mini","input":"hi"}'), false, () => { relayed = true; });
  return { outcome: await outcome, relayed };
}

describe('why an allowed turn was not sent', () => {
  it('the upstream still connecting: upstream_not_open, not upstream_closed', async () => {
    const upstream = await connectingUpstream();
    expect(upstream.readyState).toBe(WebSocket.CONNECTING);
    const result = await handOverOf({ clientToProxyWebSocket: await clientSide() as never, proxyToServerWebSocket: upstream as never });
    expect(result).toEqual({ outcome: { sent: false, errorType: 'upstream_not_open' }, relayed: false });
  });

  it('no upstream attached yet: upstream_not_open', async () => {
    const result = await handOverOf({ clientToProxyWebSocket: await clientSide() as never });
    expect(result).toEqual({ outcome: { sent: false, errorType: 'upstream_not_open' }, relayed: false });
  });

  it('the upstream closed (the library marked it closed by the server): upstream_closed', async () => {
    const upstream = await connectingUpstream();
    upstream.terminate();
    await new Promise((resolve) => upstream.once('close', resolve));
    const result = await handOverOf({ clientToProxyWebSocket: await clientSide() as never, proxyToServerWebSocket: upstream as never, closedByServer: true } as Partial<IWebSocketContext>);
    expect(result).toEqual({ outcome: { sent: false, errorType: 'upstream_closed' }, relayed: false });
  });

  it('the client left: client_aborted', async () => {
    const upstream = await connectingUpstream();
    const result = await handOverOf({ clientToProxyWebSocket: await clientSide() as never, proxyToServerWebSocket: upstream as never, closedByClient: true } as Partial<IWebSocketContext>);
    expect(result).toEqual({ outcome: { sent: false, errorType: 'client_aborted' }, relayed: false });
  });
});
