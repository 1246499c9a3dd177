import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UpstreamClient } from '../../src/gateway/upstream-client.js';

/**
 * The keep-alive race: the upstream closes a kept-alive connection just as Edge reuses it. A reset
 * cannot tell "never arrived" from "arrived, then the upstream died", so only a request that is
 * harmless to repeat is sent again (RFC 9110 §9.2.2: a proxy must not repeat a POST).
 */
async function withUpstreamThatResetsReuse(run: (front: string, served: () => string[]) => Promise<void>): Promise<void> {
  const served: string[] = [];
  const usedSockets = new WeakSet<object>();
  const upstream = http.createServer((req, res) => {
    // The second request on a kept-alive connection meets a reset, as when the upstream's idle
    // timeout fires at the moment Edge reuses the socket (or it dies while reading the request).
    if (usedSockets.has(req.socket)) {
      req.socket.resetAndDestroy();
      return;
    }
    usedSockets.add(req.socket);
    served.push(req.method ?? '');
    req.resume();
    req.on('end', () => res.end(`answer ${served.length}`));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1/x`);
  const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000 });
  // A stand-in for the proxy's client response: an http server response we read back.
  const front = http.createServer((req, res) => {
    const body = req.method === 'POST' ? Buffer.from('{"a":1}') : null;
    client.forward({ via: 'origin', url, headers: { host: url.host } }, req.method ?? 'GET', body, res, { onFailure: (e) => res.writeHead(e.status).end(e.message) });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, () => served);
  } finally {
    client.close();
    front.closeAllConnections();
    front.close();
    upstream.closeAllConnections();
    upstream.close();
  }
}

describe('UpstreamClient on a kept-alive socket the upstream reset', () => {
  it('sends a GET again once, on a fresh connection', async () => {
    await withUpstreamThatResetsReuse(async (front, served) => {
      expect(await (await fetch(front)).text()).toBe('answer 1');
      const second = await fetch(front);
      expect(second.status).toBe(200);
      expect(await second.text()).toBe('answer 2');
      expect(served()).toEqual(['GET', 'GET']);
    });
  });

  it('does not repeat a POST: the client gets a 502 saying the connection was reset, and decides', async () => {
    await withUpstreamThatResetsReuse(async (front, served) => {
      expect(await (await fetch(front, { method: 'POST' })).text()).toBe('answer 1');
      const second = await fetch(front, { method: 'POST' });
      expect(second.status).toBe(502);
      expect(await second.text()).toMatch(/was reset \(ECONNRESET\)\. Try again/);
      expect(served()).toEqual(['POST']);
    });
  });
});
