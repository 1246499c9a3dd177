import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { AgentConfigInput } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { agentJson } from '../renderer/live-agent.js';

export interface LocalAgentBeforeOriginOptions {
  /** The prefix of its data directory (under the OS temp directory). */
  dataDirPrefix: string;
  /** The value of the key the policy governs (`eng-team`). */
  keyValue: string;
  /** The key's token limit an hour. */
  tokenLimit: number;
  /** More of the agent's configuration (`guardrails`); default none. */
  config?: AgentConfigInput;
  onRecord?: (record: ExchangeRecord) => void;
}

/**
 * A real agent in this process, in local mode, sending api.openai.com to `origin` (a plain HTTP server it starts
 * listening on 127.0.0.1), with a policy whose key `eng-team` allows every OpenAI model under a token limit: what the
 * charging tests need to see a token budget spent.
 */
export async function startLocalAgentBeforeOrigin(origin: http.Server, options: LocalAgentBeforeOriginOptions): Promise<RunningAgent> {
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const port = (origin.address() as AddressInfo).port;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), options.dataDirPrefix));
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(), subject: { sub: 'ada' },
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: options.keyValue,
      rate_limit: { token_max_limit: options.tokenLimit, token_reset_duration: '1h' },
      provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    }],
  }));
  const config = loadConfig({ env: {}, overrides: {
    dataDir, mode: 'local', logLevel: 'silent', proxy: { port: 0 }, policyFile, metrics: { port: null },
    ...options.config,
    upstream: { originOverrides: { 'api.openai.com': `http://127.0.0.1:${port}` } },
  } });
  return startAgent(config, { log: silentLogger, onRecord: options.onRecord });
}

/** Stops the agent and its origin (either may not have started). */
export async function stopAgentAndOrigin(agent: RunningAgent | undefined, origin: http.Server | undefined): Promise<void> {
  await agent?.close();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve) ?? resolve(undefined));
}

/** The tokens the agent's key has spent, as its status page says. */
export async function tokensUsed(agent: RunningAgent): Promise<number> {
  const status = await agentJson<{ policy: { rateLimits: Array<{ metric: string; used: number }> } }>(agent.proxyUrl, '/status.json');
  return status.policy.rateLimits.find((l) => l.metric === 'tokens')?.used ?? 0;
}
