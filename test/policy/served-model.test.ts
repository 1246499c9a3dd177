import { describe, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { decideRequest, type PolicyRoute } from '../../src/policy/decide.js';
import { modelVerdict, releaseAliases, SERVER_MODEL_OPERATION, servedModelVerdict } from '../../src/policy/model-access.js';
import { sessionRevocation } from '../../src/policy/session-revocation.js';
import { bundle, decisionInput, NOW, request, vk } from './support.js';

/**
 * The model a live session's server says it runs is checked as itself: a key that blocks it (by its name, an alias it
 * is a release of, or `*`) refuses it even when its alias is allowed, while a key that lists only the alias lets the
 * alias's releases through, unless it names releases of that alias (it chose those).
 */

const DATED = 'gpt-4o-realtime-preview-2024-12-17';
const openai = (allowed_models: string[], blacklisted_models: string[] = []) =>
  vk({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models, blacklisted_models }] });

it.each([
  ['the alias allowed, the release blocked', 'blacklisted', openai(['gpt-4o-realtime-preview'], [DATED])],
  ['the alias allowed, the release blocked qualified', 'blacklisted', openai(['gpt-4o-realtime-preview'], [`openai/${DATED}`])],
  ['every model allowed, the release blocked', 'blacklisted', openai(['*'], [DATED])],
  ['every model allowed, the alias blocked', 'blacklisted', openai(['*'], ['gpt-4o-realtime-preview'])],
  ['every model blocked', 'blacklisted', openai(['gpt-4o-realtime-preview'], ['*'])],
  ['only the alias allowed', 'allowed', openai(['gpt-4o-realtime-preview'])],
  ['only the alias allowed, qualified', 'allowed', openai(['openai/gpt-4o-realtime-preview'])],
  ['the alias allowed, another release blocked', 'allowed', openai(['gpt-4o-realtime-preview'], ['gpt-4o-realtime-preview-2024-10-01'])],
  ['the release itself allowed', 'allowed', openai([DATED])],
  ['every model allowed', 'allowed', openai(['*'])],
  ['the alias and another of its releases allowed', 'not_allowed', openai(['gpt-4o-realtime-preview', 'gpt-4o-realtime-preview-2024-10-01'])],
  ['another model only', 'not_allowed', openai(['gpt-realtime'])],
  ['a longer name that extends the alias', 'not_allowed', openai(['gpt-4o-realtime-preview-2024'])],
  ['nothing', 'not_allowed', openai([])],
])('%s: %s', (_name, verdict, key) => {
  expect(servedModelVerdict(key, 'openai', DATED)).toBe(verdict);
});

it('a key of another provider allows nothing served on this one', () => {
  expect(servedModelVerdict(vk({ provider_configs: [{ provider: 'gemini', weight: 1, allowed_models: ['*'] }] }), 'openai', DATED)).toBe('not_allowed');
});

it('a client-named model keeps exact names: the alias does not admit its release there', () => {
  expect(modelVerdict(openai(['gpt-4o-realtime-preview']), 'openai', DATED)).toBe('not_allowed');
});

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

it.each([
  // A live session's server-named model is rechecked as it was decided; the models a client named keep exact names.
  ['the server named it, its alias still allowed', SERVER_MODEL_OPERATION, { allowed_models: ['gpt-4o-realtime-preview'] }, undefined],
  ['the server named it, now blocked by name', SERVER_MODEL_OPERATION, { allowed_models: ['gpt-4o-realtime-preview'], blacklisted_models: [DATED] }, 'model_blocked'],
  ['the client named it, only its alias allowed', 'websocket', { allowed_models: ['gpt-4o-realtime-preview'] }, 'model_blocked'],
  ['the client named it, allowed by name', 'websocket', { allowed_models: [DATED] }, undefined],
])('sessionRevocation of a session on the release, %s: %s', (_name, operation, config, type) => {
  const route: PolicyRoute = { mode: 'local', virtualKey: { id: 'vk-eng', name: 'eng-team' }, provider: 'openai', model: DATED, candidates: [], windows: [] };
  const key: Partial<KeyInput> = { provider_configs: [{ provider: 'openai', weight: 1, ...config }] };
  expect(sessionRevocation({ route, bundle: bundle({}, key), now: NOW, operation })?.type).toBe(type);
});

describe('the decision on a server-named model is about access only', () => {
  // No request left this hour, and a budget the gateway reports spent: both would refuse a request of the client's.
  const spent: Partial<KeyInput> = {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-4o-realtime-preview'], blacklisted_models: ['gpt-4o-realtime-preview-2024-10-01'] }],
    rate_limit: { request_max_limit: 0, request_reset_duration: '1h', token_max_limit: 1000, token_reset_duration: '1h' },
    budgets: [{ max_limit: 5, reset_duration: '1M', current_usage: 5, last_reset: '2025-05-20T00:00:00Z' }],
  };
  const decide = (operation: string, model: string) =>
    decideRequest(decisionInput({ bundle: bundle({}, spent), request: request({ adapter: 'websocket', operation, model }) }));

  it('a release its alias allows is allowed past a request limit reached and a budget spent', () => {
    const decision = decide(SERVER_MODEL_OPERATION, DATED);
    expect(decision.action).toBe('allow');
  });

  it('its route leaves out the request windows (it counts nothing) and keeps those its usage is charged to', () => {
    const decision = decide(SERVER_MODEL_OPERATION, DATED);
    if (decision.action !== 'allow') throw new Error('refused');
    expect(decision.route.windows.map((w) => w.metric).sort()).toEqual(['spend', 'tokens']);
  });

  it('a release the key blocks is still refused', () => {
    expect(decide(SERVER_MODEL_OPERATION, 'gpt-4o-realtime-preview-2024-10-01')).toMatchObject({ action: 'block', error: { type: 'model_blocked' } });
  });

  it('a model the client names is still held to the limits', () => {
    expect(decide('session.update', 'gpt-4o-realtime-preview')).toMatchObject({ action: 'block', error: { status: 429 } });
  });
});

describe('only dated or numbered suffixes make a release of an alias', () => {
  it.each([
    ['gpt-4o-realtime-preview-2024-12-17', ['gpt-4o-realtime-preview']],
    ['claude-sonnet-4-5-20250929', ['claude-sonnet-4-5']],
    ['gemini-2.0-flash-001', ['gemini-2.0-flash']],
    ['gpt-4o-2024-08-06-001', ['gpt-4o-2024-08-06', 'gpt-4o']],
    // `-preview`, `-latest`, `-mini` name other models (Bifrost matches exact names), not releases.
    ['gpt-4o-realtime-preview', []],
    ['chatgpt-4o-latest', []],
    ['gpt-realtime-mini', []],
  ])('%s: %j', (model, aliases) => {
    expect(releaseAliases(model)).toEqual(aliases);
  });

  it.each([
    // An alias allows its dated release, and blocking it blocks the release...
    ['allowed by its alias', 'gpt-4o-realtime-preview-2024-12-17', openai(['gpt-4o-realtime-preview']), 'allowed'],
    ['blocked by its alias', 'gpt-4o-realtime-preview-2024-12-17', openai(['*'], ['gpt-4o-realtime-preview']), 'blacklisted'],
    // ...but a `-preview` or `-latest` model is not a release of the name before it.
    ['-preview not allowed by the shorter name', 'gpt-4o-realtime-preview', openai(['gpt-4o-realtime']), 'not_allowed'],
    ['-preview not blocked by the shorter name', 'gpt-4o-realtime-preview', openai(['*'], ['gpt-4o-realtime']), 'allowed'],
    ['-latest not allowed by the shorter name', 'gpt-realtime-latest', openai(['gpt-realtime']), 'not_allowed'],
    ['-latest not blocked by the shorter name', 'gpt-realtime-latest', openai(['*'], ['gpt-realtime']), 'allowed'],
  ])('a served model %s', (_name, served, key, verdict) => {
    expect(servedModelVerdict(key, 'openai', served)).toBe(verdict);
  });
});
