import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { chat, KEY, writePolicyFile } from '../renderer/live-agent.js';

/**
 * A step of the request path that throws (a bug, a plug-in inspector) after policy decided the
 * request: the client gets a 500, and the exchange still ends properly: it is in the audit trail,
 * and what policy held for it in the key's windows is given back.
 */
describe('an internal error after the policy decision', () => {
  let standin: BifrostStandin;
  let agent: RunningAgent;
  let caPem: string;
  const records: ExchangeRecord[] = [];

  beforeAll(async () => {
    standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-handler-failure-'));
    // 500 tokens an hour: one held 2,200-character prompt (~550 tokens) alone would use them up.
    const policyFile = writePolicyFile(dataDir, {
      virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini'] }], rate_limit: { token_max_limit: 500, token_reset_duration: '1h' } }],
    });
    const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent', proxy: { port: 0 }, gateway: { url: standin.url }, policyFile, metrics: { port: null } } });
    agent = await startAgent(config, {
      log: silentLogger,
      onRecord: (record) => records.push(record),
      inspectors: [({ request }) => {
        if (request.texts.some((t) => t.text.includes('boom'))) throw new Error('inspector exploded');
        return { action: 'allow' };
      }],
    });
    caPem = fs.readFileSync(agent.caPath, 'utf8');
  });

  afterAll(async () => {
    await agent?.close();
    await standin?.close();
  });

  it('answers 500, records the exchange as failed, and gives back what policy held for it', async () => {
    const failed = await chat(agent.proxyUrl, caPem, 'gpt-4o-mini', `boom ${'z'.repeat(2_200)}`);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatch(/internal error .*inspector exploded/);
    expect(records.at(-1)).toMatchObject({ path: '/v1/chat/completions', decision: 'failed', status: 500, errorType: 'internal_error' });
    // The ~550 tokens it held are free again: a small request is allowed, not refused as token_limited.
    expect((await chat(agent.proxyUrl, caPem, 'gpt-4o-mini', 'hi')).status).toBe(200);
  });
});
