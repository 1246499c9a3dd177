import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { charactersScanned } from '../support/scanned-characters.js';
import { backoffDelayMs } from '../../src/control/client/backoff.js';
import { judgeSignedBundle } from '../../src/control/client/bundle-acceptance.js';
import { MAX_SSE_EVENT_CHARS, SseEventTooLargeError, SseParser, type SseEvent } from '../../src/control/client/sse-parser.js';
import { AUDIT_CHAIN_GENESIS_HASH, auditRecordHash } from '../../src/control/protocol/audit-chain.js';
import type { AuditBatch } from '../../src/control/protocol/audit.js';
import { bundleEtag, describeSigningKey, signBundle, signingKeyId, trustedKeyMap } from '../../src/control/protocol/bundle-signature.js';
import { renderOpenApiDocument } from '../../src/control/protocol/openapi.js';
import { PolicyBundleSchema, type PolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { parseControlServerConfig } from '../../src/control/server/config.js';
import { VirtualKeySchema } from '../../src/control/protocol/virtual-key.js';
import { checkBatchIntegrity, decideAuditAppend } from '../../src/control/server/audit-chain-check.js';
import { assignVirtualKeys, buildPolicyBundle, bundleContentHash, policyRelevantVirtualKey } from '../../src/control/server/bundle-builder.js';
import {
  announceNextKey, KeyRotationError, keyringStructureProblem, promoteNextKey, retireKey, trustedEntries, type KeyringEntry,
} from '../../src/control/server/signing-key-rotation.js';
import { PolicyTemplateSchema } from '../../src/control/protocol/admin.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('OpenAPI document', () => {
  it('docs/edge-control-openapi.json is the one generated from the zod schemas', () => {
    // Regenerate after changing a schema: npm run build && node dist/src/control/protocol/write-openapi.js
    const committed = fs.readFileSync(path.join(root, 'docs', 'edge-control-openapi.json'), 'utf8');
    expect(committed).toBe(renderOpenApiDocument());
  });
});

function bundle(version: number, extra: Partial<PolicyBundle> = {}): PolicyBundle {
  return PolicyBundleSchema.parse({ schema: 'bifrost-edge.policy/v1', version, issued_at: '2025-01-01T00:00:00Z', ...extra });
}

describe('bundle signatures and acceptance', () => {
  const key = generateKeyPairSync('ed25519');
  const trusted = trustedKeyMap([key.publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
  const wire = (b: PolicyBundle, k = key.privateKey): unknown => JSON.parse(JSON.stringify(signBundle(b, k)));
  const v2 = wire(bundle(2));
  const current = { version: 2, etag: bundleEtag((v2 as { bundle: unknown }).bundle) };

  it('derives the key id from the public key', () => {
    expect(signingKeyId(key.publicKey)).toMatch(/^ed25519:[0-9a-f]{32}$/);
    expect([...trusted.keys()]).toEqual([signingKeyId(key.publicKey)]);
  });

  const cases: Array<[string, () => unknown, string, RegExp?]> = [
    ['a newer signed bundle', () => wire(bundle(3)), 'accept'],
    ['the same bundle again', () => v2, 'unchanged'],
    ['an older signed bundle (replay)', () => wire(bundle(1)), 'reject', /older than the enforced version 2/],
    ['the same version with other content', () => wire(bundle(2, { fail_mode: 'closed' })), 'reject', /same version/],
    ['content changed after signing', () => {
      const w = structuredClone(v2) as { bundle: { version: number; fail_mode: string } };
      w.bundle.version = 3;
      w.bundle.fail_mode = 'closed';
      return w;
    }, 'reject', /does not match the bundle content/],
    ['a signature by an untrusted key', () => wire(bundle(3), generateKeyPairSync('ed25519').privateKey), 'reject', /does not trust/],
    ['a corrupted signature value', () => ({ ...(wire(bundle(3)) as object), signature: { alg: 'Ed25519', key_id: signingKeyId(key.publicKey), value: 'AAAA' } }), 'reject', /does not match/],
    ['no signature', () => ({ bundle: (v2 as { bundle: unknown }).bundle }), 'reject', /malformed bundle .*signature/],
    ['a bundle missing its version', () => ({ ...(v2 as object), bundle: { schema: 'bifrost-edge.policy/v1', issued_at: '2025-01-01T00:00:00Z' } }), 'reject', /malformed bundle .*version/],
    ['not an object', () => 'hello', 'reject', /malformed/],
  ];
  for (const [name, candidate, verdict, reason] of cases) {
    it(`${verdict}s ${name}`, () => {
      const judgement = judgeSignedBundle(candidate(), current, trusted);
      expect(judgement.verdict).toBe(verdict);
      if (reason && judgement.verdict === 'reject') expect(judgement.reason).toMatch(reason);
    });
  }

  it.each([
    ['accepts', 'a bundle issued for this device', 'dev_me', 'dev_me', 'accept', undefined],
    ['refuses', 'a bundle issued for another device', 'dev_other', 'dev_me', 'reject', /issued for device dev_other, not for this device \(dev_me\)/],
    ['refuses', 'a bundle naming a device when this device has no enrollment', 'dev_other', undefined, 'reject', /no enrollment to compare it with/],
    ['accepts', 'a bundle naming no device (an older server)', undefined, 'dev_me', 'accept', undefined],
  ] as const)('%s %s', (_verb, _name, issuedFor, deviceId, verdict, reason) => {
    const judgement = judgeSignedBundle(wire(bundle(3, issuedFor === undefined ? {} : { device_id: issuedFor })), current, trusted, deviceId);
    expect(judgement.verdict).toBe(verdict);
    if (reason && judgement.verdict === 'reject') expect(judgement.reason).toMatch(reason);
  });

  it('accepts any valid first bundle when nothing is enforced yet', () => {
    expect(judgeSignedBundle(wire(bundle(1)), undefined, trusted).verdict).toBe('accept');
  });

  it('names the untrusted signer, so the device can tell a missed key rotation from a bad signature', () => {
    const stranger = generateKeyPairSync('ed25519');
    const judgement = judgeSignedBundle(wire(bundle(3), stranger.privateKey), current, trusted);
    expect(judgement).toMatchObject({ verdict: 'reject', untrustedKeyId: signingKeyId(stranger.publicKey) });
    const tampered = structuredClone(wire(bundle(3))) as { bundle: { fail_mode: string } };
    tampered.bundle.fail_mode = 'closed';
    expect(judgeSignedBundle(tampered, current, trusted)).not.toHaveProperty('untrustedKeyId');
  });
});

describe('gateway URLs that receive virtual keys', () => {
  it('a bundle naming a plain-http gateway beyond this machine is refused; https and loopback http are accepted', () => {
    expect(() => bundle(1, { gateway: { url: 'http://bifrost.corp.example' } })).toThrow(/must use https:\/\//);
    expect(bundle(1, { gateway: { url: 'https://bifrost.corp.example' } }).gateway?.url).toBe('https://bifrost.corp.example');
    expect(bundle(1, { gateway: { url: 'http://127.0.0.1:8080' } }).gateway?.url).toBe('http://127.0.0.1:8080');
  });

  it('the server refuses a plain-http gateway or public_url beyond this machine when it starts, naming the field', () => {
    const config = (gateway: Record<string, unknown>) => ({ signing_key_file: 'signing.json', database_file: 'control.db', admin_token: 'a'.repeat(32), gateway });
    expect(() => parseControlServerConfig(config({ url: 'https://bifrost.corp.example', public_url: 'http://bifrost.corp.example' }))).toThrow(/gateway\.public_url: must use https:\/\//);
    expect(() => parseControlServerConfig(config({ url: 'http://bifrost.corp.example' }))).toThrow(/gateway\.url: must use https:\/\//);
  });
});

describe('announced signing keys in bundles', () => {
  const active = generateKeyPairSync('ed25519');
  const next = generateKeyPairSync('ed25519');
  const trusted = trustedKeyMap([active.publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
  const described = (k: KeyObject) => describeSigningKey(k);
  // Signed as given (not parsed first), the way a faulty server could send it.
  const signedWith = (signingKeys: unknown): unknown => JSON.parse(JSON.stringify(signBundle({ ...bundle(2), signing_keys: signingKeys } as PolicyBundle, active.privateKey)));

  const cases: Array<[string, unknown, string, RegExp?]> = [
    ['the signer and an announced next key', [described(active.publicKey), described(next.publicKey)], 'accept'],
    ['the signer alone (a key retired)', [described(active.publicKey)], 'accept'],
    ['a set that leaves out its own signer (it would lock the device out)', [described(next.publicKey)], 'reject', /leave out ed25519:[0-9a-f]{32}, the key that signed it/],
    ['a key whose id is not its fingerprint', [described(active.publicKey), { ...described(next.publicKey), key_id: signingKeyId(active.publicKey).replace(/.$/, '0') }], 'reject', /is really ed25519:[0-9a-f]{32} \(its id is not its fingerprint\)/],
    ['a key that is not Ed25519', [described(active.publicKey), { ...described(next.publicKey), public_key_pem: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString() }], 'reject', /not Ed25519/],
    ['an empty set', [], 'reject', /malformed bundle .*signing_keys/],
  ];
  for (const [name, signingKeys, verdict, reason] of cases) {
    it(`${verdict}s ${name}`, () => {
      const judgement = judgeSignedBundle(signedWith(signingKeys), undefined, trusted);
      expect(judgement.verdict, judgement.verdict === 'reject' ? judgement.reason : '').toBe(verdict);
      if (reason && judgement.verdict === 'reject') expect(judgement.reason).toMatch(reason);
    });
  }
});

describe('signing-key rotation rules', () => {
  const material = (n: number) => ({ key_id: `ed25519:${String(n).padStart(32, '0')}`, public_key_pem: `pem-${n}`, private_key_pem: `secret-${n}` });
  const ring: KeyringEntry[] = [{ ...material(1), status: 'active', created_at: '2026-01-01T00:00:00Z', activated_at: '2026-01-01T00:00:00Z' }];
  const at = '2026-02-01T00:00:00Z';
  const statuses = (keys: KeyringEntry[]) => Object.fromEntries(keys.map((k) => [k.key_id.slice(-1), k.status]));

  it('walks rotate → promote → retire, deleting the retired private key', () => {
    const announced = announceNextKey(ring, material(2), at);
    expect(statuses(announced)).toEqual({ 1: 'active', 2: 'next' });
    expect(trustedEntries(announced).map((k) => k.key_id.slice(-1))).toEqual(['1', '2']);
    const promoted = promoteNextKey(announced, at);
    expect(statuses(promoted)).toEqual({ 1: 'previous', 2: 'active' });
    expect(trustedEntries(promoted).map((k) => k.key_id.slice(-1))).toEqual(['2', '1']);
    const { keys: retired, retired: entry } = retireKey(promoted, undefined, at);
    expect(entry).toMatchObject({ key_id: material(1).key_id, status: 'retired', retired_at: at });
    expect(entry.private_key_pem).toBeUndefined();
    expect(trustedEntries(retired).map((k) => k.key_id.slice(-1))).toEqual(['2']);
    expect(keyringStructureProblem(retired)).toBeUndefined();
  });

  it('abandons a rotation by retiring the next key', () => {
    const { keys } = retireKey(announceNextKey(ring, material(2), at), material(2).key_id, at);
    expect(statuses(keys)).toEqual({ 1: 'active', 2: 'retired' });
  });

  const refusals: Array<[string, () => unknown, 'conflict' | 'not_found', RegExp]> = [
    ['a second rotation while one is pending', () => announceNextKey(announceNextKey(ring, material(2), at), material(3), at), 'conflict', /already announced as the next key/],
    ['promoting without a next key', () => promoteNextKey(ring, at), 'conflict', /no next key is announced/],
    ['retiring the active key', () => retireKey(ring, material(1).key_id, at), 'conflict', /is the active key/],
    ['retiring with no previous key', () => retireKey(ring, undefined, at), 'conflict', /no previous key to retire/],
    ['retiring an unknown key', () => retireKey(ring, 'ed25519:nope', at), 'not_found', /there is no signing key ed25519:nope/],
    ['retiring a key twice', () => {
      const { keys } = retireKey(promoteNextKey(announceNextKey(ring, material(2), at), at), undefined, at);
      return retireKey(keys, material(1).key_id, at);
    }, 'conflict', /already retired/],
    ['guessing among several previous keys', () => {
      const twice = promoteNextKey(announceNextKey(promoteNextKey(announceNextKey(ring, material(2), at), at), material(3), at), at);
      return retireKey(twice, undefined, at);
    }, 'conflict', /several previous keys .*--key-id/],
  ];
  for (const [name, step, kind, message] of refusals) {
    it(`refuses ${name}`, () => {
      let error: unknown;
      try {
        step();
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(KeyRotationError);
      expect((error as KeyRotationError).kind).toBe(kind);
      expect((error as KeyRotationError).message).toMatch(message);
    });
  }

  it('finds what makes a key ring unusable', () => {
    expect(keyringStructureProblem([])).toMatch(/exactly one active key, found 0/);
    expect(keyringStructureProblem([...ring, { ...material(2), status: 'active', created_at: at }])).toMatch(/exactly one active key, found 2/);
    expect(keyringStructureProblem([{ ...ring[0]!, private_key_pem: undefined } as KeyringEntry])).toMatch(/has no private key/);
    expect(keyringStructureProblem([...ring, { ...material(2), status: 'retired', created_at: at }])).toMatch(/still holds its private key/);
  });
});

describe('audit chain checks', () => {
  function batch(count: number, prev = AUDIT_CHAIN_GENESIS_HASH, firstSeq = 1): { batch: AuditBatch; raw: unknown[] } {
    const records = [];
    const raw = [];
    for (let i = 0; i < count; i++) {
      const record = { request_id: `r${i}`, ts: '2025-01-01T00:00:00Z', device_id: 'dev', app: 'a', host: 'h', decision: 'allowed' as const, findings: [], latency_ms: 1 };
      const hash = auditRecordHash(prev, record);
      records.push({ seq: firstSeq + i, record, prev_hash: prev, hash });
      raw.push(record);
      prev = hash;
    }
    return { batch: { device_id: 'dev', batch_id: 'b', first_seq: firstSeq, last_seq: firstSeq + count - 1, chain_head: prev, records }, raw };
  }

  it('accepts a consistent batch and pins the hash formula', () => {
    const { batch: b, raw } = batch(3);
    expect(checkBatchIntegrity(b, raw)).toEqual({ ok: true });
    // hex(SHA-256(utf8(prev_hash hex) ‖ utf8(canonical JSON))): keys sorted, no whitespace.
    const expected = createHash('sha256').update(`${'0'.repeat(64)}{"a":1,"b":[2,{"c":3}]}`).digest('hex');
    expect(auditRecordHash('0'.repeat(64), { b: [2, { c: 3 }], a: 1 })).toBe(expected);
  });

  const broken: Array<[string, (b: AuditBatch) => void, RegExp]> = [
    ['a seq gap inside the batch', (b) => { b.records[1]!.seq = 5; }, /expected 2/],
    ['a count that does not match the seq range', (b) => { b.last_seq = 9; }, /is 9 records/],
    ['a broken link', (b) => { b.records[2]!.prev_hash = 'a'.repeat(64); }, /prev_hash/],
    ['a wrong chain head', (b) => { b.chain_head = 'b'.repeat(64); }, /chain_head/],
    ['a record from another device', (b) => { b.records[0]!.record.device_id = 'other'; }, /belongs to device other/],
  ];
  for (const [name, breakIt, message] of broken) {
    it(`refuses ${name}`, () => {
      const { batch: b, raw } = batch(3);
      breakIt(b);
      const check = checkBatchIntegrity(b, raw);
      expect(check.ok).toBe(false);
      if (!check.ok) expect(check.message).toMatch(message);
    });
  }

  it('refuses an altered record (the hash covers the record as sent)', () => {
    const { batch: b, raw } = batch(2);
    (raw[1] as { app: string }).app = 'changed';
    const check = checkBatchIntegrity(b, raw);
    expect(check.ok).toBe(false);
  });

  it('decides append / already stored / gap against the stored head', () => {
    const { batch: b } = batch(2, 'c'.repeat(64), 4);
    // Nothing stored: a chain starts at seq 1, or goes on from what an earlier enrollment uploaded.
    expect(decideAuditAppend(batch(2).batch, undefined, undefined)).toEqual({ kind: 'append' });
    expect(decideAuditAppend(b, undefined, undefined)).toMatchObject({ kind: 'gap', head: { seq: 0, hash: '0'.repeat(64) }, message: expect.stringMatching(/holds nothing of device .*Upload the chain from seq 1/) });
    expect(decideAuditAppend(b, undefined, undefined, 'dev-earlier')).toEqual({ kind: 'append' });
    expect(decideAuditAppend(b, { seq: 3, hash: 'c'.repeat(64) }, undefined)).toEqual({ kind: 'append' });
    const [r4, r5] = [b.records[0]!, b.records[1]!];
    const same = [{ seq: 4, hash: r4.hash }, { seq: 5, hash: r5.hash }];
    expect(decideAuditAppend(b, { seq: 9, hash: 'd'.repeat(64) }, same)).toEqual({ kind: 'already_stored' });
    expect(decideAuditAppend(b, { seq: 1, hash: 'e'.repeat(64) }, undefined)).toMatchObject({ kind: 'gap', message: expect.stringMatching(/upload records 2–3 first/) });
    expect(decideAuditAppend(b, { seq: 3, hash: 'e'.repeat(64) }, undefined)).toMatchObject({ kind: 'gap', message: expect.stringMatching(/does not match the stored head/) });
    // An overlap with other records says where the batch first differs from what is stored.
    expect(decideAuditAppend(b, { seq: 9, hash: 'e'.repeat(64) }, [{ seq: 4, hash: 'f'.repeat(64) }, { seq: 5, hash: 'f'.repeat(64) }]))
      .toMatchObject({ kind: 'gap', differsAtSeq: 4, message: expect.stringMatching(/overlaps records already stored with different content from seq 4 on/) });
    expect(decideAuditAppend(b, { seq: 9, hash: 'e'.repeat(64) }, [{ seq: 4, hash: r4.hash }, { seq: 5, hash: 'f'.repeat(64) }]))
      .toMatchObject({ kind: 'gap', differsAtSeq: 5, message: expect.stringMatching(/from seq 5 on \(seq 4–4 are stored as in the batch\)/) });
    // Stored before the chain was anchored counts as different: nothing is counted as held that is not.
    expect(decideAuditAppend(b, { seq: 9, hash: 'e'.repeat(64) }, [{ seq: 5, hash: r5.hash }])).toMatchObject({ kind: 'gap', differsAtSeq: 4 });
    // The same records through the stored head, and more: no difference to name.
    const extends_ = decideAuditAppend(b, { seq: 4, hash: r4.hash }, [{ seq: 4, hash: r4.hash }]);
    expect(extends_).toMatchObject({ kind: 'gap', message: expect.stringMatching(/repeats records already stored.*Send the records after seq 4/) });
    expect(extends_).not.toHaveProperty('differsAtSeq');
  });
});

describe('bundle building', () => {
  const keys = [
    VirtualKeySchema.parse({ id: 'k1', name: 'one', value: 'sk-bf-1', budgets: [{ max_limit: 5, reset_duration: '1d', current_usage: 1, last_reset: 'x' }], updated_at: 'now', provider_configs: [{ provider: 'openai', keys: [{ id: 'secret' }] }] }),
    VirtualKeySchema.parse({ id: 'k2', name: 'two', value: 'sk-bf-2', is_active: false }),
    VirtualKeySchema.parse({ id: 'k3', name: 'three', value: 'sk-bf-3' }),
  ];
  const assignments = { users: { 'ada@example.com': ['k2', 'k1'], 'sub-bob': ['k3'] }, groups: { eng: ['k3', 'gone'] }, default: ['k3'] };

  it.each([
    ['by email, then group, keeping config order', { sub: 's', email: 'ada@example.com', groups: ['eng'] }, ['k2', 'k1', 'k3'], ['gone']],
    ['by sub', { sub: 'sub-bob', groups: [] }, ['k3'], []],
    ['by default when nothing matches', { sub: 'nobody', groups: ['sales'] }, ['k3'], []],
    // Names an identity provider may hand out that are also built-in object properties must not match them.
    ['by default for groups named like object built-ins', { sub: 's', groups: ['constructor', 'toString', '__proto__', 'hasOwnProperty'] }, ['k3'], []],
    ['by default for a sub and email named like object built-ins', { sub: 'constructor', email: 'valueOf', groups: [] }, ['k3'], []],
  ])('assigns keys %s', (_name, subject, ids, missing) => {
    const assigned = assignVirtualKeys(subject, assignments, keys);
    expect(assigned.keys.map((k) => k.id)).toEqual(ids);
    expect(assigned.missing).toEqual(missing);
  });

  it('drops usage counters, timestamps and upstream provider keys from bundle keys', () => {
    const projected = policyRelevantVirtualKey(keys[0]!) as Record<string, unknown>;
    expect(projected['updated_at']).toBeUndefined();
    expect((projected['budgets'] as Array<Record<string, unknown>>)[0]).toEqual({ max_limit: 5, reset_duration: '1d' });
    expect((projected['provider_configs'] as Array<Record<string, unknown>>)[0]!['keys']).toBeUndefined();
  });

  it('picks the first active key and ignores version and issue time in the content hash', () => {
    const template = PolicyTemplateSchema.parse({ fail_mode: 'closed' });
    const inputs = { template, subject: { sub: 's', groups: [] }, keys: [keys[1]!, keys[0]!], gatewayUrl: 'https://gw.example.com' };
    const a = buildPolicyBundle({ ...inputs, version: 1, issuedAt: '2025-01-01T00:00:00.000Z' });
    const b = buildPolicyBundle({ ...inputs, version: 7, issuedAt: '2025-02-01T00:00:00.000Z' });
    expect(a.active_virtual_key_id).toBe('k1');
    expect(a.gateway?.url).toBe('https://gw.example.com');
    expect(bundleContentHash(a)).toBe(bundleContentHash(b));
    const other = buildPolicyBundle({ ...inputs, template: PolicyTemplateSchema.parse({ fail_mode: 'open' }), version: 1, issuedAt: '2025-01-01T00:00:00.000Z' });
    expect(bundleContentHash(a)).not.toBe(bundleContentHash(other));
  });
});

describe('push stream parsing and reconnect backoff', () => {
  it('parses events split anywhere, CRLF or LF, and reports heartbeats', () => {
    const text = ': connected\r\n\r\nevent: policy\r\ndata: {"version":2,\r\ndata: "etag":"x"}\r\n\r\n: heartbeat\n\nevent: policy\ndata: {"version":3}\n\n';
    for (const size of [1, 2, 5, text.length]) {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const parser = new SseParser((e) => events.push(e), (c) => comments.push(c));
      for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size));
      expect(events).toEqual([{ event: 'policy', data: '{"version":2,\n"etag":"x"}' }, { event: 'policy', data: '{"version":3}' }]);
      expect(comments).toEqual(['connected', 'heartbeat']);
    }
  });

  it('gives up on a line or an event that never ends once it outgrows the limit', () => {
    const chunk = 'x'.repeat(4096);
    const endlessLine = new SseParser(() => undefined);
    endlessLine.feed('data: ');
    expect(() => {
      for (let fed = 0; fed <= MAX_SSE_EVENT_CHARS; fed += chunk.length) endlessLine.feed(chunk);
    }).toThrow(SseEventTooLargeError);

    const endlessEvent = new SseParser(() => undefined);
    const dataLine = `data: ${'y'.repeat(1000)}\n`;
    expect(() => {
      for (let fed = 0; fed <= 2 * MAX_SSE_EVENT_CHARS; fed += dataLine.length) endlessEvent.feed(dataLine);
    }).toThrow(/longer than 1048576 characters/);
  });

  it('takes events up to the limit, and any number of them', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((e) => events.push(e), () => undefined, 1000);
    parser.feed(`event: policy\ndata: ${'a'.repeat(500)}\ndata: ${'b'.repeat(480)}\n\n`);
    for (let i = 0; i < 1000; i++) parser.feed(`: heartbeat\n\nevent: policy\ndata: ${'c'.repeat(900)}\n\n`);
    expect(events).toHaveLength(1001);
    expect(events[0]!.data).toBe(`${'a'.repeat(500)}\n${'b'.repeat(480)}`);
  });

  it('scans each chunk once, however long the line being read', () => {
    // Before, every chunk rescanned (and re-sliced) everything buffered: quadratic in the line length.
    // Counted, not timed: the characters handed to string searches, against the characters fed.
    const parser = new SseParser(() => undefined, () => undefined, 2 * 1024 * 1024);
    const chunks = ['data: ', ...Array.from({ length: 2048 }, () => 'z'.repeat(64))];
    const fed = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const scanned = charactersScanned(() => {
      for (const chunk of chunks) parser.feed(chunk);
    });
    expect(scanned, 'every character is looked at for a line end').toBeGreaterThanOrEqual(fed);
    expect(scanned).toBeLessThanOrEqual(2 * fed);
  });

  it('backs off exponentially with jitter up to the cap', () => {
    const settings = { initialMs: 1_000, maxMs: 8_000 };
    expect(backoffDelayMs(0, settings, () => 0)).toBe(500);
    expect(backoffDelayMs(0, settings, () => 1)).toBe(1_000);
    expect(backoffDelayMs(2, settings, () => 0)).toBe(2_000);
    expect(backoffDelayMs(10, settings, () => 1)).toBe(8_000);
    expect(backoffDelayMs(10, settings, () => 0)).toBe(4_000);
  });
});
