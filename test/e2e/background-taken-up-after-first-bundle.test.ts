import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { openPolicyDatabase } from '../../src/policy/policy-database.js';
import type { PolicyStatus } from '../../src/policy/status-data.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { ADA_KEY, startControlFixture, waitFor, type ControlFixture } from '../control/support/control-fixture.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * Through a real agent and a real Edge Control: a device with Edge Control configured and no bundle saved yet starts
 * over a policy.db holding background work whose wait ran out. Edge Control does not answer at first. The work must
 * not be given up then (it would be charged with no policy applied, to no window), only once Edge Control's first
 * bundle arrives: charged its worst case to the windows that bundle brings, and recorded
 * (agent.ts takeUpBackground({ bundleExpected })).
 */

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** An origin answering every background Responses request `queued`, with no usage. */
async function queuedOrigin(): Promise<string> {
  const origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'resp_left', object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status: 'queued', output: [], usage: null,
      }));
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { origin.closeAllConnections(); origin.close(() => resolve()); }));
  return `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
}

async function policyStatus(agent: RunningAgent): Promise<PolicyStatus> {
  return ((await (await fetch(new URL('/status.json', agent.proxyUrl))).json()) as { policy: PolicyStatus }).policy;
}

function workRows(dataDir: string): unknown[] {
  const db = openPolicyDatabase(path.join(dataDir, 'policy.db'));
  try {
    return db.prepare('SELECT kind, id FROM policy_background_work').all();
  } finally {
    db.close();
  }
}

/** A first run without Edge Control (a policy file, Ada's key) that leaves a background response waiting in policy.db. */
async function leaveWorkWaiting(dataDir: string): Promise<void> {
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{
      id: ADA_KEY.id, name: 'ada', value: ADA_KEY.value, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['*'] }],
      rate_limit: { token_max_limit: 1_000_000, token_reset_duration: '1d' },
    }],
  }));
  const config = loadConfig({ env: {}, overrides: { dataDir, metrics: { port: null }, proxy: { port: 0 }, gateway: { url: await queuedOrigin() }, policyFile } });
  const agent = await startAgent(config, { log: silentLogger });
  try {
    const response = await undiciFetch('https://api.openai.com/v1/responses', {
      method: 'POST', dispatcher: proxyDispatcher(agent.proxyUrl, fs.readFileSync(agent.caPath, 'utf8')),
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app' },
      body: JSON.stringify({ model: 'gpt-4.1-mini', background: true, input: 'z'.repeat(400), max_output_tokens: 300 }),
    });
    expect(await response.json()).toMatchObject({ id: 'resp_left', status: 'queued' });
  } finally {
    await agent.close();
  }
  // The policy file goes: the next start's policy comes from Edge Control alone.
  fs.rmSync(policyFile);
}

it('with Edge Control configured and no saved bundle, work left waiting in policy.db is given up only once Edge Control\'s first bundle arrives', async () => {
  const fixture: ControlFixture = await startControlFixture();
  cleanups.push(() => fixture.close());
  const port = fixture.server.port;
  await fixture.server.close();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-first-bundle-'));
  cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  await leaveWorkWaiting(dataDir);
  expect(workRows(dataDir)).toEqual([{ kind: 'waiting', id: 'resp_left' }]);
  expect(fs.existsSync(path.join(dataDir, 'control'))).toBe(false);

  // Edge Control configured, down; work is waited for 1 ms, so the stored work's wait is over at once.
  const records: ExchangeRecord[] = [];
  const config = loadConfig({ env: {}, overrides: {
    dataDir, metrics: { port: null }, proxy: { port: 0 },
    gateway: { url: fixture.standin.url, virtualKey: ADA_KEY.value },
    control: { url: `http://127.0.0.1:${port}`, enrollment: 'virtual_key' },
  } });
  const agent = await startAgent(config, { log: silentLogger, onRecord: (record) => records.push(record), backgroundTimeoutMs: 1 });
  cleanups.push(() => agent.close());
  const lateCharges = () => records.filter((r) => r.method === 'POST' && r.path === '/v1/responses' && r.estimatedUsage !== undefined);

  // Enrollment failed: no bundle, and the work is still waiting, not given up.
  await waitFor(async () => !(await policyStatus(agent)).connectivity.controlPlane, 10_000, 'status to say Edge Control is unreachable');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect((await policyStatus(agent)).policy).toBeNull();
  expect(lateCharges()).toEqual([]);
  expect(workRows(dataDir)).toEqual([{ kind: 'waiting', id: 'resp_left' }]);

  // Edge Control answers: its first bundle is applied, then the work is taken up and given up at its worst case.
  await fixture.restart({ listen: { port } });
  await waitFor(() => lateCharges().length > 0, 20_000, 'the work to be charged');
  expect((await policyStatus(agent)).policy).not.toBeNull();
  expect(lateCharges()).toHaveLength(1);
  // The prompt (400 characters, 100 tokens) and the most answer the request allowed itself.
  expect(lateCharges()[0]).toMatchObject({ provider: 'openai', model: 'gpt-4.1-mini', estimatedUsage: { input_tokens: 100, output_tokens: 300 } });
  // Kept as an estimate open for a true-up, no longer waited for.
  await waitFor(() => JSON.stringify(workRows(dataDir)) === JSON.stringify([{ kind: 'true_up', id: 'resp_left' }]), 5_000, 'the work kept as a true-up');
}, 60_000);
