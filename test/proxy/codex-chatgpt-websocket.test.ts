import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compileGuardrailPolicy } from '../../src/guardrails/compile-policy.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { guardrailInspector } from '../../src/proxy/inspectors/guardrails.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { followedForProxy } from '../../src/proxy/usage-note.js';
import { createWebSocketDecision } from '../../src/proxy/websocket-decision.js';
import { bundle, NOW } from '../policy/support.js';

/**
 * Codex signed in with ChatGPT opens its Responses WebSocket on chatgpt.com's Codex API
 * (`wss://chatgpt.com/backend-api/codex/responses`, codex-rs's responses_websocket.rs), with the same
 * `response.create` events as api.openai.com's `/v1/responses`: its messages are read with the same reader, so
 * a secret in a turn is refused with the API's error event and each turn is recorded. Other chatgpt.com
 * WebSockets stay unread.
 */

let dir: string;
let db: PolicyDatabase;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-codex-ws-')); });
afterEach(() => {
  if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const SECRET = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;

function agent() {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const enforcer = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(bundle());
  const policy = compileGuardrailPolicy({});
  if (!policy.ok) throw new Error(policy.errors.join('\n'));
  const records: ExchangeRecord[] = [];
  const resolver = createProviderResolver();
  const decide = createWebSocketDecision({
    resolve: (info) => resolver.resolve(info),
    policy: () => enforcer.inspector(),
    record: async (record) => { records.push(record); },
    contentInspectors: () => [guardrailInspector(() => policy.policy)],
    // As the agent wires it: an abandoned turn's estimate comes in the audit record's terms.
    follow: (request) => followedForProxy(enforcer.follow(request)),
    settle: (request) => enforcer.settle(request),
  });
  return { decide, records };
}

/** A turn as codex-rs sends it (ResponseCreateWsRequest). */
const codexTurn = (text: string) => Buffer.from(JSON.stringify({
  type: 'response.create', model: 'gpt-5.1-codex', instructions: 'You are Codex.',
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }],
  tools: [], tool_choice: 'auto', parallel_tool_calls: false, store: false, stream: true, include: [],
  prompt_cache_key: 'thread-1', client_metadata: { 'x-codex-window-id': 'w1' },
}));

it('chatgpt.com\'s Codex Responses WebSocket is read like api.openai.com\'s: a secret in a turn is refused, each turn recorded', async () => {
  const { decide, records } = agent();
  const opened = await decide({ host: 'chatgpt.com', path: '/backend-api/codex/responses', headers: { 'user-agent': 'codex_cli_rs/0.60.0' } });
  expect(opened.action).toBe('allow');
  const messages = opened.action === 'allow' ? opened.messages : undefined;
  expect(messages).toBeDefined();

  const allowed = await messages!.inspect(codexTurn('list the files'), false);
  expect(allowed).toEqual({ action: 'forward', handedOver: expect.any(Function) });
  // As the relay says once it handed the turn to an open upstream: only then is it counted and recorded.
  if (allowed.action === 'forward') await allowed.handedOver?.({ sent: true });
  const refused = await messages!.inspect(codexTurn(`push with ${SECRET}`), false);
  expect(refused.action).toBe('reply');
  const event = JSON.parse(String(refused.action === 'reply' ? refused.data : '')) as { type: string; error: { type: string } };
  expect(event).toMatchObject({ type: 'error', error: { type: 'guardrail_blocked' } });
  expect(records.map((r) => [r.host, r.path, r.model, r.decision])).toEqual([
    ['chatgpt.com', '/backend-api/codex/responses', 'gpt-5.1-codex', 'forwarded'],
    ['chatgpt.com', '/backend-api/codex/responses', 'gpt-5.1-codex', 'blocked'],
  ]);
});

it('other chatgpt.com WebSockets are relayed unread, as before', async () => {
  const { decide } = agent();
  const opened = await decide({ host: 'chatgpt.com', path: '/backend-api/conversation/ws', headers: {} });
  expect(opened).toMatchObject({ action: 'allow' });
  expect(opened.action === 'allow' ? opened.messages : 'blocked').toBeUndefined();
});
