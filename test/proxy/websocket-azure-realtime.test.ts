import { describe, expect, it } from 'vitest';
import { bundle } from '../policy/support.js';
import { defaultGuardrails, websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * Azure OpenAI's Realtime API (`wss://{resource}.openai.azure.com/openai/realtime?deployment=…`, and the v1 API's
 * `/openai/v1/realtime?model=…`) is read like OpenAI's: the deployment is the model the key is checked on, and the
 * client's messages go through the guardrails. Before, the socket was relayed unread with no model decided.
 */

const agent = () => websocketDecisionAgent({
  bundle: bundle({}, { provider_configs: [{ provider: 'azure', weight: 1, allowed_models: ['voice-prod'] }] }),
  inspectors: [defaultGuardrails()],
});

const HOST = 'contoso.openai.azure.com';
const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const message = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('Azure OpenAI Realtime WebSockets', () => {
  it.each([
    ['/openai/realtime?api-version=2024-10-01-preview&deployment=voice-prod'],
    ['/openai/v1/realtime?model=voice-prod'],
  ])('an allowed deployment opens, and its messages are read by the guardrails: %s', async (target) => {
    const { decide } = agent();
    const opened = await decide({ host: HOST, path: target, headers: {} });
    expect(opened.action).toBe('allow');
    const messages = opened.action === 'allow' ? opened.messages : undefined;
    expect(messages).toBeDefined();
    const verdict = await messages!.inspect(message({ type: 'session.update', session: { instructions: `use ${SECRET}` } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008 });
  });

  it('a deployment the key does not allow is refused, and recorded as the model it is', async () => {
    const { decide, records } = agent();
    const opened = await decide({ host: HOST, path: '/openai/realtime?api-version=2024-10-01-preview&deployment=voice-test', headers: {} });
    expect(opened).toMatchObject({ action: 'block', message: expect.stringContaining('voice-test') });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', provider: 'azure', model: 'voice-test' });
  });

  it.each([
    ['/openai/realtime?deployment=voice-prod&deployment=voice-test'],
    ['/openai/realtime?deployment=voice-prod&model=voice-test'],
  ])('a URL naming its deployment twice, or both ways, is refused: %s', async (target) => {
    const { decide } = agent();
    expect(await decide({ host: HOST, path: target, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('more than once') });
  });
});
