import { describe, expect, it } from 'vitest';
import { GatewayHealth } from '../../src/gateway/gateway-health.js';
import { startTestOrigin } from '../support/test-origin.js';

describe('GatewayHealth', () => {
  it('probes /health of a gateway with a private CA until it answers, then reports it reachable', async () => {
    let healthy = false;
    const gateway = await startTestOrigin((req, res) => {
      res.writeHead(req.url === '/health' && healthy ? 200 : 503).end();
    });
    try {
      const changes: boolean[] = [];
      const health = new GatewayHealth({ gatewayUrl: gateway.url, probeIntervalMs: 100, extraCaPems: [gateway.caPem], onChange: (up) => changes.push(up) });
      health.report(false);
      await new Promise((r) => setTimeout(r, 350));
      expect(health.reachable).toBe(false);
      healthy = true;
      for (let i = 0; i < 40 && !health.reachable; i++) await new Promise((r) => setTimeout(r, 50));
      expect(changes).toEqual([false, true]);
      health.close();
    } finally {
      await gateway.close();
    }
  });

  it('without the private CA the probe never trusts that gateway', async () => {
    const gateway = await startTestOrigin((_req, res) => res.writeHead(200).end());
    try {
      const health = new GatewayHealth({ gatewayUrl: gateway.url, probeIntervalMs: 100, onChange: () => {} });
      health.report(false);
      await new Promise((r) => setTimeout(r, 500));
      expect(health.reachable).toBe(false);
      health.close();
    } finally {
      await gateway.close();
    }
  });
});
