import { afterEach, expect, it } from 'vitest';
import type { PolicyBundle, PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import type { Connectivity } from '../../src/policy/fail-mode.js';
import { sessionRevocation } from '../../src/policy/session-revocation.js';
import type { SessionClose } from '../../src/proxy/websocket-session-usage.js';
import { bundle, NOW } from '../policy/support.js';
import { until } from '../support/until.js';
import { message, meteringAgent, type MeteringAgent } from './websocket-metering-agent.js';

/**
 * A live Realtime session passed every gate of its decision once, at its opening; it is closed (1008, one record)
 * when one of them would now refuse it: its user signed out, the policy's fail mode refuses (fail-closed while the
 * gateway cannot be reached), a policy arriving after a session decided without one does not allow it, or the key no
 * longer allows any model the session was decided on (the opening's too, once a session.update named another). A
 * charge and a policy change finding it at once write one blocked record.
 *
 * The real enforcer answers the revoked question (session-revocation.ts with the sign-in and connectivity the decision
 * reads) and announces sign-in, connectivity and bundle changes to the session.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

let agent: MeteringAgent | undefined;
afterEach(() => agent?.close());

const KEY: Partial<KeyInput> = { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime', 'gpt-realtime-mini'] }] };
const done = message({ type: 'response.done', response: { id: 'resp_1', status: 'completed', usage: { total_tokens: 20, input_tokens: 10, output_tokens: 10 } } });

/** An agent whose enforcer tells its sessions of each change of policy, sign-in or connectivity (as src/agent.ts wires it). */
function gatedAgent(key: Partial<KeyInput>) {
  const metering = meteringAgent(key);
  return {
    metering,
    signOut: () => metering.enforcer.setIdentity({ signedIn: false }),
    lose: (update: Partial<Connectivity>) => metering.enforcer.setConnectivity(update),
    apply: (next: PolicyBundle | undefined) => metering.enforcer.setBundle(next),
  };
}

async function openWatched(metering: MeteringAgent, target = '/v1/realtime?model=gpt-realtime') {
  const session = await metering.open('api.openai.com', target);
  const closes: SessionClose[] = [];
  session.watch?.((asked) => closes.push(asked));
  const closed = async (): Promise<SessionClose | undefined> => (await until(() => closes.length > 0) ? closes[0] : undefined);
  return { session, closed, closes };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

it('signing out closes a live session, as the decision refuses a request of someone signed out', async () => {
  const gated = gatedAgent(KEY);
  agent = gated.metering;
  const { closed } = await openWatched(agent);
  gated.signOut();
  expect(await closed()).toMatchObject({ code: 1008, reason: expect.stringContaining('signed out') });
  expect(agent.records.at(-1)).toMatchObject({ via: 'edge', decision: 'blocked', status: 401, errorType: 'virtual_key_required', model: 'gpt-realtime' });
});

it('a fail-closed policy closes a live session once the gateway cannot be reached; a fail-open one does not', async () => {
  const closedPolicy = gatedAgent(KEY);
  agent = closedPolicy.metering;
  closedPolicy.apply(bundle({ fail_mode: 'closed' }, KEY));
  const first = await openWatched(agent);
  closedPolicy.lose({ gateway: false });
  expect(await first.closed()).toMatchObject({ code: 1008, reason: expect.stringContaining('cannot be reached') });
  expect(agent.records.at(-1)).toMatchObject({ decision: 'blocked', status: 503, errorType: 'gateway_unreachable' });
  agent.close();

  const openPolicy = gatedAgent(KEY);
  agent = openPolicy.metering;
  const second = await openWatched(agent);
  openPolicy.lose({ gateway: false });
  await settle();
  expect(second.closes).toEqual([]);
});

it('a session decided before any policy is closed when the policy that arrives does not allow it, and kept when it does', async () => {
  const gated = gatedAgent(KEY);
  agent = gated.metering;
  gated.apply(undefined);
  const kept = await openWatched(agent);
  const refused = await openWatched(agent, '/v1/realtime?model=gpt-4o-realtime-preview');
  gated.apply(bundle({}, KEY));
  expect(await refused.closed()).toMatchObject({ code: 1008, reason: expect.stringContaining('no longer allows gpt-4o-realtime-preview') });
  await settle();
  expect(kept.closes).toEqual([]);
});

it('the opening\'s model is still held to the key once a session.update named another', async () => {
  const gated = gatedAgent(KEY);
  agent = gated.metering;
  const { session, closed } = await openWatched(agent, '/v1/realtime?model=gpt-realtime-mini');
  await agent.send(session, message({ type: 'session.update', session: { type: 'realtime', model: 'gpt-realtime' } }));
  gated.apply(bundle({}, { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['gpt-realtime'] }] }));
  expect(await closed()).toMatchObject({ code: 1008, reason: expect.stringContaining('no longer allows gpt-realtime-mini') });
});

it('a revocation found by a policy change and by a charge at once is recorded once', async () => {
  const gated = gatedAgent(KEY);
  agent = gated.metering;
  const { session, closed } = await openWatched(agent);
  gated.apply(bundle({}, { ...KEY, is_active: false }));
  // A response.done already on its way when the policy changed.
  const charged = await session.serverMessage(done);
  expect(await closed()).toMatchObject({ code: 1008 });
  expect(charged).toMatchObject({ code: 1008 });
  await settle();
  expect(agent.records.filter((r) => r.decision === 'blocked')).toHaveLength(1);
  // The charge itself is recorded all the same.
  expect(agent.records.filter((r) => r.decision === 'forwarded' && r.usage !== undefined)).toHaveLength(1);
});

it.each([
  ['signed out', { signedIn: false }, 'virtual_key_required'],
  ['the gateway unreachable under a fail-closed policy', { connectivity: { controlPlane: true, gateway: false }, bundle: bundle({ fail_mode: 'closed' }) }, 'gateway_unreachable'],
  ['Edge Control unreachable under a fail-closed policy', { connectivity: { controlPlane: false, gateway: true }, bundle: bundle({ fail_mode: 'closed' }) }, 'gateway_unreachable'],
  ['the audit queue full under a fail-closed policy', { connectivity: { controlPlane: true, gateway: true, auditQueue: false }, bundle: bundle({ fail_mode: 'closed' }) }, 'audit_queue_full'],
  ['the gateway unreachable under a fail-open policy', { connectivity: { controlPlane: true, gateway: false } }, undefined],
  ['signed in, everything reachable', { signedIn: true, connectivity: { controlPlane: true, gateway: true } }, undefined],
] as const)('sessionRevocation: %s', (_name, changed, errorType) => {
  const route = { mode: 'gateway' as const, virtualKey: { id: 'vk-eng', name: 'eng-team' }, provider: 'openai', model: 'gpt-realtime', candidates: [], windows: [] };
  const refusal = sessionRevocation({ route, bundle: bundle(), now: NOW, ...changed });
  expect(refusal?.type).toBe(errorType);
  if (refusal) expect(Buffer.byteLength(refusal.message)).toBeLessThanOrEqual(123);
});
