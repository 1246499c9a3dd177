import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { closeWithin, opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * A close on one side of a relayed WebSocket closes the other side promptly: with the code and reason given, or
 * with none when the close had none (1005) or was no close at all (1006, the connection dropped). The origin
 * closes as the URL's `close` parameter says, 300 ms after it opened; and reports how its client closed.
 */

let origin: http.Server;
let edge: EdgeProcess;
/** How each connection's client closed, as the origin saw it. */
const originSaw: Array<Promise<{ code: number; reason: string }>> = [];

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    originSaw.push(new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))));
    const how = new URL(req.url ?? '/', 'http://origin.invalid').searchParams.get('close');
    if (how === null) return;
    setTimeout(() => {
      if (how === 'no-code') ws.close();
      else if (how === 'drop') ws.terminate();
      else ws.close(Number(how), 'bye');
    }, 300);
  }));
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-closes-');
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

/** Opens a Realtime WebSocket through Edge; `closed` settles with the client's close, or 'still open' after 3 s. */
async function openThroughEdge(query: string) {
  const ws = await webSocketThroughEdge(edge, `wss://api.openai.com/v1/realtime?model=gpt-realtime${query}`);
  const closed = closeWithin(ws, 3000);
  await opened(ws);
  return { ws, closed, originSaw: originSaw[originSaw.length - 1]! };
}

describe('the upstream closes: the client is closed', () => {
  it('with a code and reason: the client gets them', async () => {
    const socket = await openThroughEdge('&close=4001');
    expect(await socket.closed).toEqual({ code: 4001, reason: 'bye' });
  });

  it('without a status code (1005): the client is closed without one too, not left open', async () => {
    const socket = await openThroughEdge('&close=no-code');
    const closed = await socket.closed;
    socket.ws.terminate();
    expect(closed).toEqual({ code: 1005, reason: '' });
  });

  it('by dropping the connection (1006): the client is closed without a code', async () => {
    const socket = await openThroughEdge('&close=drop');
    const closed = await socket.closed;
    socket.ws.terminate();
    expect(closed).toEqual({ code: 1005, reason: '' });
  });
});

describe('the client closes: the upstream is closed', () => {
  it('with a code and reason: the upstream gets them', async () => {
    const socket = await openThroughEdge('');
    socket.ws.close(4002, 'done here');
    expect(await socket.originSaw).toEqual({ code: 4002, reason: 'done here' });
  });

  it('without a status code: the upstream is closed without one', async () => {
    const socket = await openThroughEdge('');
    socket.ws.close();
    expect(await socket.originSaw).toEqual({ code: 1005, reason: '' });
  });
});
