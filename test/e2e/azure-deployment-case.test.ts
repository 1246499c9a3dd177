import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI } from 'openai';
import { auditRecordsOnceThere } from '../support/audit-tail.js';
import { withEdgeBeforeStandin } from '../support/edge-before-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { startTestOrigin } from '../support/test-origin.js';

/**
 * Azure matches deployment names whatever their letter case (a deployment is an ARM resource), so through the real
 * CLI and the official `openai` package's AzureOpenAI client a deny rule for `gpt4o` refuses `GPT4O`, and an allow
 * list naming `gpt4o` lets `GPT4O` through, forwarded as the app spelled it: to the resource in local mode, to
 * Bifrost as `azure/GPT4O` in gateway mode.
 */

const KEY = 'sk-bf-azure-case-0001';
const RESOURCE = 'contoso.openai.azure.com';
const AZURE_KEY = 'azure-resource-key-0123456789abcdef';
const API_VERSION = '2024-10-21';

interface AzureConfig { provider: 'azure'; allowed_models: string[]; blacklisted_models?: string[] }
interface AuditRecord { path: string; model?: string | null; decision: string; reason?: string }

function policyFileWith(dataDir: string, config: AzureConfig): string {
  const policyFile = path.join(dataDir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
    virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true, provider_configs: [config] }],
  }));
  return policyFile;
}

const azure = (edge: EdgeProcess) => new AzureOpenAI({
  endpoint: `https://${RESOURCE}`, apiKey: AZURE_KEY, apiVersion: API_VERSION,
  fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0,
});
const ask = (edge: EdgeProcess, deployment: string) => azure(edge).chat.completions.create({ model: deployment, messages: [{ role: 'user', content: 'hello azure' }] });

describe('Azure deployment names in another letter case, through the real CLI', () => {
  it('local mode: a deny rule for gpt4o refuses GPT4O; an allowed deployment goes to the resource as the app spelled it', async () => {
    const paths: string[] = [];
    const origin = await startTestOrigin((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-2024-11-20',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hi' } }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }));
      });
    });
    try {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-azure-case-local-'));
      const policyFile = policyFileWith(dataDir, { provider: 'azure', allowed_models: ['*'], blacklisted_models: ['gpt4o'] });
      const edge = await startEdgeProcess({
        dataDir, config: { mode: 'local', policyFile, upstream: { caFile: origin.caPath, originOverrides: { [RESOURCE]: origin.url } } },
      });
      try {
        const refused = await ask(edge, 'GPT4O').catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
        expect((refused as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_blocked');
        expect(paths).toEqual([]);
        const [blocked] = await auditRecordsOnceThere<AuditRecord>(dataDir, (r) => r.path === '/openai/deployments/GPT4O/chat/completions', 1, 10_000);
        expect(blocked).toMatchObject({ model: 'GPT4O', decision: 'blocked', reason: 'model_blocked' });

        const completion = await ask(edge, 'GPT4o-Mini');
        expect(completion.choices[0]?.message.content).toBe('hi');
        expect(paths).toEqual([`/openai/deployments/GPT4o-Mini/chat/completions?api-version=${API_VERSION}`]);
      } finally {
        await edge.stop();
      }
    } finally {
      await origin.close();
    }
  });

  it('gateway mode: an allow list naming gpt4o lets GPT4O through, to Bifrost as azure/GPT4O', async () => {
    await withEdgeBeforeStandin(KEY, (standin) => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-azure-case-gateway-'));
      const policyFile = policyFileWith(dataDir, { provider: 'azure', allowed_models: ['gpt4o'] });
      return { dataDir, config: { gateway: { url: standin.url }, policyFile } };
    }, async ({ edge, standin }) => {
      await ask(edge, 'GPT4O');
      const seen = await standin.waitForRequest((r) => r.path.startsWith('/openai/v1/chat/completions'));
      expect((seen.json as { model: string }).model).toBe('azure/GPT4O');
    });
  });
});
