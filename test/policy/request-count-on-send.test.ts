import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { counterKey } from '../../src/policy/limits.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { decidedAtOnce } from './decided-at-once.js';
import { bundle, info, NOW, request } from './support.js';

/**
 * A request counts against its key's request limit when Edge sends it, not when policy decides it: the
 * steps after policy (guardrails, content safety) may still refuse it, and the gateway never sees those.
 * Until then it holds its place, so a burst decided meanwhile is still refused past the limit.
 */

let dir: string;
let db: PolicyDatabase;
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-request-count-'));
  clock = NOW.getTime();
});

afterEach(() => {
  if (db.open) db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const COUNTER = counterKey('vk-eng', undefined, 'requests', '1h');

function makeEnforcer(b: PolicyBundle): { enforcer: PolicyEnforcer; counted: () => number } {
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
  const counters = new SqliteCounterStore(db);
  const enforcer = new PolicyEnforcer({ counters, now: () => new Date(clock), onError: (err) => { throw err; } });
  enforcer.setIdentity({ signedIn: true, user: 'ada@example.com' });
  enforcer.setBundle(b);
  return { enforcer, counted: () => counters.snapshot([COUNTER]).get(COUNTER)?.value ?? 0 };
}

const limited = () => bundle({}, { rate_limit: { request_max_limit: 2, request_reset_duration: '1h' } });

/** The proxy's way through policy: announce the request, let policy decide it, later tell whether it went out. */
function decideFollowed(enforcer: PolicyEnforcer) {
  const req = request();
  const inspector = enforcer.inspector();
  const followed = enforcer.follow(req);
  const verdict = decidedAtOnce(inspector({ request: req, body: {}, info: info('api.openai.com', { 'user-agent': 'OpenAI/JS 6.1.0' }), app: 'openai-node' }));
  return { req, followed, verdict };
}

describe('the request count of a request the proxy follows', () => {
  it('is counted when the request is sent, and given back when Edge refuses it after the decision', () => {
    const { enforcer, counted } = makeEnforcer(limited());
    // Refused by a guardrail twice: the exchange ends (settle) without the request going out.
    for (let i = 0; i < 2; i++) {
      const refused = decideFollowed(enforcer);
      expect(refused.verdict).toEqual({ action: 'allow' });
      enforcer.settle(refused.req);
    }
    expect(counted()).toBe(0);
    // Two clean requests still fit the limit of 2; each counts once sent.
    for (let i = 0; i < 2; i++) {
      const clean = decideFollowed(enforcer);
      expect(clean.verdict).toEqual({ action: 'allow' });
      clean.followed.sent();
      clean.followed.sent();
      enforcer.settle(clean.req);
      expect(counted()).toBe(i + 1);
    }
    expect(decideFollowed(enforcer).verdict).toMatchObject({ action: 'block', error: { type: 'request_limited' } });
  });

  it('holds its place until then: a burst decided before anything is sent is admitted only up to the limit', () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const burst = Array.from({ length: 4 }, () => decideFollowed(enforcer));
    expect(burst.map((b) => b.verdict.action)).toEqual(['allow', 'allow', 'block', 'block']);
    expect(burst[2]!.verdict).toMatchObject({ error: { message: expect.stringContaining('2 requests per hour (2 used, 2 of it held by requests still being answered)') } });
    expect(counted()).toBe(0);
    // One of them is refused by a later step: its place is free again.
    enforcer.settle(burst[0]!.req);
    expect(decideFollowed(enforcer).verdict.action).toBe('allow');
  });

  it('a request nobody follows (a WebSocket opening) counts when decided, as before', () => {
    const { enforcer, counted } = makeEnforcer(limited());
    const verdict = decidedAtOnce(enforcer.inspector()({ request: request(), body: {}, info: info('api.openai.com', {}), app: 'ws' }));
    expect(verdict.action).toBe('allow');
    expect(counted()).toBe(1);
  });
});
