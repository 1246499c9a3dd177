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
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { until } from '../support/until.js';

/**
 * Through a real agent: background work left waiting in policy.db by the last run (a clean stop keeps it there) is
 * taken up by the next start. Work whose wait ran out meanwhile is given up then, charged its worst case and
 * recorded, with no request or poll after the start to set it off.
 */

const KEY = 'sk-bf-background-start-0001';

/** An origin answering every background Responses request `queued`, with no usage. */
function queuedOrigin(): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'resp_left', object: 'response', model: 'gpt-4.1-mini-2025-04-14', background: true, status: 'queued', output: [], usage: null,
      }));
    });
  });
}

let dataDir: string | undefined;
let origin: http.Server | undefined;
let agent: RunningAgent | undefined;

afterEach(async () => {
  await agent?.close();
  agent = undefined;
  if (origin) {
    origin.closeAllConnections();
    await new Promise<void>((resolve) => origin!.close(() => resolve()));
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function start(originUrl: string, records: ExchangeRecord[], backgroundTimeoutMs: number): Promise<RunningAgent> {
  const policyFile = path.join(dataDir!, 'policy.json');
  const config = loadConfig({ env: {}, overrides: { dataDir: dataDir!, metrics: { port: null }, proxy: { port: 0 }, gateway: { url: originUrl }, policyFile } });
  return startAgent(config, { log: silentLogger, onRecord: (record) => records.push(record), backgroundTimeoutMs });
}

const workRows = () => {
  const db = openPolicyDatabase(path.join(dataDir!, 'policy.db'));
  try {
    return db.prepare('SELECT kind, id FROM policy_background_work').all();
  } finally {
    db.close();
  }
};

it('work left waiting in policy.db whose wait ran out before the next start is charged its worst case and recorded at that start', async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-background-start-'));
  fs.writeFileSync(path.join(dataDir, 'policy.json'), JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4.1-mini'] }],
      rate_limit: { token_max_limit: 1_000_000, token_reset_duration: '1d' },
    }],
  }));
  origin = queuedOrigin();
  await new Promise<void>((resolve) => origin!.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  // The first run starts a background response (bounded to 300 answer tokens) and stops cleanly while it is waited for.
  const firstRecords: ExchangeRecord[] = [];
  agent = await start(originUrl, firstRecords, 60 * 60_000);
  const response = await undiciFetch('https://api.openai.com/v1/responses', {
    method: 'POST', dispatcher: proxyDispatcher(agent.proxyUrl, fs.readFileSync(agent.caPath, 'utf8')),
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app' },
    body: JSON.stringify({ model: 'gpt-4.1-mini', background: true, input: 'z'.repeat(400), max_output_tokens: 300 }),
  });
  expect(await response.json()).toMatchObject({ id: 'resp_left', status: 'queued' });
  await agent.close();
  agent = undefined;
  expect(workRows()).toEqual([{ kind: 'waiting', id: 'resp_left' }]);

  // The next start waits 1 ms for work: the stored work's wait is over, and it is given up as the start takes it up.
  const records: ExchangeRecord[] = [];
  agent = await start(originUrl, records, 1);
  const lateCharges = () => records.filter((r) => r.method === 'POST' && r.path === '/v1/responses' && r.estimatedUsage !== undefined);
  expect(await until(() => lateCharges().length > 0, 10_000)).toBe(true);
  expect(lateCharges()).toHaveLength(1);
  // The prompt (400 characters, 100 tokens) and the most answer the request allowed itself.
  expect(lateCharges()[0]).toMatchObject({ provider: 'openai', model: 'gpt-4.1-mini', estimatedUsage: { input_tokens: 100, output_tokens: 300 } });
  // Kept as an estimate open for a true-up, no longer waited for.
  expect(workRows()).toEqual([{ kind: 'true_up', id: 'resp_left' }]);
});
