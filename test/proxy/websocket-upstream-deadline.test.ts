import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dialUpstreamWebSocket } from '../../src/proxy/websocket-upstream.js';

/**
 * The whole opening of an upstream WebSocket is held to the handshake timeout, however the upstream answers: an
 * upstream that keeps its connection busy with a byte now and then (a refusal's body trickled, or its status line)
 * never lets the socket go idle, so an idle timeout alone held the client's handshake for as long as it liked.
 * The upstream here is a plain HTTP server on 127.0.0.1 whose upgrades do what the path says.
 */

const HANDSHAKE_TIMEOUT_MS = 500;
const TRICKLE_EVERY_MS = 100;

let upstream: http.Server;
let base: string;
const sockets = new Set<Socket>();
const agent = new http.Agent();

/** Writes `text` one piece at a time, `TRICKLE_EVERY_MS` apart, until it is all written or the peer left. */
function trickle(socket: Socket, pieces: string[]): void {
  const timer = setInterval(() => {
    const piece = pieces.shift();
    if (piece === undefined || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    socket.write(piece);
  }, TRICKLE_EVERY_MS);
  socket.once('close', () => clearInterval(timer));
}

beforeAll(async () => {
  upstream = http.createServer();
  upstream.on('upgrade', (req, socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    if (req.url === '/slow-refusal-body') {
      // A refusal answered at once, whose 200-byte body would take 20 s.
      socket.write('HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"error":');
      trickle(socket, Array.from({ length: 200 }, () => ' '));
    } else if (req.url === '/slow-status-line') {
      trickle(socket, [...'HTTP/1.1 101 Switching Protocols\r\n']);
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  agent.destroy();
  await new Promise((resolve) => upstream.close(resolve));
});

const dial = (path: string) => dialUpstreamWebSocket({
  WebSocketClass: WebSocket, url: `${base}${path}`, agent, headers: { host: 'upstream.invalid' }, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
});

describe('the opening of an upstream WebSocket', () => {
  it('a refusal whose body trickles is answered within the handshake timeout: its status, with the body read by then', async () => {
    const started = Date.now();
    const result = await dial('/slow-refusal-body');
    const took = Date.now() - started;
    expect(result.kind).toBe('refused');
    if (result.kind !== 'refused') return;
    expect(result.response.statusCode).toBe(429);
    expect(result.body.toString()).toMatch(/^\{"error": */);
    expect(result.body.length).toBeLessThan(200);
    expect(took).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1000);
  });

  it('an answer whose status line trickles fails with 504 within the handshake timeout', async () => {
    const started = Date.now();
    const result = await dial('/slow-status-line');
    const took = Date.now() - started;
    expect(result).toMatchObject({ kind: 'failed', status: 504, message: expect.stringContaining(`${HANDSHAKE_TIMEOUT_MS} ms`) });
    expect(took).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1000);
  });
});
