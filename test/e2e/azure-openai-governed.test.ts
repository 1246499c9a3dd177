import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI } from 'openai';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { withEdgeBeforeStandin, type EdgeBeforeStandinRun } from '../support/edge-before-standin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * Azure OpenAI governed by the employee's virtual key, through the real CLI in gateway mode before the Bifrost
 * stand-in: requests go to Bifrost's azure provider as `azure/{deployment}` with the employee's key (the resource's
 * own key stays on the laptop), the key's provider and model lists apply to them as to Bifrost's `azure` provider,
 * and their usage counts against the key's limits.
 */

const KEY = 'sk-bf-azure-governed-0001';
const RESOURCE = 'contoso.openai.azure.com';
const AZURE_KEY = 'azure-resource-key-must-stay-on-the-laptop';
const API_VERSION = '2024-10-21';

interface VirtualKeyPolicy { provider_configs: Array<{ provider: string; allowed_models: string[] }>; rate_limit?: Record<string, unknown> }

/** A Bifrost stand-in and an agent in gateway mode under a policy with one key, stopped when `run` ends. */
function withGovernedAgent(prefix: string, key: VirtualKeyPolicy, run: EdgeBeforeStandinRun): Promise<void> {
  return withEdgeBeforeStandin(KEY, (standin) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const policyFile = path.join(dataDir, 'policy.json');
    fs.writeFileSync(policyFile, JSON.stringify({
      schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
      virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, ...key }],
    }));
    return { dataDir, config: { gateway: { url: standin.url }, policyFile } };
  }, run);
}

const azure = (edge: EdgeProcess) => new AzureOpenAI({
  endpoint: `https://${RESOURCE}`, apiKey: AZURE_KEY, apiVersion: API_VERSION,
  fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0,
});
const ask = (edge: EdgeProcess, deployment: string, content = 'hello azure') => azure(edge).chat.completions.create({ model: deployment, messages: [{ role: 'user', content }] });

describe('Azure OpenAI governed by the virtual key (gateway mode)', () => {
  it('goes to Bifrost as azure/{deployment} with the employee\'s key; the resource\'s api-key and api-version stay on the laptop', async () => {
    await withGovernedAgent('edge-azure-gateway-', { provider_configs: [{ provider: 'azure', allowed_models: ['gpt4o-prod'] }] }, async ({ edge, standin }) => {
      const completion = await ask(edge, 'gpt4o-prod');
      expect(completion.choices[0]?.message.content).toContain('hello azure');
      const seen = await standin.waitForRequest((r) => r.path.startsWith('/openai/v1/chat/completions'));
      expect(seen.path).toBe('/openai/v1/chat/completions');
      expect((seen.json as { model: string }).model).toBe('azure/gpt4o-prod');
      expect(seen.headers['x-bf-vk']).toBe(KEY);
      expect(seen.headers['api-key']).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(AZURE_KEY);
      expect(seen.body).not.toContain(AZURE_KEY);

      standin.clear();
      const stream = await azure(edge).chat.completions.create({ model: 'gpt4o-prod', stream: true, messages: [{ role: 'user', content: 'stream me please' }] });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toContain('stream me please');
      expect((standin.received[0]!.json as { model: string }).model).toBe('azure/gpt4o-prod');
    });
  });

  it('a key that allows only openai/gpt-4o does not let an Azure deployment through, nor an Azure deployment it does not list', async () => {
    await withGovernedAgent('edge-azure-openai-only-', { provider_configs: [{ provider: 'openai', allowed_models: ['gpt-4o'] }] }, async ({ edge, standin }) => {
      const error = await ask(edge, 'gpt-4o').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((error as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('provider_blocked');
      expect(standin.received).toEqual([]);
    });
    await withGovernedAgent('edge-azure-listed-', { provider_configs: [{ provider: 'azure', allowed_models: ['gpt4o-prod'] }] }, async ({ edge, standin }) => {
      const error = await ask(edge, 'gpt4o-experimental').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      const denied = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
      expect(denied.code).toBe('model_blocked');
      expect(denied.message).toMatch(/gpt4o-prod/);
      expect(standin.received).toEqual([]);
    });
  });

  it('the answer\'s usage is charged to the key; once its token limit is spent the next request is refused (429) in the shape the SDK reads', async () => {
    const limited = { provider_configs: [{ provider: 'azure', allowed_models: ['*'] }], rate_limit: { token_max_limit: 20, token_reset_duration: '1h' } };
    await withGovernedAgent('edge-azure-budget-', limited, async ({ edge, standin }) => {
      const completion = await ask(edge, 'gpt4o-prod', 'a prompt long enough to spend the twenty tokens this key may use in an hour');
      const reported = completion.usage!;
      expect(reported.total_tokens).toBeGreaterThan(20);
      const [record] = await auditRecordsOnceThere<{ path: string; provider?: string; usage?: { input_tokens: number; output_tokens: number } }>(edge.dataDir, (r) => r.path === '/openai/deployments/gpt4o-prod/chat/completions' && r.usage !== undefined, 1, 10_000);
      expect(record).toMatchObject({ provider: 'azure', usage: { input_tokens: reported.prompt_tokens, output_tokens: reported.completion_tokens } });

      standin.clear();
      const refused = await ask(edge, 'gpt4o-prod').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      expect((refused as InstanceType<typeof OpenAI.RateLimitError>).message).toMatch(/token/i);
      expect(standin.received).toEqual([]);
    });
  });
});
