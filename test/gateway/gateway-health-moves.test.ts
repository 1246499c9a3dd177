import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GatewayHealth } from '../../src/gateway/gateway-health.js';
import { closedPort } from '../support/ports.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A gateway whose /health answers 200; records the paths it was asked. */
async function healthyGateway(): Promise<{ url: string; asked: string[]; close(): Promise<void> }> {
  const asked: string[] = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('GatewayHealth follows the gateway requests go to', () => {
  it('probes the URL the getter names now, not the one it was built with', async () => {
    const gateway = await healthyGateway();
    let current: string | undefined = `http://127.0.0.1:${await closedPort()}`;
    const changes: boolean[] = [];
    const health = new GatewayHealth({ gatewayUrl: () => current, probeIntervalMs: 100, onChange: (up) => changes.push(up) });
    try {
      health.report(false);
      await sleep(350);
      expect(health.reachable).toBe(false);
      // A policy bundle names another gateway: the outage of the old one says nothing about it.
      current = gateway.url;
      for (let i = 0; i < 20 && changes.length < 2; i++) await sleep(50);
      expect(changes).toEqual([false, true]);
      expect(health.reachable).toBe(true);
      // Down again at the new URL: the probes go there, and find it healthy.
      health.report(false);
      for (let i = 0; i < 40 && changes.length < 4; i++) await sleep(50);
      expect(changes).toEqual([false, true, false, true]);
      expect(gateway.asked).toContain('/health');
    } finally {
      health.close();
      await gateway.close();
    }
  });

  it('a moved gateway is forgotten at once when told, without waiting for a probe', async () => {
    let current = `http://127.0.0.1:${await closedPort()}`;
    const changes: string[] = [];
    const health = new GatewayHealth({ gatewayUrl: () => current, probeIntervalMs: 60_000, onChange: (up, why) => changes.push(`${up ? 'up' : 'down'}:${why}`) });
    try {
      health.report(false);
      expect(health.reachable).toBe(false);
      current = `http://127.0.0.1:${await closedPort()}`;
      expect(health.noticeGatewayChange()).toBe(true);
      // Not "reachable again": nothing was probed; the new gateway simply has no outage on record.
      expect(changes).toEqual(['down:probe', 'up:gateway_changed']);
      expect(health.noticeGatewayChange()).toBe(false);
    } finally {
      health.close();
    }
  });

  it('with no gateway at all a failure report marks nothing down', () => {
    const changes: boolean[] = [];
    const health = new GatewayHealth({ gatewayUrl: () => undefined, probeIntervalMs: 100, onChange: (up) => changes.push(up) });
    health.report(false);
    expect(health.reachable).toBe(true);
    expect(changes).toEqual([]);
    health.close();
  });
});
