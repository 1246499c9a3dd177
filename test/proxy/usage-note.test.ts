import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteCounterStore } from '../../src/policy/counter-store.js';
import { PolicyEnforcer } from '../../src/policy/enforcer.js';
import { openPolicyDatabase, type PolicyDatabase } from '../../src/policy/policy-database.js';
import { followedForProxy } from '../../src/proxy/usage-note.js';
import { decidedAtOnce } from '../policy/decided-at-once.js';
import { bundle, info, NOW, request } from '../policy/support.js';

/**
 * The proxy writes an abandoned request's estimate into the audit record as it gets it, so a followed request
 * must hand it over in the record's terms (snake_case token counts), not as the policy's charge.
 */

let dir: string;
let db: PolicyDatabase;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-usage-note-'));
  db = openPolicyDatabase(path.join(dir, 'policy.db'));
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function enforcer(): PolicyEnforcer {
  const policy = new PolicyEnforcer({ counters: new SqliteCounterStore(db), now: () => NOW, onError: (err) => { throw err; } });
  policy.setIdentity({ signedIn: true, user: 'ada@example.com' });
  policy.setBundle(bundle({ pricing: { 'gpt-4o': { input_per_mtok: 1, output_per_mtok: 4 } } }));
  return policy;
}

describe('a followed request as the proxy takes it', () => {
  it('hands over the estimate for one abandoned after it was sent as the audit record states usage', () => {
    const policy = enforcer();
    // ~10,000 prompt tokens by Edge's estimate (four characters a token).
    const req = request({ model: 'gpt-4o', texts: [{ path: ['messages', 0, 'content'], text: 'y'.repeat(40_000), kind: 'user' }] });
    const followed = followedForProxy(policy.follow(req));
    expect(decidedAtOnce(policy.inspector()({ request: req, body: {}, info: info('api.openai.com', {}), app: 'openai-node' })).action).toBe('allow');
    followed.sent();
    const note = followed.abandoned();
    policy.settle(req);
    expect(note).toEqual({ usage: { input_tokens: 10_000, output_tokens: 0 }, costUsd: expect.closeTo(10_000 / 1e6, 12) });
  });

  it('hands over nothing for one never sent', () => {
    const policy = enforcer();
    const req = request({ model: 'gpt-4o' });
    const followed = followedForProxy(policy.follow(req));
    decidedAtOnce(policy.inspector()({ request: req, body: {}, info: info('api.openai.com', {}), app: 'openai-node' }));
    expect(followed.abandoned()).toBeUndefined();
    policy.settle(req);
  });
});
