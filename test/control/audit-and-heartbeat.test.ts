import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postAuditBatch, postHeartbeat, postEnrollment, ControlRequestError } from '../../src/control/client/control-api.js';
import { AUDIT_CHAIN_GENESIS_HASH, auditRecordHash } from '../../src/control/protocol/audit-chain.js';
import type { AuditBatch, ChainedAuditRecord } from '../../src/control/protocol/audit.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import { ADA_KEY, ENGINEERING_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

let fixture: ControlFixture;
let ada: EnrollmentResponse;
let other: EnrollmentResponse;

beforeAll(async () => {
  fixture = await startControlFixture();
  ada = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'ada-laptop' } });
  other = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ENGINEERING_KEY.value, device: { hostname: 'eng-laptop' } });
});

afterAll(async () => {
  await fixture?.close();
});

/** `count` records chained after `prevHash`, as the device's outbox would build them. */
function chain(deviceId: string, firstSeq: number, prevHash: string, count: number, tag = 'r'): ChainedAuditRecord[] {
  const out: ChainedAuditRecord[] = [];
  let prev = prevHash;
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const record = {
      request_id: `${tag}-${seq}`, ts: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(), device_id: deviceId,
      app: 'curl', host: 'api.openai.com', provider: 'openai', model: 'gpt-4o-mini', decision: 'allowed' as const,
      findings: [], latency_ms: 12,
    };
    const hash = auditRecordHash(prev, record);
    out.push({ seq, record, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

function batchOf(deviceId: string, batchId: string, records: ChainedAuditRecord[]): AuditBatch {
  return { device_id: deviceId, batch_id: batchId, first_seq: records[0]!.seq, last_seq: records[records.length - 1]!.seq, chain_head: records[records.length - 1]!.hash, records };
}

async function rawUpload(body: unknown, headers: Record<string, string>, credential = ada.device_credential): Promise<{ status: number; json: { error?: { type: string; message: string } } }> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/audit/batches`, {
    method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() as { error?: { type: string; message: string } } };
}

async function expectRefused(promise: Promise<unknown>, status: number, type: string, message?: RegExp): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ControlRequestError);
  expect((err as ControlRequestError).status).toBe(status);
  expect((err as ControlRequestError).type).toBe(type);
  if (message) expect((err as ControlRequestError).message).toMatch(message);
}

describe('audit upload', () => {
  const first = (): ChainedAuditRecord[] => chain(ada.device_id, 1, AUDIT_CHAIN_GENESIS_HASH, 3);

  it('stores a batch once and acknowledges a repeat as a duplicate', async () => {
    const batch = batchOf(ada.device_id, 'batch-1', first());
    const ack = await postAuditBatch(fixture.server.url, ada.device_credential, batch);
    expect(ack).toEqual({ batch_id: 'batch-1', stored: 3, duplicate: false, chain_head: batch.chain_head });
    const again = await postAuditBatch(fixture.server.url, ada.device_credential, batch);
    expect(again).toEqual({ batch_id: 'batch-1', stored: 0, duplicate: true, chain_head: batch.chain_head });

    const stored = await fixture.admin('GET', `/api/edge/v1/admin/audit?device_id=${ada.device_id}`);
    expect((stored.json as { records: unknown[] }).records).toHaveLength(3);
  });

  it('refuses a reused batch id with other content, and a missing or different Idempotency-Key', async () => {
    const reused = batchOf(ada.device_id, 'batch-1', chain(ada.device_id, 4, first()[2]!.hash, 1));
    await expectRefused(postAuditBatch(fixture.server.url, ada.device_credential, reused), 409, 'idempotency_key_reused', /already used for a different batch/);
    const batch = batchOf(ada.device_id, 'batch-x', chain(ada.device_id, 4, first()[2]!.hash, 1));
    expect((await rawUpload(batch, {})).json.error?.type).toBe('idempotency_key_mismatch');
    expect((await rawUpload(batch, { 'idempotency-key': 'other' })).status).toBe(400);
  });

  it('refuses a batch that leaves a gap in the chain, naming the missing records', async () => {
    const head = first()[2]!.hash;
    const skipped = chain(ada.device_id, 4, head, 5);
    const gap = batchOf(ada.device_id, 'batch-gap', skipped.slice(3));
    await expectRefused(postAuditBatch(fixture.server.url, ada.device_credential, gap), 409, 'audit_chain_gap', /upload records 4–6 first/);
  });

  it('refuses a batch whose first prev_hash does not match the stored head (a fork)', async () => {
    const forked = batchOf(ada.device_id, 'batch-fork', chain(ada.device_id, 4, 'f'.repeat(64), 2));
    await expectRefused(postAuditBatch(fixture.server.url, ada.device_credential, forked), 409, 'audit_chain_gap', /prev_hash .* does not match the stored head/);
  });

  it('refuses records altered after chaining, and batches for another device', async () => {
    const records = chain(ada.device_id, 4, first()[2]!.hash, 2);
    records[1]!.record.decision = 'blocked';
    await expectRefused(postAuditBatch(fixture.server.url, ada.device_credential, batchOf(ada.device_id, 'batch-altered', records)), 422, 'audit_batch_invalid', /altered after it was chained/);
    const foreign = batchOf(other.device_id, 'batch-foreign', chain(other.device_id, 1, AUDIT_CHAIN_GENESIS_HASH, 1));
    await expectRefused(postAuditBatch(fixture.server.url, ada.device_credential, foreign), 403, 'forbidden');
  });

  it('continues the chain, treats re-batched stored records as duplicates, and pages the admin listing', async () => {
    const next = chain(ada.device_id, 4, first()[2]!.hash, 3);
    const ack = await postAuditBatch(fixture.server.url, ada.device_credential, batchOf(ada.device_id, 'batch-2', next));
    expect(ack).toMatchObject({ stored: 3, duplicate: false });
    const rebatched = await postAuditBatch(fixture.server.url, ada.device_credential, batchOf(ada.device_id, 'batch-2-retry-with-new-id', next.slice(1)));
    expect(rebatched).toMatchObject({ stored: 0, duplicate: true, chain_head: next[2]!.hash });

    const page1 = await fixture.admin('GET', `/api/edge/v1/admin/audit?device_id=${ada.device_id}&limit=4`);
    const body1 = page1.json as { records: Array<{ seq: number; record: { request_id: string } }>; next_after?: number };
    expect(body1.records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const page2 = await fixture.admin('GET', `/api/edge/v1/admin/audit?device_id=${ada.device_id}&limit=4&after=${body1.next_after}`);
    const body2 = page2.json as { records: Array<{ seq: number }>; next_after?: number };
    expect(body2.records.map((r) => r.seq)).toEqual([5, 6]);
    expect(body2.next_after).toBeUndefined();
  });

  it('keeps chains per device', async () => {
    const ack = await postAuditBatch(fixture.server.url, other.device_credential, batchOf(other.device_id, 'batch-1', chain(other.device_id, 1, AUDIT_CHAIN_GENESIS_HASH, 2, 'o')));
    expect(ack).toMatchObject({ stored: 2, duplicate: false });
  });
});

describe('heartbeat and inventory', () => {
  it('records versions and what the device saw, and answers the latest policy version', async () => {
    const answer = await postHeartbeat(fixture.server.url, ada.device_credential, {
      agent_version: '0.1.0', policy_version: 1, policy_source: 'edge-control', os: 'darwin 24.1',
      apps_seen: [{ app: 'cursor', host: 'api2.cursor.sh', status: 'pending', last_seen: '2025-01-01T00:00:00Z', requests: 4 }],
      mcp_servers_seen: [{ name: 'github', transport: 'stdio', target: 'npx @modelcontextprotocol/server-github', last_seen: '2025-01-01T00:00:00Z' }],
    });
    expect(answer.policy?.version).toBe(1);
    await postHeartbeat(fixture.server.url, ada.device_credential, {
      agent_version: '0.1.1', apps_seen: [{ app: 'claude-code', host: 'api.anthropic.com', last_seen: '2025-01-01T01:00:00Z' }],
    });
    const devices = await fixture.admin('GET', '/api/edge/v1/admin/devices');
    const mine = (devices.json as { devices: Array<Record<string, unknown>> }).devices.find((d) => d['device_id'] === ada.device_id);
    expect(mine).toMatchObject({ agent_version: '0.1.1', os: 'darwin 24.1', hostname: 'ada-laptop', latest_policy_version: 1 });
    expect((mine!['apps_seen'] as Array<{ app: string }>).map((a) => a.app)).toEqual(['claude-code', 'cursor']);
    expect(mine!['mcp_servers_seen']).toHaveLength(1);
  });

  it('refuses unknown credentials and admin calls without the admin token', async () => {
    await expectRefused(postHeartbeat(fixture.server.url, 'edc_not-a-real-credential', { agent_version: '1' }), 401, 'unauthorized', /enroll again/);
    const res = await fetch(`${fixture.server.url}/api/edge/v1/admin/devices`, { headers: { authorization: `Bearer ${ada.device_credential}` } });
    expect(res.status).toBe(403);
    const none = await fetch(`${fixture.server.url}/api/edge/v1/admin/policy`, { method: 'PUT', body: '{}' });
    expect(none.status).toBe(401);
    const bad = await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { type: 'invalid_request', message: expect.stringMatching(/fail_mode/) } });
    // The guardrail section travels as opaque JSON: the server compiles it as the agents will, so the admin
    // hears about a section every device would refuse (they keep their previous guardrails).
    const guardrails = await fixture.admin('PUT', '/api/edge/v1/admin/policy', {
      guardrails: { scanResponse: true, customRules: [{ id: 'ticket', message: 'no tickets', pattern: 'TICKET-(?=\\d)' }] },
    });
    expect(guardrails.status).toBe(400);
    expect(guardrails.json).toMatchObject({ error: { type: 'invalid_request', message: expect.stringMatching(/guardrails: unknown field\(s\) "scanResponse".*custom rule "ticket": pattern uses a lookahead/s) } });
    const missing = await fetch(`${fixture.server.url}/api/edge/v1/nothing-here`);
    expect(missing.status).toBe(404);
    const wrongMethod = await fetch(`${fixture.server.url}/api/edge/v1/policy`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
  });
});
