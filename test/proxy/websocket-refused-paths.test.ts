import { describe, expect, it } from 'vitest';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * On hosts whose other paths pass unread (Azure AI Services, OpenRouter's website), HTTP refuses a path a lenient
 * origin may read as an API path (`/OpenAI/v1/foo`, `/x/..;/openai/v1/foo`, `/API/v1/foo`), whatever the method. A
 * WebSocket opened on one is refused too, recorded with the refusal's own status, type and message: relayed, it
 * reached the API unread, while the exact API path next to it was refused. Before, each was allowed unread.
 */

const agent = () => websocketDecisionAgent({
  bundle: bundle({}, { provider_configs: [{ provider: 'azure', weight: 1, allowed_models: ['*'] }, { provider: 'openrouter', weight: 1, allowed_models: ['*'] }] }),
  inspectors: [defaultGuardrails()],
});

const LOOKALIKES = [
  ['contoso.services.ai.azure.com', '/OpenAI/v1/foo', 'azure'],
  ['contoso.services.ai.azure.com', '/x/..;/openai/v1/foo', 'azure'],
  ['contoso.cognitiveservices.azure.com', '/OpenAI/deployments/d/foo', 'azure'],
  ['contoso.services.ai.azure.com', '/openai./v1/realtimex', 'azure'],
  ['openrouter.ai', '/API/v1/foo', 'openrouter'],
  ['openrouter.ai', '/x/..;/api/v1/foo', 'openrouter'],
] as const;

describe('WebSockets on look-alike paths HTTP refuses', () => {
  it.each(LOOKALIKES)('%s%s is refused as HTTP refuses it, and recorded with the refusal', async (host, target, provider) => {
    const refusal = httpRefusalOf(host, target);
    const { decide, records } = agent();
    const verdict = await decide({ host, path: target, headers: {} });
    expect(verdict).toMatchObject({ action: 'block', message: expect.stringContaining('Bifrost Edge') });
    // The close reason fits a close frame; the record keeps the refusal whole.
    expect(Buffer.byteLength((verdict as { message: string }).message)).toBeLessThanOrEqual(123);
    expect(records).toEqual([expect.objectContaining({
      method: 'GET', host, path: target.split('?')[0], provider, via: 'edge', decision: 'blocked',
      status: refusal.status, errorType: refusal.type, message: refusal.message, findings: [],
    })]);
    expect(refusal).toMatchObject({ status: 400, type: 'invalid_request' });
  });

  it.each([
    ['contoso.services.ai.azure.com', '/openai/v1/responses'],
    ['openrouter.ai', '/api/v1/responses'],
  ])('the exact API path on %s still opens, read: %s', async (host, target) => {
    const { decide } = agent();
    const verdict = await decide({ host, path: target, headers: {} });
    expect(verdict.action === 'allow' && verdict.messages !== undefined).toBe(true);
  });

  it.each([
    ['contoso.services.ai.azure.com', '/vision/v3.2/analyze'],
    ['openrouter.ai', '/chat/ws'],
  ])('a path outside the API that HTTP lets pass still opens, unread: %s%s', async (host, target) => {
    const { decide } = agent();
    const verdict = await decide({ host, path: target, headers: {} });
    expect(verdict).toMatchObject({ action: 'allow' });
    expect(verdict.action === 'allow' && verdict.messages).toBeFalsy();
  });
});

/** What HTTP makes of a GET on the path: a route recognised only to be refused, and its refusal. */
function httpRefusalOf(host: string, target: string) {
  const resolution = createProviderResolver().resolve({ method: 'GET', host, path: target, headers: {} });
  if (resolution.kind !== 'recognized') throw new Error(`${host}${target} is ${resolution.kind}`);
  const parsed = resolution.parse(undefined);
  if (parsed.ok) throw new Error(`${host}${target} is not refused over HTTP`);
  expect(resolution.refusal).toEqual(parsed.error);
  return parsed.error;
}
