import { afterEach, describe, expect, it } from 'vitest';
import type { AppCatalogEntry, PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import type { PolicyRoute } from '../../src/policy/decide.js';
import { sessionRevocation } from '../../src/policy/session-revocation.js';
import type { SessionClose } from '../../src/proxy/websocket-session-usage.js';
import { appFor, bundle, NOW } from '../policy/support.js';
import { until } from '../support/until.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A live Realtime session is decided once, at its opening, and its app is one of the gates it passed: when a new
 * policy stops allowing the app (denies it, or blocks apps pending review while the app is one), the session is
 * closed (1008) with one record saying why, as when its key is revoked. The app is attributed again under the new
 * catalog, from the opening's own signals, so a new entry that names it another way counts too. The revoked question
 * is the enforcer's own `revoked` (session-revocation.ts, with the app the current catalog attributes from the opening's signals).
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

const KEY: Partial<KeyInput> = { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] };
const USER_AGENT = 'OpenAI/JS 6.1.0';
const TARGET = '/v1/realtime?model=gpt-realtime';
const done = message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } });

const sdk = (status: AppCatalogEntry['status']): AppCatalogEntry => ({ id: 'openai-sdk', name: 'OpenAI SDK client', status, match: { hosts: [], user_agents: [], processes: [] } });

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

/**
 * A metering agent wired as src/agent.ts wires it: sessions hear of each bundle the enforcer applies
 * (onBundleApplied) and ask the enforcer's own revoked, so an enforcer that stopped passing the session's app
 * would leave these sessions open.
 */
function appAgent(apps: PolicyBundleInput['apps']) {
  const metering = meteringAgent(KEY);
  const applyApps = (changed: PolicyBundleInput['apps']) => metering.enforcer.setBundle(bundle({ apps: changed }, KEY));
  applyApps(apps);
  return { metering, applyApps };
}

async function openWatched(metering: MeteringAgent) {
  const session = await metering.open('api.openai.com', TARGET, { 'user-agent': USER_AGENT });
  let close: SessionClose | undefined;
  session.watch?.((asked) => { close ??= asked; });
  const closed = async (): Promise<SessionClose | undefined> => (await until(() => close !== undefined) ? close : undefined);
  return { session, closed, closedNow: () => close };
}

it.each([
  ['denies it', { catalog: [sdk('approved')] }, { catalog: [sdk('denied')] }, 'your organization no longer allows OpenAI SDK client'],
  ['blocks apps pending review while it is one', { pending_action: 'allow' as const }, { pending_action: 'block' as const }, "OpenAI SDK client is waiting for your admin's review"],
  // The new entry has its own id and matches the User-Agent: the session's app is attributed again, not remembered.
  ['lists it under an entry of its own, denied', {}, {
    catalog: [{ id: 'scripts', name: 'Scripts', status: 'denied' as const, match: { hosts: [], user_agents: ['^OpenAI/'], processes: [] } }],
  }, 'your organization no longer allows Scripts'],
])('a live session is closed when a new policy %s, and the close recorded', async (_name, before, after, reason) => {
  const { metering, applyApps } = appAgent(before);
  agent = metering;
  const { session, closed } = await openWatched(metering);
  expect(await session.serverMessage(done)).toBeUndefined();
  applyApps(after);
  const close = (await closed())!;
  expect(close).toMatchObject({ code: 1008, reason: expect.stringContaining(reason) });
  expect(metering.records.filter((r) => r.decision === 'blocked')).toMatchObject([
    { via: 'edge', status: 403, errorType: 'app_blocked', model: 'gpt-realtime', message: close.reason },
  ]);
});

it('a new policy that still allows the app leaves the session open', async () => {
  const { metering, applyApps } = appAgent({ catalog: [sdk('approved')], pending_action: 'block' });
  agent = metering;
  const { session, closedNow } = await openWatched(metering);
  applyApps({ catalog: [sdk('approved'), { id: 'chatgpt', name: 'ChatGPT', status: 'denied', match: { hosts: ['chatgpt.com'], user_agents: [], processes: [] } }], pending_action: 'block' });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(closedNow()).toBeUndefined();
  expect(await session.serverMessage(done)).toBeUndefined();
  expect(metering.records.filter((r) => r.decision === 'blocked')).toEqual([]);
});

describe('sessionRevocation on the app', () => {
  const route: PolicyRoute = { mode: 'local', virtualKey: { id: 'vk-eng', name: 'eng-team' }, provider: 'openai', model: 'gpt-realtime', candidates: [], windows: [] };
  const under = (apps: PolicyBundleInput['apps']) => {
    const b = bundle({ apps }, KEY);
    return sessionRevocation({ route, bundle: b, now: NOW, app: appFor({}, b) });
  };

  it.each([
    ['approved', 'allowed', { catalog: [sdk('approved')], pending_action: 'block' as const }, undefined],
    ['pending, pending apps allowed', 'allowed', {}, undefined],
    ['denied', 'closed', { catalog: [sdk('denied')] }, 'app_blocked'],
    ['pending, pending apps blocked', 'closed', { pending_action: 'block' as const }, 'app_blocked'],
  ])('an app %s: %s', (_name, _outcome, apps, type) => {
    expect(under(apps)?.type).toBe(type);
  });

  it('is checked before the key: an app refused and a key removed at once are closed for the app', () => {
    const b = bundle({ apps: { catalog: [sdk('denied')] }, virtual_keys: [] });
    expect(sessionRevocation({ route, bundle: b, now: NOW, app: appFor({}, b) })).toMatchObject({ status: 403, type: 'app_blocked', provider: 'openai', model: 'gpt-realtime' });
  });

  it('without a policy, or without the app, the app is not checked', () => {
    const b = bundle({ apps: { catalog: [sdk('denied')] } }, KEY);
    expect(sessionRevocation({ route, bundle: undefined, now: NOW, app: appFor({}, b) })).toBeUndefined();
    expect(sessionRevocation({ route, bundle: b, now: NOW })).toBeUndefined();
  });
});
