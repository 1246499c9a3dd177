import http from 'node:http';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { EdgeProcess } from '../support/edge-process.js';
import { startEdgeBeforeRealtimeOrigin } from '../support/realtime-edge.js';
import { openConnectTunnel } from '../support/proxy-clients.js';
import { closeOf, webSocketThroughEdge } from '../support/websocket-through-edge.js';

/**
 * A WebSocket Edge refuses or blocks is answered 101 and closed with its reason: it has no upstream. What the
 * client sends before it reads that close (a Realtime client sends `session.update` the moment it opens) must be
 * dropped, never relayed: relaying it to no upstream threw inside http-mitm-proxy and ended the Edge process,
 * and with it every app's AI traffic. The same for a socket whose upstream closed first.
 */

let origin: http.Server;
let edge: EdgeProcess;

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  origin = http.createServer();
  origin.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    // `close-first`: the upstream ends the session the moment it opens.
    if (req.url?.includes('close-first')) {
      ws.close(1000, 'done');
      return;
    }
    ws.on('message', (m) => ws.send(`echo ${m.toString()}`));
  }));
  edge = await startEdgeBeforeRealtimeOrigin(origin, 'edge-ws-no-upstream-');
});

afterAll(async () => {
  await edge?.stop();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});

async function tlsToEdge(host = 'api.openai.com'): Promise<tls.TLSSocket> {
  const { socket: raw } = await openConnectTunnel(edge.proxyUrl, `${host}:443`);
  const socket = tls.connect({ socket: raw, servername: host, ca: edge.caPem });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  return socket;
}

/** Opens a WebSocket through Edge with a `ws` client; `onOpen` runs the moment the handshake is answered. */
async function openThroughEdge(url: string, onOpen: (ws: WebSocket) => void = () => {}) {
  const ws = await webSocketThroughEdge(edge, url);
  const replies: string[] = [];
  ws.on('message', (m) => replies.push(m.toString()));
  ws.on('open', () => onOpen(ws));
  const closed = closeOf(ws);
  return { ws, replies, closed };
}

/** A masked client frame (text by default), as a client writes it. */
function clientFrame(payload: string, opcode = 0x1): Buffer {
  const data = Buffer.from(payload);
  const mask = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length]), mask, Buffer.from(data.map((b, i) => b ^ mask[i % 4]!))]);
}

const upgradeRequest = (target: string, host = 'api.openai.com') =>
  `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/**
 * Writes an upgrade and, in the same write, a message and a ping (sent before the answer is read); once Edge's
 * close frame arrives, another message and ping, then leaves. Resolves with the close code Edge sent.
 */
async function sendToARefusedSocket(upgrade: string): Promise<number | undefined> {
  const socket = await tlsToEdge();
  const chunks: Buffer[] = [];
  // Undefined: the connection ended without a close frame (Edge went away).
  const closeCode = new Promise<number | undefined>((resolve) => {
    socket.once('close', () => resolve(undefined));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = Buffer.concat(chunks);
      const at = answer.indexOf(Buffer.from([0x88]), answer.indexOf('\r\n\r\n'));
      if (at !== -1 && answer.length >= at + 4) resolve(answer.readUInt16BE(at + 2));
    });
  });
  socket.write(Buffer.concat([Buffer.from(upgrade), clientFrame('{"type":"session.update","session":{}}'), clientFrame('are you there', 0x9)]));
  const code = await closeCode;
  socket.write(Buffer.concat([clientFrame('{"type":"response.create"}'), clientFrame('still there', 0x9)]));
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.destroy();
  return code;
}

/** Edge is still running and still relays WebSockets. */
async function expectEdgeServes(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(edge.child.exitCode, `Edge exited; stderr:\n${edge.stderr().slice(-4000)}`).toBeNull();
  const message = JSON.stringify({ type: 'input_audio_buffer.commit' });
  const socket = await openThroughEdge('wss://api.openai.com/v1/realtime?model=gpt-realtime', (ws) => ws.send(message));
  await new Promise<void>((resolve) => socket.ws.once('message', () => resolve()));
  expect(socket.replies).toEqual([`echo ${message}`]);
  socket.ws.close();
  expect(edge.stderr()).not.toContain('TypeError');
}

describe('a client that sends on a WebSocket Edge closed without an upstream', () => {
  it('a model the key does not allow: a message and a ping sent on open are dropped, and Edge keeps running', async () => {
    const socket = await openThroughEdge('wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview', (ws) => {
      ws.send(JSON.stringify({ type: 'session.update', session: {} }));
      ws.ping('are you there');
    });
    const closed = await socket.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('gpt-4o-realtime-preview');
    await expectEdgeServes();
  });

  it('a Host naming another server: frames sent with the upgrade and after the close are dropped', async () => {
    expect(await sendToARefusedSocket(upgradeRequest('/v1/realtime?model=gpt-realtime', 'other.example'))).toBe(1008);
    await expectEdgeServes();
  });

  it('a whole URL as the request target: frames sent with the upgrade and after the close are dropped', async () => {
    expect(await sendToARefusedSocket(upgradeRequest('ws://127.0.0.1:1/v1/realtime?model=gpt-realtime'))).toBe(1008);
    await expectEdgeServes();
  });

  it('an upstream that closed first: what the client sends after is dropped, and the client is closed with its code', async () => {
    const socket = await openThroughEdge('wss://api.openai.com/v1/realtime?model=gpt-realtime&close-first', (ws) => {
      for (let i = 0; i < 20; i++) ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      ws.ping();
    });
    const closed = await socket.closed;
    expect(closed).toEqual({ code: 1000, reason: 'done' });
    await expectEdgeServes();
  });
});
