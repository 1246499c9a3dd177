import { describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { decideRequest, type PolicyRoute } from '../../src/policy/decide.js';
import { allowedModelsOn, modelVerdict, SERVER_MODEL_OPERATION, servedModelVerdict, SESSION_MODEL_OPERATION } from '../../src/policy/model-access.js';
import { isJudgeableModelName, modelNameKey } from '../../src/policy/model-name-key.js';
import { resolveTarget } from '../../src/policy/model-target.js';
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

  it('the refusal names each deployment once, in the first spelling the lists give it', () => {
    expect(allowedModelsOn(azure(['gpt4o', 'GPT4O', 'azure/Gpt4o', 'mini']), 'azure')).toEqual({ any: false, models: ['gpt4o', 'mini'] });
    expect(allowedModelsOn(azure(['*'], ['o1-Pro', 'O1-PRO', 'azure/o1-pro']), 'azure')).toEqual({ any: true, except: ['o1-Pro'] });
    const decision = decideRequest(decisionInput({ bundle: bundle({}, azureKey(['gpt4o', 'GPT4O', 'mini'])), request: request({ provider: 'azure', model: 'other' }) }));
    expect(decision).toMatchObject({ action: 'block', error: { type: 'model_blocked', message: expect.stringContaining('allowed: gpt4o, mini.') } });
  });

  it('other providers still list every spelling: they are different models there', () => {
    const openai = vk({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-4o', 'GPT-4O'], blacklisted_models: [] }] });
    expect(allowedModelsOn(openai, 'openai')).toEqual({ any: false, models: ['gpt-4o', 'GPT-4O'] });
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

/**
 * Only ASCII letters fold on Azure (its deployment names are ASCII; .NET's OrdinalIgnoreCase folds no other letter onto
 * an ASCII one), while JavaScript's case mappings fold some: `ı`, `ſ` and `İ` upper-case to I, S and I, the Kelvin sign
 * lower-cases to k. A name with such a character, or a control character, is refused before any list is read.
 */
describe('an Azure model name outside plain ASCII', () => {
  const decide = (key: Partial<KeyInput>, model: string, overrides: Parameters<typeof request>[0] = {}) =>
    decideRequest(decisionInput({ bundle: bundle({}, key), request: request({ provider: 'azure', model, ...overrides }) }));

  it.each([
    ['a dotless i (U+0131) past a deny rule', azureKey(['*'], ['gpt-mini']), 'gpt-m\u0131ni'],
    ['a long s (U+017F) past a deny rule', azureKey(['*'], ['gpt-4o-small']), 'gpt-4o-\u017Fmall'],
    ['a dotted capital I (U+0130) past a deny rule', azureKey(['*'], ['gpt-mini']), 'GPT-M\u0130N\u0130'],
    ['a Kelvin sign (U+212A) through an allow list', azureKey(['kimi']), '\u212Aimi'],
    ['a control character', azureKey(['*'], ['gpt4o']), 'gpt4o\u0000'],
  ])('is refused as an invalid request: %s', (_name, key, model) => {
    const decision = decide(key, model);
    expect(decision).toMatchObject({ action: 'block', error: { status: 400, type: 'invalid_request', provider: 'azure', model } });
    if (decision.action === 'block') expect(decision.error.message).toMatch(/outside plain ASCII/);
  });

  it('is refused in a Realtime session.update and as the model a session\'s server names', () => {
    const key = azureKey(['*'], ['gpt-realtime']);
    for (const operation of [SESSION_MODEL_OPERATION, SERVER_MODEL_OPERATION]) {
      expect(decide(key, 'gpt-real\u0131time', { adapter: 'websocket', operation })).toMatchObject({ action: 'block', error: { status: 400, type: 'invalid_request' } });
    }
  });

  it('is allowed by no list wherever else it is judged (a live session rechecked)', () => {
    expect(modelVerdict(azure(['*']), 'azure', 'gpt-m\u0131ni')).toBe('not_allowed');
    expect(servedModelVerdict(azure(['*']), 'azure', 'gpt-m\u0131ni')).toBe('not_allowed');
  });

  it('is refused when the gateway may load-balance a bare model onto Azure', () => {
    const key: Partial<KeyInput> = { provider_configs: [
      { provider: 'openai', weight: 1, allowed_models: ['*'], blacklisted_models: [] },
      { provider: 'azure', weight: 1, allowed_models: ['*'], blacklisted_models: ['gpt-mini'] },
    ] };
    const decision = decideRequest(decisionInput({ bundle: bundle({}, key), request: request({ provider: 'openai', model: 'gpt-m\u0131ni' }) }));
    expect(decision).toMatchObject({ action: 'block', error: { status: 400, type: 'invalid_request', provider: 'azure' } });
    // The app called OpenAI: it is told the gateway may send the bare model to Azure, and how to keep it on OpenAI.
    if (decision.action === 'block') {
      expect(decision.error.message).toContain('The gateway may route this bare model to azure');
      expect(decision.error.message).toContain('send it as "openai/gpt-m\u0131ni" to keep it on openai');
    }
  });

  it('folds only ASCII letters, and names on other providers stay exact and judged by their lists', () => {
    expect(modelNameKey('azure', 'GPT-4O-\u212A')).toBe('gpt-4o-\u212A');
    expect(isJudgeableModelName('azure', 'GPT-4o_prod.v2')).toBe(true);
    expect(isJudgeableModelName('openai', 'gpt-m\u0131ni')).toBe(true);
    const openai = bundle({}, { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'], blacklisted_models: ['gpt-mini'] }] });
    expect(decideRequest(decisionInput({ bundle: openai, request: request({ model: 'gpt-m\u0131ni' }) })).action).toBe('allow');
  });
});

/**
 * In gateway mode Bifrost load-balances a bare model across the key's configs by exact names; Azure, once picked, reads
 * the name in any case. So candidates are picked exactly, and a candidate whose deny rule matches after folding refuses.
 */
describe('a bare model the gateway may load-balance onto Azure', () => {
  const gateway = (key: Partial<KeyInput>, model: string) => {
    const b = bundle({}, key);
    return {
      target: resolveTarget({ key: b.virtual_keys[0]!, surfaceProvider: 'openai', model, mode: 'gateway', isSpent: () => false }),
      decision: decideRequest(decisionInput({ bundle: b, request: request({ provider: 'openai', model }) })),
    };
  };

  it('is not sent to an Azure config that lists the deployment in another spelling: the gateway would not pick it', () => {
    const { target, decision } = gateway(azureKey(['gpt4o']), 'GPT4O');
    expect(target).toEqual({ provider: 'openai', model: 'GPT4O', loadBalanced: false, candidates: [], mayServe: [] });
    expect(decision).toMatchObject({ action: 'block', error: { type: 'provider_blocked', provider: 'openai' } });
  });

  it('is refused when an Azure candidate denies it in another spelling', () => {
    const { target, decision } = gateway({ provider_configs: [
      { provider: 'openai', weight: 1, allowed_models: ['*'], blacklisted_models: [] },
      { provider: 'azure', weight: 1, allowed_models: ['*'], blacklisted_models: ['gpt-4o'] },
    ] }, 'GPT-4O');
    expect(target).toEqual({ provider: 'azure', model: 'GPT-4O', loadBalanced: true, candidates: ['openai', 'azure'], mayServe: ['openai', 'azure'] });
    expect(decision).toMatchObject({ action: 'block', error: { status: 403, type: 'model_blocked', provider: 'azure', model: 'GPT-4O' } });
  });

  it('is refused when an Azure config lists one spelling and denies another', () => {
    const { target, decision } = gateway({ provider_configs: [
      { provider: 'openai', weight: 1, allowed_models: ['*'], blacklisted_models: [] },
      { provider: 'azure', weight: 1, allowed_models: ['GPT4O'], blacklisted_models: ['gpt4o'] },
    ] }, 'GPT4O');
    expect(target.candidates).toEqual(['openai', 'azure']);
    expect(decision).toMatchObject({ action: 'block', error: { type: 'model_blocked', provider: 'azure' } });
  });

  it('goes ahead, checked as the surface\'s provider, when no candidate denies it', () => {
    const { target, decision } = gateway({ provider_configs: [
      { provider: 'openai', weight: 1, allowed_models: ['*'], blacklisted_models: [] },
      { provider: 'azure', weight: 1, allowed_models: ['*'], blacklisted_models: ['gpt-4o-mini'] },
    ] }, 'GPT-4O');
    expect(target).toMatchObject({ provider: 'openai', candidates: ['openai', 'azure'] });
    expect(decision.action).toBe('allow');
  });
});

/**
 * The gateway keeps its own counters: a config the device thinks spent may still be one it picks. So the refusals that
 * follow Azure's reading of a name hold for every config that admits it, spent on the device or not; spent-ness only
 * chooses the provider the device expects.
 */
describe('a bare model an Azure config the device thinks spent may still serve', () => {
  const configs: Partial<KeyInput> = { provider_configs: [
    { provider: 'openai', weight: 1, allowed_models: ['*'], blacklisted_models: [] },
    // No request allowed: spent on the device from its first request, whatever the gateway counts.
    { provider: 'azure', weight: 1, allowed_models: ['*'], blacklisted_models: ['gpt-4o'], rate_limit: { request_max_limit: 0, request_reset_duration: '1h' } },
  ] };
  const decideOnOpenAI = (model: string) => decideRequest(decisionInput({ bundle: bundle({}, configs), request: request({ provider: 'openai', model }) }));

  it('is checked against Azure\'s deny rule after folding', () => {
    const target = resolveTarget({ key: bundle({}, configs).virtual_keys[0]!, surfaceProvider: 'openai', model: 'GPT-4O', mode: 'gateway', isSpent: (p) => p === 'azure' });
    expect(target).toEqual({ provider: 'azure', model: 'GPT-4O', loadBalanced: false, candidates: ['openai'], mayServe: ['openai', 'azure'] });
    expect(decideOnOpenAI('GPT-4O')).toMatchObject({ action: 'block', error: { status: 403, type: 'model_blocked', provider: 'azure', model: 'GPT-4O' } });
  });

  it('is refused when its name is outside plain ASCII', () => {
    expect(decideOnOpenAI('gpt-4o-m\u0131n\u0131')).toMatchObject({ action: 'block', error: { status: 400, type: 'invalid_request', provider: 'azure' } });
  });

  it('still expects the unspent provider for a name no config denies', () => {
    const target = resolveTarget({ key: bundle({}, configs).virtual_keys[0]!, surfaceProvider: 'anthropic', model: 'gpt-4o-mini', mode: 'gateway', isSpent: (p) => p === 'openai' });
    expect(target).toEqual({ provider: 'azure', model: 'gpt-4o-mini', loadBalanced: false, candidates: ['azure'], mayServe: ['openai', 'azure'] });
    expect(decideOnOpenAI('gpt-4o-mini')).toMatchObject({ action: 'allow', route: { provider: 'openai', candidates: ['openai'] } });
  });
});
