import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { webSocketVia } from '../../src/gateway/websocket-route.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { followedForProxy } from '../../src/proxy/usage-note.js';
import { createWebSocketDecision } from '../../src/proxy/websocket-decision.js';
import { bundle, NOW } from '../policy/support.js';

/**
 * The audit record of a WebSocket opening says where it went, as an HTTP request's says `via`: in gateway mode the
 * Responses API's WebSocket goes to the gateway, the Realtime API to its origin; and one Edge would not dial for
 * want of a virtual key (401 `virtual_key_required`) is blocked by Edge, as the HTTP request is, not failed.
 */

let dir: string;
let db: PolicyDatabase;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-opening-record-')); });
afterEach(() => {
  if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A gateway-mode agent's decision, where WebSockets go as the agent routes them (websocket-route.ts). */
function agent() {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; }, defaultMode: 'gateway' });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, { provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }] }));
  const records: ExchangeRecord[] = [];
  const resolver = createProviderResolver();
  const decide = createWebSocketDecision({
    resolve: (info) => resolver.resolve(info),
    policy: () => enforcer.inspector(),
    record: async (record) => { records.push(record); },
    contentInspectors: () => [],
    // As the agent wires it: an abandoned turn's estimate comes in the audit record's terms.
    follow: (request) => followedForProxy(enforcer.follow(request)),
    settle: (request) => enforcer.settle(request),
    upstreamVia: (request, target) => webSocketVia({ mode: enforcer.routeFor(request)?.mode ?? 'gateway', gatewayUrl: 'https://bifrost.example.com' }, target.provider, target.path),
  });
  return { decide, records };
}

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
