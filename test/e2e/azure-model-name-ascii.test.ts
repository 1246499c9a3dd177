import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startEdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';
import { startTestOrigin } from '../support/test-origin.js';

/**
 * Azure's v1 API names the deployment in the body's `model`, where no route check sees it, and Azure matches deployment
 * names in any letter case. Edge does not know exactly how Azure folds letters outside ASCII, so rather than guess
 * whether `gpt-mını` (dotless i) is the deployment a deny rule for `gpt-mini` names, it refuses the name: through the
 * real CLI and the official `openai` package it is an invalid request (400, the error body Edge gives any invalid
 * request), refused before the key's lists are read, and never reaches the resource.
 */

const RESOURCE = 'contoso.openai.azure.com';

describe('an Azure v1 model name outside plain ASCII, through the real CLI', () => {
  it('is refused with 400 invalid_request and never sent; the plain name is denied as usual', async () => {
    const paths: string[] = [];
    const origin = await startTestOrigin((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"should not be reached"}}');
      });
    });
    try {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-azure-ascii-'));
      const policyFile = path.join(dataDir, 'policy.json');
      fs.writeFileSync(policyFile, JSON.stringify({
        schema: 'bifrost-edge.policy/v1', version: 1, issued_at: new Date().toISOString(),
        virtual_keys: [{ id: 'vk-eng', name: 'eng-team', value: 'sk-bf-azure-ascii-0001', is_active: true,
          provider_configs: [{ provider: 'azure', allowed_models: ['*'], blacklisted_models: ['gpt-mini'] }] }],
      }));
      const edge = await startEdgeProcess({
        dataDir, config: { mode: 'local', policyFile, upstream: { caFile: origin.caPath, originOverrides: { [RESOURCE]: origin.url } } },
      });
      try {
        const v1 = new OpenAI({
          baseURL: `https://${RESOURCE}/openai/v1/`, apiKey: 'azure-resource-key-0123456789abcdef', maxRetries: 0,
          fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never,
        });
        const ask = (model: string) => v1.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] }).catch((e: unknown) => e);

        const refused = await ask('gpt-m\u0131ni');
        expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
        expect((refused as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_request');
        expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/outside plain ASCII/);

        const denied = await ask('GPT-MINI');
        expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
        expect((denied as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_blocked');
        expect(paths).toEqual([]);
      } finally {
        await edge.stop();
      }
    } finally {
      await origin.close();
    }
  });
});
