import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { curl } from '../support/proxy-clients.js';

/**
 * The gateway accepts connections and never answers (a hung process, a load balancer holding requests
 * for a dead backend). Failing open, Edge must notice and send requests straight to the provider.
 */
describe('a gateway that accepts connections but never answers', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  const listen = async (handler: http.RequestListener): Promise<string> => {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('fail-open: after a timed-out request and a /health probe that times out too, requests go to the provider', async () => {
    const hungGateway = await listen(() => {});
    let providerHits = 0;
    const provider = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        providerHits += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"x","object":"chat.completion","choices":[]}');
      });
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-hung-gateway-'));
    const policyFile = path.join(dataDir, 'policy.json');
    fs.writeFileSync(policyFile, JSON.stringify({
      schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(), fail_mode: 'open',
      virtual_keys: [{ id: 'vk', name: 'k', value: 'sk-bf-hung-0001', is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] }],
    }));
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir, policyFile, metrics: { port: null }, proxy: { port: 0 },
        upstream: { originOverrides: { 'api.openai.com': provider } },
        gateway: { url: hungGateway, responseTimeoutMs: 1000, healthProbeIntervalMs: 60_000 },
      },
    });
    const agent = await startAgent(config, { log: silentLogger });
    cleanups.push(() => agent.close());
    const chat = () => curl(['-x', agent.proxyUrl, '--cacert', agent.caPath, 'https://api.openai.com/v1/chat/completions',
      '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })]);

    expect((await chat()).status).toBe(504);
    // The probe's own timeout (3 s) passes; then the gateway counts as down.
    let status = 0;
    for (const deadline = Date.now() + 6000; Date.now() < deadline && status !== 200;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = (await chat()).status;
    }
    expect(status).toBe(200);
    expect(providerHits).toBeGreaterThan(0);
  }, 20_000);
});
