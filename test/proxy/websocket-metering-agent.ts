import type { PolicyBundleInput } from '../../src/control/protocol/policy-bundle.js';
import type { PolicyEnforcer } from '../../src/policy/enforcer.js';
import type { Notice } from '../../src/policy/notices.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { usageNote } from '../../src/proxy/usage-note.js';
import type { WebSocketDecisionDeps } from '../../src/proxy/websocket-decision.js';
import type { WebSocketMessageInspector } from '../../src/proxy/websocket-inspection.js';
import { bundle, info, request } from '../policy/support.js';
import { websocketDecisionAgent } from './support/websocket-decision-agent.js';

/**
 * The WebSocket metering tests' setup: the WebSocket decision agent (a real enforcer on a real counter database)
 * with the usage-metering side wired as src/agent.ts wires it. The key allows every OpenAI and Gemini model, with the
 * limits the test names.
 */

type KeyInput = NonNullable<PolicyBundleInput['virtual_keys']>[number];

/** A charge as the audit record states it. */
export const note = usageNote;

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
  const { enforcer, decide, records, close } = websocketDecisionAgent({
    bundle: bundle({}, {
      provider_configs: [{ provider: 'openai', weight: 1, allowed_models: ['*'] }, { provider: 'gemini', weight: 1, allowed_models: ['*'] }],
      ...key,
    }),
    failRecords: options.failRecords,
    deps: (policy) => ({
      charge: (req, usage) => note(policy.recordResponseUsage(req, usage)),
      usedUp: (req) => policy.usedUp(req),
      // As src/agent.ts asks them: sessions recheck their keys on each change of policy, sign-in or connectivity, and
      // price each usage at the decided request it costs most on.
      revoked: (req) => policy.revoked(req),
      policyChanges: (listener) => policy.onBundleApplied(listener),
      priceOf: (req, usage) => policy.priceOf(req, usage),
      chargeSeconds: (req, seconds) => note(policy.recordDurationUsage(req, seconds)),
      ...options.deps,
    }),
  });
  const notices: Notice[] = [];
  enforcer.notices.on('notice', (n: Notice) => notices.push(n));
  enforcer.notices.on('notice-repeated', (n: Notice) => notices.push(n));
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
    close,
  };
}
