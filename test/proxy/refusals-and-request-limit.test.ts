import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { chat, KEY, writePolicyFile } from '../renderer/live-agent.js';

/**
 * Requests Edge itself refuses after policy allowed them (a guardrail finds a secret) never reach the
 * gateway, so they must not use up the key's request limit: else a retrying agent locks its user out
 * with 429s Bifrost, which saw nothing, would never give.
 */
describe('the request limit and requests Edge refuses itself', () => {
  let standin: BifrostStandin;
  let agent: RunningAgent;
  let caPem: string;

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-refusal-quota-'));
    const policyFile = writePolicyFile(dataDir, {
      virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }], rate_limit: { request_max_limit: 2, request_reset_duration: '1h' } }],
    });
    const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent', proxy: { port: 0 }, gateway: { url: standin.url }, policyFile, metrics: { port: null } } });
    agent = await startAgent(config, { log: silentLogger });
    caPem = fs.readFileSync(agent.caPath, 'utf8');
  });

  afterAll(async () => {
    await agent?.close();
    await standin?.close();
  });

  it('prompts the guardrails refuse do not count; requests sent do, up to the limit', async () => {
    const secret = `my token is ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
    for (let i = 0; i < 3; i++) expect((await chat(agent.proxyUrl, caPem, 'gpt-4o-mini', secret)).status).toBe(446);
    expect((await chat(agent.proxyUrl, caPem, 'gpt-4o-mini', 'what is 2+2?')).status).toBe(200);
    expect((await chat(agent.proxyUrl, caPem, 'gpt-4o-mini', 'and 3+3?')).status).toBe(200);
    const third = await chat(agent.proxyUrl, caPem, 'gpt-4o-mini', 'and 4+4?');
    expect(third.status).toBe(429);
    expect(third.body).toContain('request_limited');
    expect(standin.received.filter((r) => r.path === '/openai/v1/chat/completions')).toHaveLength(2);
  });
});
