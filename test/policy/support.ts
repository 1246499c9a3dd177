import { PolicyBundleSchema, type PolicyBundle, type PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import type { VirtualKey } from '../../src/control/protocol/virtual-key.js';
import { attributeApp, compileAppCatalog, type AppIdentity, type AppSignals } from '../../src/policy/apps.js';
import type { DecisionInput } from '../../src/policy/decide.js';
import { EMPTY_COUNTERS } from '../../src/policy/limits.js';
import type { HttpRequestInfo, NormalizedRequest, ProviderName } from '../../src/providers/types.js';

export const NOW = new Date('2025-06-01T12:00:00.000Z');
export const ISSUED = '2025-06-01T11:00:00.000Z';

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

/** A bundle as Edge Control would send it (schema defaults applied), with one key unless told otherwise. */
export function bundle(overrides: Partial<PolicyBundleInput> = {}, key: Partial<KeyInput> = {}): PolicyBundle {
  return PolicyBundleSchema.parse({
    schema: 'bifrost-edge.policy/v1',
    version: 7,
    issued_at: ISSUED,
    subject: { sub: 'user-1', email: 'ada@example.com', name: 'Ada' },
    virtual_keys: [vkInput(key)],
    ...overrides,
  });
}

export function vkInput(key: Partial<KeyInput> = {}): KeyInput {
  return {
    id: 'vk-eng',
    name: 'eng-team',
    value: 'sk-bf-eng-0001',
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }],
    ...key,
  };
}

export function vk(key: Partial<KeyInput> = {}): VirtualKey {
  return bundle({}, key).virtual_keys[0]!;
}

export function request(overrides: Partial<NormalizedRequest> = {}): NormalizedRequest {
  return {
    provider: 'openai' as ProviderName,
    adapter: 'openai-compatible',
    operation: 'chat.completions',
    model: 'gpt-4o',
    stream: false,
    texts: [],
    tools: [],
    inspected: true,
    ...overrides,
  };
}

export function appFor(signals: Partial<AppSignals> = {}, b?: PolicyBundle): AppIdentity {
  return attributeApp({ host: 'api.openai.com', userAgent: 'OpenAI/JS 6.1.0', ...signals }, compileAppCatalog(b?.apps.catalog ?? []));
}

export function decisionInput(overrides: Partial<DecisionInput> = {}): DecisionInput {
  const b = 'bundle' in overrides ? overrides.bundle : bundle();
  return {
    request: request(),
    bundle: b,
    app: appFor({}, b),
    counters: EMPTY_COUNTERS,
    now: NOW,
    signedIn: true,
    controlPlaneReachable: true,
    ...overrides,
  };
}

export function info(host: string, headers: HttpRequestInfo['headers'] = {}, path = '/v1/chat/completions'): HttpRequestInfo {
  return { method: 'POST', host, path, headers };
}
