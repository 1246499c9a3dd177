import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type UsageCharge } from '../../src/policy/enforcer.js';
import type { Notice } from '../../src/policy/notices.js';
import { openPolicyDatabase } from '../../src/policy/policy-database.js';
import type { ExchangeRecord, UsageNote } from '../../src/proxy/exchange.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { createWebSocketDecision, type WebSocketDecisionDeps } from '../../src/proxy/websocket-decision.js';
import type { WebSocketMessageInspector } from '../../src/proxy/websocket-inspection.js';
import { bundle, info, NOW, request } from '../policy/support.js';

/**
 * The WebSocket metering tests' setup: a real enforcer on a real counter database, and the WebSocket decision wired
 * to it as src/agent.ts wires it. The key allows every OpenAI and Gemini model, with the limits the test names.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

export const note = (charge: UsageCharge | undefined): UsageNote | undefined =>
  charge && { usage: { input_tokens: charge.usage.inputTokens, output_tokens: charge.usage.outputTokens }, costUsd: charge.costUsd };

export const message = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** A Responses turn on `model` whose prompt is `text`. */
export const responsesTurn = (model: string, text = 'hello'): Buffer =>
  message({ type: 'response.create', model, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }] });

export interface MeteringAgent {
  enforcer: PolicyEnforcer;
  records: ExchangeRecord[];
  notices: Notice[];
  /** Opens a socket (its upstream open) and gives its message inspector. */
  open(host: string, target: string, headers?: Record<string, string>): Promise<WebSocketMessageInspector>;
  /** Sends a client message as the relay does: decided, then handed to an open upstream. */
  send(socket: WebSocketMessageInspector, data: Buffer): Promise<string>;
  /** An HTTP request on `model`, decided now. */
  probe(model?: string): ReturnType<ReturnType<PolicyEnforcer['inspector']>>;
  close(): void;
}

export function meteringAgent(key: Partial<KeyInput>, options: { failRecords?: () => boolean; deps?: Partial<WebSocketDecisionDeps> } = {}): MeteringAgent {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-metering-'));
  const db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, {
    provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }, { provider: 'gemini', weight: 1, allowed_models: ['*'] }],
    ...key,
  }));
  const records: ExchangeRecord[] = [];
  const notices: Notice[] = [];
  enforcer.notices.on('notice', (n: Notice) => notices.push(n));
  enforcer.notices.on('notice-repeated', (n: Notice) => notices.push(n));
  const resolver = createProviderResolver();
  const decide = createWebSocketDecision({
    resolve: (i) => resolver.resolve(i),
    policy: () => enforcer.inspector(),
    record: async (record) => {
      if (options.failRecords?.()) throw new Error('the audit outbox is full');
      records.push(record);
    },
    contentInspectors: () => [],
    follow: (req) => {
      const followed = enforcer.follow(req);
      return { sent: () => followed.sent(), abandoned: () => note(followed.abandoned()) };
    },
    settle: (req) => enforcer.settle(req),
    charge: (req, usage) => note(enforcer.recordResponseUsage(req, usage)),
    usedUp: (req) => enforcer.usedUp(req),
    // As src/agent.ts asks them: sessions recheck their keys on each change of policy, sign-in or connectivity, and
    // price each usage at the decided request it costs most on.
    revoked: (req) => enforcer.revoked(req),
    policyChanges: (listener) => enforcer.onBundleApplied(listener),
    priceOf: (req, usage) => enforcer.priceOf(req, usage),
    chargeSeconds: (req, seconds) => note(enforcer.recordDurationUsage(req, seconds)),
    ...options.deps,
  });
  return {
    enforcer, records, notices,
    async open(host, target, headers = {}) {
      const verdict = await decide({ host, path: target, headers });
      if (verdict.action !== 'allow' || !verdict.messages) throw new Error(`the socket was not opened for reading: ${JSON.stringify(verdict)}`);
      await verdict.upstream?.({ kind: 'open' });
      return verdict.messages;
    },
    async send(socket, data) {
      const verdict = await socket.inspect(data, false);
      if (verdict.action === 'forward') await verdict.handedOver?.({ sent: true });
      return verdict.action;
    },
    probe: (model = 'gpt-4o') => enforcer.inspector()({ request: request({ model }), body: {}, info: info('api.openai.com'), app: 'probe' }),
    close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
