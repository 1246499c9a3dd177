import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayHealth } from '../../src/gateway/gateway-health.js';

/**
 * A captive portal (hotel, airport Wi-Fi) answers every plain-HTTP request with a redirect to its
 * login page. That is not the gateway answering: the gateway stays down instead of flapping up.
 */

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function gateway(status: number): Promise<{ url: string; probes: () => number }> {
  let probes = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/health') probes += 1;
    res.writeHead(status, status >= 300 && status < 400 ? { location: 'http://portal.example/login' } : {}).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, probes: () => probes };
}

describe('GatewayHealth and answers that are not the gateway\'s', () => {
  it.each([302, 307])('a %i redirect to a login page does not count as the gateway being back', async (status) => {
    const portal = await gateway(status);
    const changes: boolean[] = [];
    const health = new GatewayHealth({ gatewayUrl: portal.url, probeIntervalMs: 100, onChange: (up) => changes.push(up) });
    closers.push(() => health.close());
    health.report(false);
    for (let i = 0; i < 40 && portal.probes() < 3; i++) await sleep(50);
    expect(portal.probes()).toBeGreaterThanOrEqual(3);
    expect(changes).toEqual([false]);
  });

  it.each([200, 404])('a %i answer is the gateway answering', async (status) => {
    const server = await gateway(status);
    const changes: boolean[] = [];
    const health = new GatewayHealth({ gatewayUrl: server.url, probeIntervalMs: 100, onChange: (up) => changes.push(up) });
    closers.push(() => health.close());
    health.report(false);
    for (let i = 0; i < 40 && changes.length < 2; i++) await sleep(50);
    expect(changes).toEqual([false, true]);
  });
});
