import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { PolicyBundle, RoutingMode } from '../../../src/control/protocol/policy-bundle.js';
import { webSocketVia } from '../../../src/gateway/websocket-route.js';
import { compileGuardrailPolicy } from '../../../src/guardrails/compile-policy.js';
import { SqliteCounterStore } from '../../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../../src/policy/enforcer.js';
import { openPolicyDatabase } from '../../../src/policy/policy-database.js';
import type { ExchangeRecord } from '../../../src/proxy/exchange.js';
import { guardrailInspector } from '../../../src/proxy/inspectors/guardrails.js';
import { createProviderResolver } from '../../../src/proxy/provider-resolver.js';
import type { RequestInspector } from '../../../src/proxy/surface-resolution.js';
import { followedForProxy } from '../../../src/proxy/usage-note.js';
import { createWebSocketDecision, type WebSocketDecisionDeps } from '../../../src/proxy/websocket-decision.js';
import { bundle as defaultBundle, NOW } from '../../policy/support.js';

/**
 * The WebSocket decision tests' agent: a real enforcer on a real counter database, signed in, holding `bundle`, and
 * the WebSocket decision wired to it as src/agent.ts wires the opening and its requests (follow and settle); the
 * usage-metering side is websocket-metering-agent.ts's, given through `deps`. Its files go when the test finishes.
 */

export interface WebSocketDecisionAgentOptions {
  /** The policy it holds; policy/support.ts's one-key bundle when not given. */
  bundle?: PolicyBundle;
  /** The agent's routing mode: given, the enforcer defaults to it and each opening's record says where it went. */
  mode?: RoutingMode;
  /** The content inspectors after policy; none when not given, so only the policy step reads the messages. */
  inspectors?: RequestInspector[];
  /** While this says so, the audit outbox refuses each record (it is full), as the agent's does. */
  failRecords?: () => boolean;
  /** More of the decision's wiring to `enforcer` (usage metering, session rechecks), over the defaults above. */
  deps?: (enforcer: PolicyEnforcer) => Partial<WebSocketDecisionDeps>;
}

export interface WebSocketDecisionAgent {
  enforcer: PolicyEnforcer;
  decide: ReturnType<typeof createWebSocketDecision>;
  /** The audit records the decision wrote, in order. */
  records: ExchangeRecord[];
  /** Closes its database and removes its files now, for tests that end the agent before the test does. */
  close(): void;
}

/** The guardrails with their default policy (the built-in secret detectors), as the agent runs them out of the box. */
export function defaultGuardrails(): RequestInspector {
  const policy = compileGuardrailPolicy({});
  if (!policy.ok) throw new Error(policy.errors.join('\n'));
  return guardrailInspector(() => policy.policy);
}

export function websocketDecisionAgent(options: WebSocketDecisionAgentOptions = {}): WebSocketDecisionAgent {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-decision-'));
  const db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const close = () => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  onTestFinished(close);
  const { mode } = options;
  const enforcer = new PolicyEnforcer({
    counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; }, ...(mode ? { defaultMode: mode } : {}),
  });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(options.bundle ?? defaultBundle());
  const records: ExchangeRecord[] = [];
  const resolver = createProviderResolver();
  const inspectors = options.inspectors ?? [];
  const decide = createWebSocketDecision({
    resolve: (info) => resolver.resolve(info),
    policy: () => enforcer.inspector(),
    record: async (record) => {
      if (options.failRecords?.()) throw new Error('the audit outbox is full');
      records.push(record);
    },
    contentInspectors: () => inspectors,
    // As the agent wires it: an abandoned turn's estimate comes in the audit record's terms.
    follow: (request) => followedForProxy(enforcer.follow(request)),
    settle: (request) => enforcer.settle(request),
    ...(mode ? {
      upstreamVia: (request, target) => webSocketVia({ mode: enforcer.routeFor(request)?.mode ?? mode, gatewayUrl: 'https://bifrost.example.com' }, target.provider, target.path),
    } : {}),
    ...options.deps?.(enforcer),
  });
  return { enforcer, decide, records, close };
}
