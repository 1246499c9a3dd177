import { describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { decideRequest } from '../../src/policy/decide.js';
import { SERVER_MODEL_OPERATION, SESSION_MODEL_OPERATION } from '../../src/policy/model-access.js';
import { bundle, decisionInput, request } from './support.js';

/**
 * A model a live session's client names within the session (SESSION_MODEL_OPERATION: a Realtime session.update's
 * model or transcription model) is checked for access only, as the model its server names is: no request limit or
 * budget refuses it and its route leaves out the request windows. But the client chose the name, so it keeps exact
 * names: unlike the server's, it gets no release of a listed alias through.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

const RELEASE = 'gpt-realtime-2025-08-28';

// No request left this hour, and a budget the gateway reports spent: both would refuse a request of the client's own.
const spent: Partial<KeyInput> = {
  provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }],
  rate_limit: { request_max_limit: 0, request_reset_duration: '1h', token_max_limit: 1000, token_reset_duration: '1h' },
  budgets: [{ max_limit: 5, reset_duration: '1M', current_usage: 5, last_reset: '2025-05-20T00:00:00Z' }],
};
const decide = (operation: string, model: string) =>
  decideRequest(decisionInput({ bundle: bundle({}, spent), request: request({ adapter: 'websocket', operation, model }) }));

describe('a model a session\'s client names', () => {
  it('is allowed past a request limit reached and a budget spent, and says why', () => {
    const decision = decide(SESSION_MODEL_OPERATION, 'gpt-realtime');
    expect(decision.action).toBe('allow');
    expect(decision.reasons).toContain('model gpt-realtime named in the session by its client: checked for access only');
  });

  it('gets a route without the request windows (it counts nothing) and with those its usage is charged to', () => {
    const decision = decide(SESSION_MODEL_OPERATION, 'gpt-realtime');
    if (decision.action !== 'allow') throw new Error('refused');
    expect(decision.route.windows.map((w) => w.metric).sort()).toEqual(['spend', 'tokens']);
  });

  it('is held to exact names: a dated release of the one model the key lists is refused', () => {
    expect(decide(SESSION_MODEL_OPERATION, RELEASE)).toMatchObject({ action: 'block', error: { type: 'model_blocked' } });
  });

  it('while the same release named by the session\'s server is allowed', () => {
    expect(decide(SERVER_MODEL_OPERATION, RELEASE)).toMatchObject({ action: 'allow' });
  });
});
