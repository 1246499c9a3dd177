import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayHealth } from '../../src/gateway/gateway-health.js';

/** A request to the gateway timed out: one /health probe decides whether the gateway is down or only slow. */

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

async function gateway(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GatewayHealth after a timed-out request', () => {
  it('a gateway that does not answer its /health either is marked down', async () => {
    const url = await gateway(() => {});
    const changes: boolean[] = [];
    const health = new GatewayHealth({ gatewayUrl: url, probeTimeoutMs: 300, probeIntervalMs: 60_000, onChange: (up) => changes.push(up) });
    closers.push(() => health.close());
    health.suspectTimeout();
    expect(health.reachable).toBe(true);
    for (let i = 0; i < 40 && changes.length === 0; i++) await sleep(50);
    expect(changes).toEqual([false]);
  });

  it('a gateway whose /health answers is only slow: it stays reachable', async () => {
    const asked: string[] = [];
    const url = await gateway((req, res) => {
      asked.push(req.url ?? '');
      res.end('{"status":"ok"}');
    });
    const changes: boolean[] = [];
    const health = new GatewayHealth({ gatewayUrl: url, probeTimeoutMs: 300, onChange: (up) => changes.push(up) });
    closers.push(() => health.close());
    health.suspectTimeout();
    health.suspectTimeout();
    await sleep(500);
    expect(asked).toEqual(['/health']);
    expect(changes).toEqual([]);
    expect(health.reachable).toBe(true);
  });
});
