import { expect, it } from 'vitest';
import { bundle } from '../policy/support.js';
import { websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * The audit record of a WebSocket opening says where it went, as an HTTP request's says `via`: in gateway mode the
 * Responses API's WebSocket goes to the gateway, the Realtime API to its origin; and one Edge would not dial for
 * want of a virtual key (401 `virtual_key_required`) is blocked by Edge, as the HTTP request is, not failed.
 */

/** A gateway-mode agent's decision, where WebSockets go as the agent routes them (websocket-route.ts). */
const agent = () => websocketDecisionAgent({ bundle: bundle({}, { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }] }), mode: 'gateway' });

it('an opening\'s record says it went to the gateway, or to the origin', async () => {
  const { decide, records } = agent();
  for (const target of ['/v1/responses', '/v1/realtime?model=gpt-realtime']) {
    const verdict = await decide({ host: 'api.openai.com', path: target, headers: {} });
    expect(verdict.action).toBe('allow');
    if (verdict.action === 'allow') await verdict.upstream!({ kind: 'open' });
  }
  expect(records.map((r) => [r.path, r.via, r.decision, r.status])).toEqual([
    ['/v1/responses', 'gateway', 'forwarded', 101],
    ['/v1/realtime', 'origin', 'forwarded', 101],
  ]);
});

it('an opening Edge would not send to the gateway without a virtual key is recorded as blocked by Edge, as the HTTP request is', async () => {
  const { decide, records } = agent();
  const verdict = await decide({ host: 'api.openai.com', path: '/v1/responses', headers: {} });
  if (verdict.action !== 'allow') throw new Error('the opening was not allowed');
  const message = 'You are not signed in to Bifrost Edge, so this AI WebSocket has no virtual key. Sign in and try again.';
  await verdict.upstream!({ kind: 'failed', status: 401, errorType: 'virtual_key_required', message });
  expect(records.at(-1)).toMatchObject({ via: 'edge', decision: 'blocked', status: 401, errorType: 'virtual_key_required', message });

  // A gateway Edge could not reach is a failure, as before.
  const second = await decide({ host: 'api.openai.com', path: '/v1/responses', headers: {} });
  if (second.action !== 'allow') throw new Error('the opening was not allowed');
  await second.upstream!({ kind: 'failed', status: 502, errorType: 'upstream_unreachable', message: 'Bifrost Edge could not open the upstream WebSocket' });
  expect(records.at(-1)).toMatchObject({ via: 'gateway', decision: 'failed', status: 502, errorType: 'upstream_unreachable' });
});
