import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { guardrailInspector } from '../../src/proxy/inspectors/guardrails.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { createWebSocketDecision } from '../../src/proxy/websocket-decision.js';
import { bundle, NOW } from '../policy/support.js';

/**
 * Azure OpenAI's Realtime API (`wss://{resource}.openai.azure.com/openai/realtime?deployment=…`, and the v1 API's
 * `/openai/v1/realtime?model=…`) is read like OpenAI's: the deployment is the model the key is checked on, and the
 * client's messages go through the guardrails. Before, the socket was relayed unread with no model decided.
 */

let dir: string;
let db: PolicyDatabase;

beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ws-azure-')); });
afterEach(() => {
  if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function agent() {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle({}, { provider_configs: [{ provider: 'azure', weight: 1, allowed_models: ['voice-prod'] }] }));
  const policy = compileGuardrailPolicy({});
  if (!policy.ok) throw new Error(policy.errors.join('\n'));
  const records: ExchangeRecord[] = [];
  const resolver = createProviderResolver();
  const decide = createWebSocketDecision({
    resolve: (info) => resolver.resolve(info),
    policy: () => enforcer.inspector(),
    record: async (record) => { records.push(record); },
    contentInspectors: () => [guardrailInspector(() => policy.policy)],
    maxMessageBytes: 64 * 1024,
  });
  return { decide, records };
}

const HOST = 'contoso.openai.azure.com';
const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
const message = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('Azure OpenAI Realtime WebSockets', () => {
  it.each([
    ['/openai/realtime?api-version=2024-10-01-preview&deployment=voice-prod'],
    ['/openai/v1/realtime?model=voice-prod'],
  ])('an allowed deployment opens, and its messages are read by the guardrails: %s', async (target) => {
    const { decide } = agent();
    const opened = await decide({ host: HOST, path: target, headers: {} });
    expect(opened.action).toBe('allow');
    const messages = opened.action === 'allow' ? opened.messages : undefined;
    expect(messages).toBeDefined();
    const verdict = await messages!.inspect(message({ type: 'session.update', session: { instructions: `use ${SECRET}` } }), false);
    expect(verdict).toMatchObject({ action: 'close', code: 1008 });
  });

  it('a deployment the key does not allow is refused, and recorded as the model it is', async () => {
    const { decide, records } = agent();
    const opened = await decide({ host: HOST, path: '/openai/realtime?api-version=2024-10-01-preview&deployment=voice-test', headers: {} });
    expect(opened).toMatchObject({ action: 'block', message: expect.stringContaining('voice-test') });
    expect(records.at(-1)).toMatchObject({ decision: 'blocked', errorType: 'model_blocked', provider: 'azure', model: 'voice-test' });
  });

  it.each([
    ['/openai/realtime?deployment=voice-prod&deployment=voice-test'],
    ['/openai/realtime?deployment=voice-prod&model=voice-test'],
  ])('a URL naming its deployment twice, or both ways, is refused: %s', async (target) => {
    const { decide } = agent();
    expect(await decide({ host: HOST, path: target, headers: {} })).toMatchObject({ action: 'block', message: expect.stringContaining('more than once') });
  });
});
