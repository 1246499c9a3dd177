import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { UpstreamClient } from '../../src/gateway/upstream-client.js';

/**
 * The keep-alive race: the upstream closes an idle connection just as Edge reuses it. The request
 * never reached the upstream, so Edge sends it again on a fresh connection instead of failing it.
 */
describe('UpstreamClient on a kept-alive socket the upstream closed', () => {
  it('resends a buffered request once on a fresh connection', async () => {
    let served = 0;
    const usedSockets = new WeakSet<object>();
    const upstream = http.createServer((req, res) => {
      // The second request on a kept-alive connection meets a reset, as when the upstream's idle
      // timeout fires at the moment Edge reuses the socket.
      if (usedSockets.has(req.socket)) {
        req.socket.resetAndDestroy();
        return;
      }
      usedSockets.add(req.socket);
      served++;
      req.resume();
      req.on('end', () => res.end(`answer ${served}`));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1/x`);
    const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000 });
    // A stand-in for the proxy's client response: an http server response we read back.
    const front = http.createServer((_req, res) => {
      client.forward({ via: 'origin', url, headers: { host: url.host } }, 'POST', Buffer.from('{"a":1}'), res, { onFailure: (e) => res.writeHead(502).end(e.message) });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}/`;
    try {
      expect(await (await fetch(frontUrl)).text()).toBe('answer 1');
      const second = await fetch(frontUrl);
      expect(second.status).toBe(200);
      expect(await second.text()).toBe('answer 2');
    } finally {
      client.close();
      front.closeAllConnections();
      front.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});
