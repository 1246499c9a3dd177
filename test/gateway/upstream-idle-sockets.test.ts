import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamClient } from '../../src/gateway/upstream-client.js';

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

/** A keep-alive upstream that sends no Keep-Alive hint; answers after `delayMs`; notes when clients hang up. */
async function upstream(delayMs = 0): Promise<{ port: number; clientClosed: () => number }> {
  let closed = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', () => {
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok'), delayMs);
    });
    socket.once('end', () => { closed += 1; socket.end(); });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, clientClosed: () => closed };
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

  it('the timeout applies to idle connections only: an answer slower than it still arrives', async () => {
    const server = await upstream(IDLE_MS * 3);
    const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000, freeSocketTimeoutMs: IDLE_MS });
    closers.push(() => client.close());
    expect(await forwardOnce(client, server.port)).toBe(200);
  });
});
