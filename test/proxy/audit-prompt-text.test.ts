import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { KEY, writePolicyFile } from '../renderer/live-agent.js';

/**
 * The prompt an exchange's audit record keeps (as a digest or as text, per the retention setting) is the
 * conversation: tool definitions are scanned by the guardrails but are not the prompt, and an agent
 * resends tens of KB of them with every turn.
 */
let standin: BifrostStandin;
let agent: RunningAgent;
const records: ExchangeRecord[] = [];

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-audit-prompt-'));
  const policyFile = writePolicyFile(dataDir, {
    virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }] }],
  });
  const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent', proxy: { port: 0 }, gateway: { url: standin.url }, policyFile, metrics: { port: null } } });
  agent = await startAgent(config, { log: silentLogger, onRecord: (record) => records.push({ ...record }) });
});

afterAll(async () => {
  await agent?.close();
  await standin?.close();
});

it('keeps the conversation as the prompt, not the tool definitions sent with it', async () => {
  const response = await undiciFetch('https://api.openai.com/v1/chat/completions', {
    method: 'POST',
    dispatcher: proxyDispatcher(agent.proxyUrl, fs.readFileSync(agent.caPath, 'utf8')),
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'You deploy apps.' }, { role: 'user', content: 'Deploy the app.' }],
      tools: [{ type: 'function', function: { name: 'deploy', description: 'Deploys the current branch to staging.', parameters: { type: 'object', properties: { region: { type: 'string', description: 'Where to deploy' } } } } }],
    }),
  });
  expect(response.status).toBe(200);
  await response.text();
  const record = records.find((r) => r.path === '/v1/chat/completions');
  expect(record?.prompt).toBe('You deploy apps.\nDeploy the app.');
});
