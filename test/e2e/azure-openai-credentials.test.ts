import { describe, expect, it } from 'vitest';
import { AzureOpenAI } from 'openai';
import { withEdgeBeforeStandin, type EdgeBeforeStandinRun } from '../support/edge-before-standin.js';
import type { EdgeProcess } from '../support/edge-process.js';
import { proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

/**
 * The app's own Azure credentials never reach Bifrost: in gateway mode neither its api-key nor an Azure AI Services
 * resource key (`ocp-apim-subscription-key`), and in pass-through mode neither, since Bifrost's /azure_passthrough
 * forwards to the endpoint of the gateway's Azure key, not the resource those credentials are for. Real CLI before
 * the Bifrost stand-in, which records what reaches it.
 */

const KEY = 'sk-bf-azure-credentials-0001';
const RESOURCE = 'contoso.cognitiveservices.azure.com';
const API_KEY = 'azure-api-key-must-stay-on-the-laptop';
const RESOURCE_KEY = 'azure-subscription-key-must-stay-on-the-laptop';

const withAgent = (mode: 'gateway' | 'passthrough', run: EdgeBeforeStandinRun) =>
  withEdgeBeforeStandin(KEY, (standin) => ({ config: { mode, gateway: { url: standin.url, virtualKey: KEY } } }), run);

/**
 * A chat on the deployments path with the app's api-key and its resource key, in headers and in the query (as API
 * Management in front of Azure takes them); the answer does not matter here.
 */
async function chat(edge: EdgeProcess): Promise<void> {
  const client = new AzureOpenAI({
    endpoint: `https://${RESOURCE}`, apiKey: API_KEY, apiVersion: '2024-10-21', defaultHeaders: { 'Ocp-Apim-Subscription-Key': RESOURCE_KEY },
    defaultQuery: { 'subscription-key': RESOURCE_KEY, 'Api-Key': API_KEY },
    fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0,
  });
  await client.chat.completions.create({ model: 'gpt4o-prod', messages: [{ role: 'user', content: 'hello azure' }] }).catch(() => undefined);
}

function expectNoAppCredentials({ headers, url }: { headers: Record<string, string>; url: string }): void {
  expect(url).not.toContain('must-stay-on-the-laptop');
  expect(headers['api-key']).toBeUndefined();
  expect(headers['ocp-apim-subscription-key']).toBeUndefined();
  expect(headers['authorization'] ?? '').not.toContain(API_KEY);
  expect(JSON.stringify(headers)).not.toContain('must-stay-on-the-laptop');
  expect(headers['x-bf-vk']).toBe(KEY);
}

describe('Azure credentials and Bifrost', () => {
  it('gateway mode: neither the api-key nor the resource key (ocp-apim-subscription-key) reaches Bifrost', async () => {
    await withAgent('gateway', async ({ edge, standin }) => {
      await chat(edge);
      const seen = await standin.waitForRequest((r) => r.path.startsWith('/openai/v1/chat/completions'));
      expectNoAppCredentials(seen);
    });
  });

  it('pass-through mode: /azure_passthrough gets the path as sent and the virtual key, none of the app\'s credentials', async () => {
    await withAgent('passthrough', async ({ edge, standin }) => {
      await chat(edge);
      const seen = await standin.waitForRequest((r) => r.path.startsWith('/azure_passthrough/'));
      expect(seen.path).toBe('/azure_passthrough/openai/deployments/gpt4o-prod/chat/completions');
      expect(seen.query).toBe('api-version=2024-10-21');
      expectNoAppCredentials(seen);
    });
  });
});
