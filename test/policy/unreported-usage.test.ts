import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer, type UsageCharge } from '../../src/policy/enforcer.js';
import { counterKey } from '../../src/policy/limits.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import type { NormalizedRequest } from '../../src/providers/types.js';
import { createProviderResolver } from '../../src/proxy/provider-resolver.js';
import { decidedAtOnce } from './decided-at-once.js';
import { bundle, info, NOW, request } from './support.js';

/**
 * An exchange Edge sent upstream that ends without the provider reporting its usage (the client
 * stopped an OpenAI stream before its last event, which alone carries usage; the client left before
 * any answer) was charged nothing, though the provider read, and bills, the prompt. It is now charged
 * what Edge estimates: the prompt (as the in-flight hold estimates it) and the answer text seen.
 */

let dir: string;
let db: PolicyDatabase;
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-unreported-usage-'));
  clock = NOW.getTime();
});

afterEach(() => {
  if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const TOKENS = counterKey('vk-eng', undefined, 'tokens', '1h');

function makeEnforcer(b: PolicyBundle) {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const counters = new SqliteCounterStore(db);
  const enforcer = new PolicyEnforcer({ counters, now: () => new Date(clock), onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(b);
  const counted = (key: string) => counters.snapshot([key]).get(key)?.value ?? 0;
  return { enforcer, counted };
}

const limited = () => bundle({ pricing: { 'gpt-4o': { input_per_mtok: 1, output_per_mtok: 4 } } }, {
  rate_limit: { token_max_limit: 10_000, token_reset_duration: '1h' },
  budgets: [{ max_limit: 100, reset_duration: '1d' }],
});

/** ~10,000 prompt tokens by Edge's estimate (four characters a token). */
const bigPrompt = (stream: boolean) => request({ stream, texts: [{ path: ['messages', 0, 'content'], text: 'y'.repeat(40_000), kind: 'user' }] });

/** Decided as the proxy decides it: announced, allowed, sent. */
function sendFollowed(enforcer: PolicyEnforcer, req: NormalizedRequest) {
  const inspector = enforcer.inspector();
  const followed = enforcer.follow(req);
  const verdict = decidedAtOnce(inspector({ request: req, body: {}, info: info('api.openai.com', { 'user-agent': 'OpenAI/JS 6.1.0' }), app: 'openai-node' }));
  expect(verdict.action).toBe('allow');
  followed.sent();
  return followed;
}

async function answer(enforcer: PolicyEnforcer, req: NormalizedRequest, contentType: string, body: string, status = 200) {
  const charges: Array<{ reported: UsageCharge | undefined; estimate: UsageCharge | undefined }> = [];
  const meter = enforcer.meterResponse(req, { contentType, contentEncoding: undefined, status }, (reported, estimate) => charges.push({ reported, estimate }))!;
  meter.push(Buffer.from(body));
  meter.end();
  await meter.finished;
  return charges;
}

const delta = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;

describe('an exchange sent upstream that ends without reported usage', () => {
  it('a stream stopped before its usage event is charged the prompt and the answer seen, marked as an estimate', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const req = bigPrompt(true);
    sendFollowed(enforcer, req);
    // The client pressed stop: the last event, `{"choices":[],"usage":{...}}`, never came.
    const charges = await answer(enforcer, req, 'text/event-stream', delta('Hello') + delta(', wor'));
    expect(charges).toHaveLength(1);
    expect(charges[0]!.reported).toBeUndefined();
    expect(charges[0]!.estimate).toMatchObject({ estimated: true, usage: { inputTokens: 10_000, outputTokens: 3, totalTokens: 10_003 } });
    expect(counted(TOKENS)).toBe(10_003);
    expect(charges[0]!.estimate!.costUsd).toBeCloseTo((10_000 * 1 + 3 * 4) / 1e6, 12);
    expect(enforcer.status().budgets[0]!.usedUsd).toBeCloseTo((10_000 * 1 + 3 * 4) / 1e6, 12);
    // The limit of 10,000 tokens an hour has moved: the next big prompt is refused.
    const next = enforcer.inspector()({ request: bigPrompt(true), body: {}, info: info('api.openai.com', {}), app: 'openai-node' });
    expect(next).toMatchObject({ action: 'block', error: { type: 'token_limited' } });
  });

  it('five stopped streams of ~10,000 prompt tokens count 50,000 tokens, not 0', async () => {
    const { enforcer, counted } = makeEnforcer(bundle({}, { rate_limit: { token_max_limit: 1_000_000, token_reset_duration: '1h' } }));
    for (let i = 0; i < 5; i++) {
      const req = bigPrompt(true);
      sendFollowed(enforcer, req);
      await answer(enforcer, req, 'text/event-stream', delta('Hel'));
      enforcer.settle(req);
    }
    expect(counted(TOKENS)).toBeGreaterThanOrEqual(50_000);
  });

  it('a stream that reported its usage is charged that, not an estimate', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const req = bigPrompt(true);
    sendFollowed(enforcer, req);
    const charges = await answer(enforcer, req, 'text/event-stream', delta('Hi') + `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 9_000, completion_tokens: 2, total_tokens: 9_002 } })}\n\n`);
    expect(charges[0]!.reported).toMatchObject({ usage: { totalTokens: 9_002 } });
    expect(charges[0]!.reported!.estimated).toBeUndefined();
    expect(charges[0]!.estimate).toBeUndefined();
    expect(counted(TOKENS)).toBe(9_002);
  });

  it('an error answer (JSON without usage) is charged nothing: the provider refused the prompt', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const req = bigPrompt(false);
    sendFollowed(enforcer, req);
    const charges = await answer(enforcer, req, 'application/json', JSON.stringify({ error: { type: 'invalid_request_error', message: 'bad' } }), 400);
    expect(charges).toEqual([{ reported: undefined, estimate: undefined }]);
    expect(counted(TOKENS)).toBe(0);
  });

  it('a successful JSON answer without usage (a gateway or route leaving it out) is charged the prompt', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const req = bigPrompt(false);
    sendFollowed(enforcer, req);
    const charges = await answer(enforcer, req, 'application/json', JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' } }] }));
    expect(charges).toEqual([{ reported: undefined, estimate: expect.objectContaining({ estimated: true, usage: expect.objectContaining({ inputTokens: 10_000, outputTokens: 0 }) }) }]);
    expect(counted(TOKENS)).toBe(10_000);
  });

  it('free operations answering without usage (a moderation, storing a thread) are charged nothing', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    for (const operation of ['moderations', 'threads', 'threads.messages', 'assistants', 'conversations.items']) {
      const req = { ...bigPrompt(false), operation };
      sendFollowed(enforcer, req);
      const charges = await answer(enforcer, req, 'application/json', JSON.stringify({ id: 'modr-1', results: [{ flagged: false }] }));
      expect(charges).toEqual([{ reported: undefined, estimate: undefined }]);
    }
    expect(counted(TOKENS)).toBe(0);
  });

  it('a Realtime WebRTC offer sent as a form (answered application/sdp, 201) is free: its session instructions are not charged', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const session = JSON.stringify({ type: 'realtime', model: 'gpt-realtime', instructions: 'i'.repeat(40_000) });
    const body = `--XyZ\r\nContent-Disposition: form-data; name="sdp"\r\n\r\nv=0\r\n--XyZ\r\nContent-Disposition: form-data; name="session"\r\n\r\n${session}\r\n--XyZ--\r\n`;
    const offer = info('api.openai.com', { 'content-type': 'multipart/form-data; boundary=XyZ' }, '/v1/realtime/calls');
    const resolution = createProviderResolver().resolve(offer);
    if (resolution.kind !== 'recognized') throw new Error(resolution.kind);
    const parsed = resolution.parse(Buffer.from(body));
    if (!parsed.ok) throw new Error(parsed.error.message);
    const req = parsed.request;
    const followed = enforcer.follow(req);
    expect((await enforcer.inspector()({ request: req, body: parsed.body, info: offer, app: 'openai-node' })).action).toBe('allow');
    followed.sent();
    const charges = await answer(enforcer, req, 'application/sdp', 'v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n', 201);
    expect(charges).toEqual([{ reported: undefined, estimate: undefined }]);
    expect(counted(TOKENS)).toBe(0);
  });

  it('an error sent as an event stream (4xx/5xx) is charged nothing: it accepted no prompt', async () => {
    const { enforcer, counted } = makeEnforcer(limited());
    for (const status of [429, 500, 503]) {
      const req = bigPrompt(true);
      sendFollowed(enforcer, req);
      const charges = await answer(enforcer, req, 'text/event-stream', `event: error\ndata: ${JSON.stringify({ error: { type: 'overloaded_error' } })}\n\n`, status);
      expect(charges).toEqual([{ reported: undefined, estimate: undefined }]);
      enforcer.settle(req);
    }
    expect(counted(TOKENS)).toBe(0);
  });

  it('a request the client abandoned after it was sent, before any answer, is charged its prompt', () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const req = bigPrompt(false);
    const followed = sendFollowed(enforcer, req);
    followed.abandoned();
    followed.abandoned();
    enforcer.settle(req);
    expect(counted(TOKENS)).toBe(10_000);
  });

  it('a request Edge refused after the decision (never sent) is charged nothing', () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const req = bigPrompt(false);
    const inspector = enforcer.inspector();
    enforcer.follow(req);
    expect(decidedAtOnce(inspector({ request: req, body: {}, info: info('api.openai.com', {}), app: 'openai-node' })).action).toBe('allow');
    enforcer.settle(req);
    expect(counted(TOKENS)).toBe(0);
  });
});
