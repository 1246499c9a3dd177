import { describe, expect, it } from 'vitest';
import type { MessageVerdict } from '../../src/proxy/websocket-inspection.js';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * The Responses API's WebSocket mode beyond OpenAI: Azure OpenAI documents it at `/openai/v1/responses` (on
 * *.openai.azure.com and the Azure AI Services / Foundry hosts, the model a deployment) and xAI at `/v1/responses`.
 * Each response.create is read as the HTTP body is: a secret in it is refused, its model held to the key's rules,
 * and each turn recorded. Groq, OpenRouter and Copilot are read at their Responses paths too, as their HTTP Responses
 * routes are. Before, every one of these sockets was relayed unread, no guardrail and no model rule applied.
 */

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const message = (value: unknown) => Buffer.from(JSON.stringify(value));
const turn = (model: string, text: string) => message({ type: 'response.create', model, input: [{ role: 'user', content: [{ type: 'input_text', text }] }] });

const agentOptions = () => ({
  bundle: bundle({}, {
    provider_configs: [
      { provider: 'azure', weight: 1, allowed_models: ['gpt5-prod'] },
      { provider: 'xai', weight: 1, allowed_models: ['grok-4'] },
      { provider: 'groq', weight: 1, allowed_models: ['openai/gpt-oss-120b'] },
      { provider: 'openrouter', weight: 1, allowed_models: ['openai/gpt-5'] },
    ],
  }),
  inspectors: [defaultGuardrails()],
});
const agent = () => websocketDecisionAgent(agentOptions());

/** The `error` event a refused turn is answered with (the socket stays open), as the API answers a refused request. */
const errorEvent = (verdict: MessageVerdict) => {
  expect(verdict.action).toBe('reply');
  return JSON.parse(String((verdict as { data: Buffer }).data)) as { type: string; status: number; error: { type: string; message: string } };
};

/** Vendors with model rules: the host, the path, a model the key allows and one it does not. */
const GOVERNED = [
  ['azure', 'contoso.openai.azure.com', '/openai/v1/responses', 'gpt5-prod', 'gpt5-test'],
  ['azure', 'contoso.services.ai.azure.com', '/openai/v1/responses', 'gpt5-prod', 'gpt5-test'],
  ['azure', 'contoso.cognitiveservices.azure.com', '/openai/v1/responses', 'gpt5-prod', 'gpt5-test'],
  ['azure', 'contoso.openai.azure.com', '/openai/responses?api-version=2025-04-01-preview', 'gpt5-prod', 'gpt5-test'],
  ['azure', 'contoso.services.ai.azure.com', '/api/projects/demo/openai/v1/responses', 'gpt5-prod', 'gpt5-test'],
  ['xai', 'api.x.ai', '/v1/responses', 'grok-4', 'grok-3'],
  ['groq', 'api.groq.com', '/openai/v1/responses', 'openai/gpt-oss-120b', 'llama-3.3-70b-versatile'],
  ['openrouter', 'openrouter.ai', '/api/v1/responses', 'openai/gpt-5', 'anthropic/claude-opus-4'],
] as const;

describe.each(GOVERNED)('the Responses WebSocket on %s (%s%s)', (provider, host, target, allowed, refused) => {
  const recordPath = target.split('?')[0];

  it('a secret in a response.create is refused with an error event, and recorded as blocked with its finding', async () => {
    const { decide, records } = agent();
    const opened = await decide({ host, path: target, headers: {} });
    expect(opened.action).toBe('allow');
    const messages = opened.action === 'allow' ? opened.messages : undefined;
    expect(messages).toBeDefined();
    const event = errorEvent(await messages!.inspect(turn(allowed, `deploy with ${SECRET}`), false));
    expect(event).toMatchObject({ type: 'error', status: 446, error: { type: 'guardrail_blocked' } });
    expect(records.at(-1)).toMatchObject({
      decision: 'blocked', status: 446, errorType: 'guardrail_blocked', host, path: recordPath, provider, model: allowed, via: 'edge',
      findings: [{ type: 'secret', ruleId: 'github-pat', action: 'block', location: 'input[0].content[0].text' }],
    });
  });

  it('the model of each response.create is decided: one the key allows is forwarded, another refused as model_blocked', async () => {
    const { decide, records } = agent();
    const opened = await decide({ host, path: target, headers: {} });
    const messages = opened.action === 'allow' ? opened.messages : undefined;
    const forwarded = await messages!.inspect(turn(allowed, 'hello'), false);
    expect(forwarded.action).toBe('forward');
    await (forwarded as Extract<MessageVerdict, { action: 'forward' }>).handedOver?.({ sent: true });
    expect(records.at(-1)).toMatchObject({ decision: 'forwarded', provider, model: allowed, prompt: 'hello' });

    const event = errorEvent(await messages!.inspect(turn(refused, 'hello'), false));
    expect(event).toMatchObject({ status: 403, error: { type: 'model_blocked', message: expect.stringContaining(refused) } });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', status: 403, provider, model: refused });
  });

  it('the opening is recorded as read (forwarded), not flagged uninspected, and goes to the origin', async () => {
    const { decide, records } = websocketDecisionAgent({ ...agentOptions(), mode: 'gateway' });
    const opened = await decide({ host, path: target, headers: {} });
    expect(opened.action === 'allow' && opened.messages !== undefined).toBe(true);
    await (opened as Extract<typeof opened, { action: 'allow' }>).upstream!({ kind: 'open' });
    expect(records.at(-1)).toMatchObject({ decision: 'forwarded', status: 101, findings: [], provider, via: 'origin' });
  });
});

describe('Copilot\'s Responses WebSocket (app-governed: no model rules, the guardrails apply)', () => {
  it.each(['/responses', '/v1/responses'])('a secret in a response.create on %s is refused and recorded', async (target) => {
    const { decide, records } = agent();
    const opened = await decide({ host: 'api.githubcopilot.com', path: target, headers: {} });
    const messages = opened.action === 'allow' ? opened.messages : undefined;
    expect(messages).toBeDefined();
    expect(errorEvent(await messages!.inspect(turn('gpt-5', `deploy with ${SECRET}`), false))).toMatchObject({ type: 'error', status: 446, error: { type: 'guardrail_blocked' } });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', status: 446, errorType: 'guardrail_blocked', provider: 'copilot', path: target, model: 'gpt-5' });
  });
});
