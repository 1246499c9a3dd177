import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { formatStatus } from '../../src/policy/status-command.js';
import type { PolicyStatus } from '../../src/policy/status-data.js';
import { startBifrostStandin } from '../support/bifrost-standin.js';
import { curl } from '../support/proxy-clients.js';
import { closedPort } from '../support/ports.js';
import { ADA_KEY, startControlFixture, waitFor } from '../control/support/control-fixture.js';

/**
 * Edge Control down: the agent's enrollment and policy sync fail, and it must say so. With the policy's
 * fail_mode "closed" AI requests stop until Edge Control answers again (fail-mode.ts); `status` shows
 * Edge Control UNREACHABLE with the failure, and "not configured" on a device that has none.
 */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function writePolicy(dataDir: string, failMode: 'open' | 'closed', gatewayUrl: string): string {
  const file = path.join(dataDir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(), fail_mode: failMode,
    gateway: { url: gatewayUrl },
    virtual_keys: [{ id: ADA_KEY.id, name: 'ada', value: ADA_KEY.value, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['*'] }] }],
  }));
  return file;
}

/** An agent on a fresh data dir; `overrides` gets that dir (the policy file goes in it). */
async function start(overrides: (dataDir: string) => NonNullable<LoadConfigOptions['overrides']>): Promise<RunningAgent> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-control-down-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ env: {}, overrides: { dataDir, metrics: { port: null }, proxy: { port: 0 }, ...overrides(dataDir) } });
  const agent = await startAgent(config, { log: silentLogger });
  cleanups.push(() => agent.close());
  return agent;
}

function chat(agent: RunningAgent) {
  return curl(['-x', agent.proxyUrl, '--cacert', agent.caPath, 'https://api.openai.com/v1/chat/completions',
    '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] })]);
}

async function policyStatus(agent: RunningAgent): Promise<PolicyStatus> {
  const status = await (await fetch(new URL('/status.json', agent.proxyUrl))).json() as { policy: PolicyStatus };
  return status.policy;
}

describe('Edge Control unreachable', () => {
  it('fail-closed: AI requests are refused while Edge Control is down, and go out again once it answers', async () => {
    const fixture = await startControlFixture();
    cleanups.push(() => fixture.close());
    const port = fixture.server.port;
    await fixture.server.close();

    const agent = await start((dataDir) => ({
      gateway: { url: fixture.standin.url, virtualKey: ADA_KEY.value },
      control: { url: `http://127.0.0.1:${port}`, enrollment: 'virtual_key' },
      policyFile: writePolicy(dataDir, 'closed', fixture.standin.url),
    }));

    const down = await waitFor(async () => {
      const status = await policyStatus(agent);
      return status.connectivity.controlPlane ? undefined : status;
    }, 10_000, 'status to say Edge Control is unreachable');
    expect(down.connectivity.controlPlaneProblem).toMatch(/^enrollment failed: cannot reach the Edge Control server at http:\/\/127\.0\.0\.1:\d+/);
    const text = formatStatus(down, { json: false });
    expect(text).toContain('Edge Control UNREACHABLE');
    expect(text).toContain('enrollment failed: cannot reach the Edge Control server');

    const refused = await chat(agent);
    expect(refused.status).toBe(503);
    expect(refused.body).toContain('cannot reach Edge Control');
    expect(fixture.standin.received.some((r) => r.path.includes('chat/completions'))).toBe(false);

    // Edge Control is back: the next enrollment attempt (backoff of at most 8 s by now) reaches it, and
    // the policy fetched after it confirms the policy (the enrollment answer alone does not: 0ca04b1).
    await fixture.restart({ listen: { port } });
    const up = await waitFor(async () => {
      const status = await policyStatus(agent);
      return status.connectivity.controlPlane && status.connectivity.controlPlaneConfirmed !== false ? status : undefined;
    }, 15_000, 'status to say Edge Control is reachable and the policy confirmed again');
    expect(up.connectivity.controlPlaneProblem).toBeUndefined();
    expect(formatStatus(up, { json: false })).toContain('Edge Control reachable');
    expect((await chat(agent)).status).toBe(200);
  }, 40_000);

  it('fail-open: requests go on under the last policy, and status still says Edge Control is unreachable', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: ADA_KEY.value }] });
    cleanups.push(() => standin.close());
    const controlUrl = `http://127.0.0.1:${await closedPort()}`;
    const agent = await start((dataDir) => ({
      gateway: { url: standin.url, virtualKey: ADA_KEY.value },
      control: { url: controlUrl, enrollment: 'virtual_key' },
      policyFile: writePolicy(dataDir, 'open', standin.url),
    }));
    await waitFor(async () => !(await policyStatus(agent)).connectivity.controlPlane, 10_000, 'status to say Edge Control is unreachable');
    expect((await chat(agent)).status).toBe(200);
  }, 20_000);

  it('without Edge Control configured, status says so and nothing counts as unreachable', async () => {
    const standin = await startBifrostStandin({ virtualKeys: [{ value: ADA_KEY.value }] });
    cleanups.push(() => standin.close());
    const agent = await start((dataDir) => ({
      gateway: { url: standin.url, virtualKey: ADA_KEY.value },
      policyFile: writePolicy(dataDir, 'closed', standin.url),
    }));
    const status = await policyStatus(agent);
    expect(status.connectivity).toMatchObject({ controlPlane: true, controlPlaneConfigured: false });
    expect(formatStatus(status, { json: false })).toContain('Edge Control not configured');
    expect((await chat(agent)).status).toBe(200);
  });
});
