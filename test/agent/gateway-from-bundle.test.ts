import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { startBifrostStandin } from '../support/bifrost-standin.js';
import { curl } from '../support/proxy-clients.js';
import { closedPort } from '../support/ports.js';

/**
 * The policy bundle names the gateway (central policy); the configuration names another one, or none.
 * Requests go to the bundle's gateway, so that is the one whose outage Edge must notice and whose
 * recovery it must probe for.
 */

const KEY = 'sk-bf-bundle-gateway-0001';
const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function writePolicy(dataDir: string, failMode: 'open' | 'closed', gatewayUrl: string): string {
  const file = path.join(dataDir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(), fail_mode: failMode,
    gateway: { url: gatewayUrl },
    virtual_keys: [{ id: 'vk', name: 'k', value: KEY, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] }],
  }));
  return file;
}

async function start(overrides: NonNullable<LoadConfigOptions['overrides']>): Promise<RunningAgent> {
  const config = loadConfig({ env: {}, overrides: { metrics: { port: null }, proxy: { port: 0 }, ...overrides } });
  const agent = await startAgent(config, { log: silentLogger });
  cleanups.push(() => agent.close());
  return agent;
}

function chat(agent: RunningAgent) {
  return curl(['-x', agent.proxyUrl, '--cacert', agent.caPath, 'https://api.openai.com/v1/chat/completions',
    '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] })]);
}

/** Asks until the answer has `status` or `ms` pass; returns the last status. */
async function chatUntil(agent: RunningAgent, status: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let last = 0;
  do {
    last = (await chat(agent)).status;
    if (last === status) return last;
    await sleep(100);
  } while (Date.now() < deadline);
  return last;
}

/** A plain-HTTP stand-in for api.openai.com (fail-open sends requests there directly). */
async function startProviderOrigin(): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'direct' }, finish_reason: 'stop' }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

describe('the gateway named by the policy bundle', () => {
  it('fail-closed: an outage of the bundle\'s gateway ends when that gateway is back, though the configuration names another', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-bundle-gateway-'));
    const bundlePort = await closedPort();
    const bundleGateway = `http://127.0.0.1:${bundlePort}`;
    const staleConfigGateway = `http://127.0.0.1:${await closedPort()}`;
    const agent = await start({
      dataDir,
      policyFile: writePolicy(dataDir, 'closed', bundleGateway),
      gateway: { url: staleConfigGateway, healthProbeIntervalMs: 100, connectTimeoutMs: 1000 },
    });
    expect((await chat(agent)).status).toBe(502);
    expect((await chat(agent)).status).toBe(503);

    const standin = await startBifrostStandin({ port: bundlePort, virtualKeys: [{ value: KEY }] });
    cleanups.push(() => standin.close());
    expect(await chatUntil(agent, 200, 3000)).toBe(200);
    expect(standin.received.some((r) => r.path === '/health')).toBe(true);

    const status = await (await fetch(new URL('/status.json', agent.proxyUrl))).json() as { gateway: string | null };
    expect(status.gateway).toBe(bundleGateway);
  });

  it('fail-open with the gateway only in the bundle: an outage sends requests to the provider, and ends when it is back', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-bundle-gateway-'));
    const bundlePort = await closedPort();
    const provider = await startProviderOrigin();
    const agent = await start({
      dataDir,
      policyFile: writePolicy(dataDir, 'open', `http://127.0.0.1:${bundlePort}`),
      upstream: { originOverrides: { 'api.openai.com': provider.url } },
    });
    expect((await chat(agent)).status).toBe(502);
    const direct = await chat(agent);
    expect(direct.status).toBe(200);
    expect(direct.body).toContain('direct');
    expect(provider.hits()).toBe(1);

    const status = await (await fetch(new URL('/status.json', agent.proxyUrl))).json() as { gateway: string | null };
    expect(status.gateway).toBe(`http://127.0.0.1:${bundlePort}`);

    // The gateway comes back: the probes (default interval 5 s) notice, and requests go to it again.
    const standin = await startBifrostStandin({ port: bundlePort, virtualKeys: [{ value: KEY }] });
    cleanups.push(() => standin.close());
    await standin.waitForRequest((r) => r.path === '/health', 8000);
    await sleep(200);
    expect((await chat(agent)).status).toBe(200);
    await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions', 2000);
  }, 20_000);
});
