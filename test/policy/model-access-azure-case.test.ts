import { describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { decideRequest, type PolicyRoute } from '../../src/policy/decide.js';
import { allowedModelsOn, modelVerdict, SERVER_MODEL_OPERATION, servedModelVerdict } from '../../src/policy/model-access.js';
import { modelNameKey } from '../../src/policy/model-name-key.js';
import { sessionRevocation } from '../../src/policy/session-revocation.js';
import { bundle, decisionInput, NOW, request, vk } from './support.js';

/**
 * An Azure model is a deployment, an ARM resource Azure matches whatever its letter case: `GPT4O` reaches deployment
 * `gpt4o`. So the key's lists hold for every spelling of a deployment on Azure (a deny rule for `gpt4o` refuses
 * `GPT4O`), while what the app sent keeps its spelling. Other providers keep Bifrost's exact names.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];
const azureKey = (allowed_models: string[], blacklisted_models: string[] = []): Partial<KeyInput> =>
  ({ provider_configs: [{ provider: 'azure', weight: 1, allowed_models, blacklisted_models }] });
const azure = (allowed_models: string[], blacklisted_models: string[] = []) => vk(azureKey(allowed_models, blacklisted_models));

describe('a deployment is named in any letter case on Azure', () => {
  it.each([
    ['a deny rule refuses another spelling', azure(['*'], ['gpt4o']), 'GPT4O', 'blacklisted'],
    ['a deny rule in capitals refuses the lower-case name', azure(['*'], ['GPT4o']), 'gpt4o', 'blacklisted'],
    ['a qualified deny rule refuses another spelling', azure(['*'], ['azure/gpt4o']), 'Gpt4O', 'blacklisted'],
    ['a deny rule still refuses only its own deployment', azure(['*'], ['gpt4o']), 'GPT4O-MINI', 'allowed'],
    ['an allow list admits another spelling', azure(['gpt4o-prod']), 'GPT4O-Prod', 'allowed'],
    ['a qualified allow list admits another spelling', azure(['azure/GPT4O-PROD']), 'gpt4o-prod', 'allowed'],
    ['an allow list still refuses a deployment it does not list', azure(['gpt4o-prod']), 'GPT4O-DEV', 'not_allowed'],
  ])('%s', (_name, key, model, verdict) => {
    expect(modelVerdict(key, 'azure', model)).toBe(verdict);
  });

  it('other providers keep exact names, as Bifrost matches them', () => {
    const openai = vk({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-4o'], blacklisted_models: [] }] });
    expect(modelVerdict(openai, 'openai', 'GPT-4O')).toBe('not_allowed');
    expect(modelNameKey('openai', 'GPT-4O')).toBe('GPT-4O');
    expect(modelNameKey('azure', 'GPT-4O')).toBe('gpt-4o');
  });

  it('a served model is held to the same rule', () => {
    expect(servedModelVerdict(azure(['*'], ['gpt-realtime']), 'azure', 'GPT-REALTIME-2025-08-28')).toBe('blacklisted');
    expect(servedModelVerdict(azure(['GPT-Realtime']), 'azure', 'gpt-realtime-2025-08-28')).toBe('allowed');
  });

  it('the refusal lists what the key allows without a deployment it blocks in another spelling', () => {
    expect(allowedModelsOn(azure(['gpt4o', 'gpt4o-mini'], ['GPT4O']), 'azure')).toEqual({ any: false, models: ['gpt4o-mini'] });
  });
});

describe('the decision on an Azure request', () => {
  const decide = (key: Partial<KeyInput>, model: string, overrides: Parameters<typeof request>[0] = {}) =>
    decideRequest(decisionInput({ bundle: bundle({}, key), request: request({ provider: 'azure', model, ...overrides }) }));

  it('refuses a denied deployment named in capitals, naming it as the app did', () => {
    const decision = decide(azureKey(['*'], ['gpt4o']), 'GPT4O');
    expect(decision).toMatchObject({ action: 'block', error: { status: 403, type: 'model_blocked', model: 'GPT4O', provider: 'azure' } });
  });

  it('refuses a Realtime session opened on a denied deployment in capitals (`?deployment=GPT4O`)', () => {
    const decision = decide(azureKey(['*'], ['gpt-realtime']), 'GPT-Realtime', { adapter: 'websocket', operation: 'websocket', stream: true, inspected: false });
    expect(decision).toMatchObject({ action: 'block', error: { type: 'model_blocked' } });
  });

  it('routes an allowed deployment as the app spelled it, on the same windows as any other spelling', () => {
    const limited: Partial<KeyInput> = { ...azureKey(['gpt4o']), rate_limit: { request_max_limit: 10, request_reset_duration: '1h' } };
    const upper = decide(limited, 'GPT4O');
    const lower = decide(limited, 'gpt4o');
    if (upper.action !== 'allow' || lower.action !== 'allow') throw new Error('refused');
    expect(upper.route.model).toBe('GPT4O');
    expect(upper.route.windows.map((w) => w.counterKey)).toEqual(lower.route.windows.map((w) => w.counterKey));
  });

  it('closes a live session on a deployment once the policy denies it in another spelling', () => {
    const route: PolicyRoute = { mode: 'local', virtualKey: { id: 'vk-eng', name: 'eng-team' }, provider: 'azure', model: 'GPT-Realtime', candidates: [], windows: [] };
    expect(sessionRevocation({ route, bundle: bundle({}, azureKey(['*'], ['gpt-realtime'])), now: NOW, operation: 'websocket' })?.type).toBe('model_blocked');
    expect(sessionRevocation({ route, bundle: bundle({}, azureKey(['gpt-realtime'])), now: NOW, operation: SERVER_MODEL_OPERATION })).toBeUndefined();
  });
});
