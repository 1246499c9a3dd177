import { afterEach, expect, it } from 'vitest';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { sessionRevocation } from '../../src/policy/session-revocation.js';
import type { SessionClose } from '../../src/proxy/websocket-session-usage.js';
import { bundle, NOW } from '../policy/support.js';
import { until } from '../support/until.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A Realtime or Gemini Live session is decided once, at its opening; its key may be removed from the policy, switched
 * off, expire, or stop allowing the session's provider or model while it runs. When the policy changes, a live
 * session whose key no longer allows it is closed (1008) with a record saying why; so is one whose key expired, at
 * its next charge (an expiry passes without a policy change). A change that still allows the key leaves it open.
 * The enforcer and the decision are wired as src/agent.ts wires them (websocket-metering-agent.ts), with the
 * enforcer's revoked question answered by session-revocation.ts.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const KEY: Partial<KeyInput> = { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] };
const done = message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } });

/** A metering agent whose policy changes are announced, as the agent announces each bundle applied. */
function revocableAgent(key: Partial<KeyInput>, clock: { now: Date } = { now: NOW }) {
  const listeners = new Set<() => void>();
  const metering = meteringAgent(key, {
    deps: {
      revoked: (request) => sessionRevocation({ route: metering.enforcer.routeFor(request), bundle: metering.enforcer.bundle, now: clock.now }),
      policyChanges: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  });
  const applyKey = (changed: Partial<KeyInput> | null) => {
    metering.enforcer.setBundle(changed === null ? bundle({ virtual_keys: [] }) : bundle({}, { ...key, ...changed }));
    for (const listener of listeners) listener();
  };
  return { metering, applyKey, listeners };
}

/** Opens a Realtime session and watches it as the relay does; `closed()`: the close Edge asked for, once it did (5 s at most). */
async function openWatched(metering: MeteringAgent) {
  const session = await metering.open('api.openai.com', '/v1/realtime?model=gpt-realtime');
  let close: SessionClose | undefined;
  session.watch?.((asked) => { close ??= asked; });
  const closed = async (): Promise<SessionClose | undefined> => (await until(() => close !== undefined) ? close : undefined);
  return { session, closed, closedNow: () => close };
}

it.each([
  // As the decision refuses a request on such a key: a key not found is 401, the others 403.
  ['removed from the bundle', null, 401, 'virtual_key_not_found', "key 'eng-team' is no longer in your AI policy"],
  ['switched off', { is_active: false }, 403, 'virtual_key_blocked', "key 'eng-team' was switched off"],
  ['made to stop allowing the session\'s model', { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime-mini'] }] }, 403, 'model_blocked', 'no longer allows gpt-realtime'],
  ['made to stop allowing OpenAI', { provider_configs: [{ provider: 'gemini', weight: 1, allowed_models: ['*'] }] }, 403, 'provider_blocked', 'no longer allows openai'],
])('a live session whose key is %s is closed when the policy changes, and the close recorded', async (_name, changed, status, errorType, reason) => {
  const { metering, applyKey } = revocableAgent(KEY);
  agent = metering;
  const { session, closed } = await openWatched(metering);
  expect(await session.serverMessage(done)).toBeUndefined();
  applyKey(changed as Partial<KeyInput> | null);
  const close = (await closed())!;
  expect(close).toMatchObject({ code: 1008, reason: expect.stringContaining(reason) });
  expect(metering.records.at(-1)).toMatchObject({ via: 'edge', decision: 'blocked', status, errorType, model: 'gpt-realtime', message: close.reason });
});

it('a policy change that still allows the key leaves the session open', async () => {
  const { metering, applyKey } = revocableAgent(KEY);
  agent = metering;
  const { session, closedNow } = await openWatched(metering);
  applyKey({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime', 'gpt-realtime-mini'] }] });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(closedNow()).toBeUndefined();
  expect(await session.serverMessage(done)).toBeUndefined();
  expect(metering.records.filter((r) => r.decision === 'blocked')).toEqual([]);
});

it('a session whose key expired meanwhile is closed at its next charge, after that charge is recorded', async () => {
  const clock = { now: NOW };
  const { metering } = revocableAgent({ ...KEY, expires_at: new Date(NOW.getTime() + 60_000).toISOString() }, clock);
  agent = metering;
  const { session } = await openWatched(metering);
  expect(await session.serverMessage(done)).toBeUndefined();
  clock.now = new Date(NOW.getTime() + 120_000);
  expect(await session.serverMessage(done)).toMatchObject({ code: 1008, reason: expect.stringContaining("key 'eng-team' expired") });
  expect(metering.records.slice(-2)).toMatchObject([{ decision: 'forwarded', usage: { input_tokens: 10 } }, { decision: 'blocked', errorType: 'virtual_key_blocked' }]);
});

it('a session that closed stops listening to policy changes', async () => {
  const { metering, listeners } = revocableAgent(KEY);
  agent = metering;
  const { session } = await openWatched(metering);
  expect(listeners.size).toBe(1);
  await session.closed();
  expect(listeners.size).toBe(0);
});

it('a Realtime transcription model no longer allowed closes the session too', async () => {
  const { metering, applyKey } = revocableAgent({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime', 'gpt-4o-transcribe'] }] });
  agent = metering;
  const { session, closed } = await openWatched(metering);
  await metering.send(session, message({ type: 'session.update', session: { input_audio_transcription: { model: 'gpt-4o-transcribe' } } }));
  applyKey({ provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] });
  expect(await closed()).toMatchObject({ code: 1008, reason: expect.stringContaining('no longer allows gpt-4o-transcribe') });
});
