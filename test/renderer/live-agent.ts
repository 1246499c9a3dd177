import fs from 'node:fs';
import path from 'node:path';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * A policy and traffic that give the pages and the tray something real to show: a key 'eng-team' that
 * allows two OpenAI models, with a monthly budget a quarter used (as reported by the gateway) and a request
 * limit, issued to Ada.
 */
export const KEY = 'sk-bf-ui-e2e-0001';

export function writePolicyFile(dir: string, overrides: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'policy.json');
  fs.writeFileSync(file, JSON.stringify({
    schema: 'bifrost-edge.policy/v1',
    version: 7,
    issued_at: new Date(Date.now() - 10 * 60_000).toISOString(),
    subject: { sub: 'ada', email: 'ada@example.com', name: 'Ada Lovelace' },
    virtual_keys: [{
      id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
      provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o-mini', 'o3-mini'] }],
      budgets: [{ max_limit: 10, reset_duration: '1M', current_usage: 2.5, last_reset: new Date(Date.now() - 3_600_000).toISOString() }],
      rate_limit: { request_max_limit: 100, request_reset_duration: '1h' },
    }],
    pricing: { 'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
    ...overrides,
  }));
  return file;
}

export interface ChatResult {
  status: number;
  body: string;
}

/** One OpenAI chat completion through the proxy, as an app configured with HTTPS_PROXY sends it. */
export async function chat(proxyUrl: string, caPem: string, model: string, content = 'hello', userAgent = 'OpenAI/Python 1.40.0'): Promise<ChatResult> {
  const response = await undiciFetch('https://api.openai.com/v1/chat/completions', {
    method: 'POST',
    dispatcher: proxyDispatcher(proxyUrl, caPem),
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-app', 'user-agent': userAgent },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });
  return { status: response.status, body: await response.text() };
}

/** Reads one of the agent's local JSON endpoints (loopback Host, no proxy). */
export async function agentJson<T>(proxyUrl: string, endpoint: string): Promise<T> {
  const response = await fetch(new URL(endpoint, proxyUrl));
  if (!response.ok) throw new Error(`${endpoint}: HTTP ${response.status}`);
  return (await response.json()) as T;
}
