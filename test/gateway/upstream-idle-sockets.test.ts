import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { keepAliveIdleMs, UpstreamClient } from '../../src/gateway/upstream-client.js';

/**
 * Kept-alive upstream connections left idle are closed by Edge before the server's own idle timeout
 * would (Go servers, nginx and cloud load balancers drop idle connections after a few seconds to a
 * minute without saying so). Reusing one the server is closing fails a POST with a reset, which a
 * proxy must not send again.
 */

const IDLE_MS = 300;
const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A keep-alive upstream (Keep-Alive hint only when `hint` is given); answers after `delayMs`; notes when clients hang up. */
async function upstream(delayMs = 0, hint?: string): Promise<{ port: number; clientClosed: () => number; connections: () => number }> {
  let closed = 0;
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    socket.on('error', () => {});
    socket.on('data', () => {
      const keepAlive = hint === undefined ? '' : `keep-alive: ${hint}\r\n`;
      setTimeout(() => socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${keepAlive}content-length: 2\r\n\r\nok`), delayMs);
    });
    socket.once('end', () => { closed += 1; socket.end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, clientClosed: () => closed, connections: () => connections };
}

/** Forwards one POST through `client`; resolves with the status the front's client saw. */
async function forwardOnce(client: UpstreamClient, port: number): Promise<number> {
  const front = http.createServer((req, res) => {
    req.resume();
    client.forward({ via: 'gateway', url: new URL(`http://127.0.0.1:${port}/openai/v1/chat/completions`), headers: {} }, 'POST', Buffer.from('{}'), res, {
      onFailure: (e) => res.writeHead(e.status).end(e.message),
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  try {
    const answer = await fetch(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, { method: 'POST', body: '{}' });
    await answer.text();
    return answer.status;
  } finally {
    front.closeAllConnections();
    front.close();
  }
}

describe('idle upstream connections', () => {
  it('are closed by Edge after freeSocketTimeoutMs', async () => {
    const server = await upstream();
    const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000, freeSocketTimeoutMs: IDLE_MS });
    closers.push(() => client.close());
    expect(await forwardOnce(client, server.port)).toBe(200);
    for (let i = 0; i < 30 && server.clientClosed() === 0; i++) await sleep(50);
    expect(server.clientClosed()).toBe(1);
  });

  it('a server that announces a longer idle time (Keep-Alive: timeout=N) keeps its connection that long, less a second', async () => {
    const server = await upstream(0, 'timeout=3, max=1000');
    const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000, freeSocketTimeoutMs: IDLE_MS });
    closers.push(() => client.close());
    expect(await forwardOnce(client, server.port)).toBe(200);
    await sleep(IDLE_MS * 3);
    // Past Edge's own idle timeout: still open, and reused (no second connection, no new handshake).
    expect(server.clientClosed()).toBe(0);
    expect(await forwardOnce(client, server.port)).toBe(200);
    expect(server.connections()).toBe(1);
    // Closed by Edge about a second before the server said it would.
    for (let i = 0; i < 60 && server.clientClosed() === 0; i++) await sleep(50);
    expect(server.clientClosed()).toBe(1);
  });

  it('reads the hint\'s timeout in any position and ignores one too short to use', () => {
    expect(keepAliveIdleMs('timeout=120')).toBe(119_000);
    expect(keepAliveIdleMs('max=100, timeout=5')).toBe(4000);
    expect(keepAliveIdleMs('timeout=1')).toBeUndefined();
    expect(keepAliveIdleMs('max=5')).toBeUndefined();
    expect(keepAliveIdleMs(undefined)).toBeUndefined();
  });

  it('the timeout applies to idle connections only: an answer slower than it still arrives', async () => {
    const server = await upstream(IDLE_MS * 3);
    const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000, freeSocketTimeoutMs: IDLE_MS });
    closers.push(() => client.close());
    expect(await forwardOnce(client, server.port)).toBe(200);
  });
});
