import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { opened, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * A relayed WebSocket whose receiving side does not read holds its sender back instead of growing Edge's memory:
 * Edge stops reading one side while what waits for the other is over its high-water mark (4 MiB), and reads on
 * once that side drained. The origin streams MESSAGES binary messages of 1 MiB (`?stream`, as fast as Edge reads
 * them), or reads nothing until told to (`?stall`).
 */

const MESSAGE = Buffer.alloc(1024 * 1024, 0x61);
const MESSAGES = 192;
/** Of MESSAGES MiB, what may be in flight when one side stops reading: Edge's 4 MiB plus the kernel's buffers. */
const MAX_IN_FLIGHT = MESSAGES / 2;

let origin: http.Server;
let wss: WebSocketServer;
let edge: EdgeProcess;
/** How many messages the streaming origin has handed to its socket. */
let streamed = 0;
/** The stalled origin's socket, and how many messages it has read. */
let stalled: { ws: WebSocket; received: number } | undefined;

beforeAll(async () => {
  wss = new WebSocketServer({ noServer: true, maxPayload: 2 * MESSAGE.length });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    if (req.url?.includes('stall')) {
      const side = { ws, received: 0 };
      stalled = side;
      ws.on('message', () => side.received++);
      ws.pause();
      return;
    }
    const pump = () => {
      while (streamed < MESSAGES && ws.bufferedAmount < 4 * MESSAGE.length && ws.readyState === WebSocket.OPEN) {
        ws.send(MESSAGE, { binary: true });
        streamed++;
      }
      if (streamed < MESSAGES && ws.readyState === WebSocket.OPEN) setTimeout(pump, 5);
    };
    pump();
  }));
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-backpressure-');
});

afterAll(async () => {
  // Upgraded sockets are not the HTTP server's to close: a test that failed midway leaves them open.
  for (const ws of wss?.clients ?? []) ws.terminate();
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

/** Edge's resident memory in MiB. */
const edgeRssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${edge.child.pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openThroughEdge(query: string): Promise<WebSocket> {
  const ws = await webSocketThroughEdge(edge, `wss://api.openai.com/v1/realtime?model=gpt-realtime&${query}`);
  await opened(ws);
  return ws;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a side that does not read holds the other back', () => {
  it('a client that stops reading: the upstream is read no further, and all of it arrives once the client reads', async () => {
    const rssBefore = edgeRssMiB();
    const client = await openThroughEdge('stream');
    client.pause();
    let received = 0;
    client.on('message', () => received++);
    await sleep(2000);
    const rssGrowth = edgeRssMiB() - rssBefore;
    expect(streamed, `the upstream sent ${streamed} of ${MESSAGES} MiB to a client that read nothing`).toBeLessThan(MAX_IN_FLIGHT);
    expect(rssGrowth, `Edge grew by ${Math.round(rssGrowth)} MiB`).toBeLessThan(MAX_IN_FLIGHT);
    client.resume();
    await until(() => received === MESSAGES, `all ${MESSAGES} messages at the client (${received} so far)`);
    client.close();
  }, 30_000);

  it('an upstream that stops reading: the client is read no further, and all of it arrives once the upstream reads', async () => {
    const rssBefore = edgeRssMiB();
    const client = await openThroughEdge('stall');
    for (let i = 0; i < MESSAGES; i++) client.send(MESSAGE, { binary: true });
    await sleep(2000);
    const rssGrowth = edgeRssMiB() - rssBefore;
    const leftWithClient = client.bufferedAmount / MESSAGE.length;
    expect(MESSAGES - leftWithClient, `Edge took ${Math.round(MESSAGES - leftWithClient)} of ${MESSAGES} MiB for an upstream that read nothing`).toBeLessThan(MAX_IN_FLIGHT);
    expect(rssGrowth, `Edge grew by ${Math.round(rssGrowth)} MiB`).toBeLessThan(MAX_IN_FLIGHT);
    stalled!.ws.resume();
    await until(() => stalled!.received === MESSAGES, `all ${MESSAGES} messages at the upstream (${stalled!.received} so far)`);
    client.close();
  }, 30_000);
});
