import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, HttpAuditSink, buildAuditBatch, hashRecord } from '../../src/audit/index.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { AUDIT_CHAIN_GENESIS_HASH, auditRecordHash } from '../../src/control/protocol/audit-chain.js';
import { AuditRecordSchema, type ChainedAuditRecord } from '../../src/control/protocol/audit.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * Contract check between the device's audit shipper (src/audit) and this server: the same hash
 * definition on both sides, and the shipper's uploads stored once and acknowledged as it expects.
 */
let fixture: ControlFixture;

beforeAll(async () => {
  fixture = await startControlFixture();
});

afterAll(async () => {
  await fixture?.close();
});

describe('audit shipper ↔ Edge Control', () => {
  it('agrees on the chain hash and the genesis value', () => {
    const record = AuditRecordSchema.parse({ request_id: 'r', ts: '2025-01-01T00:00:00Z', device_id: 'd', app: 'a', host: 'h', decision: 'allowed', latency_ms: 1 });
    expect(AUDIT_CHAIN_GENESIS_HASH).toBe(GENESIS_HASH);
    expect(auditRecordHash(GENESIS_HASH, record)).toBe(hashRecord(GENESIS_HASH, record));
  });

  it('stores a batch uploaded by the shipper HTTP sink, once', async () => {
    const device = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'ada-laptop' } });
    const records: ChainedAuditRecord[] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 3; seq++) {
      const record = AuditRecordSchema.parse({
        request_id: `req-${seq}`, ts: new Date().toISOString(), device_id: device.device_id, app: 'claude-code', host: 'api.anthropic.com',
        decision: seq === 2 ? 'blocked' : 'allowed', reason: seq === 2 ? 'model_blocked' : undefined, latency_ms: 5,
        content: { mode: 'digest', sha256: 'a'.repeat(64) },
      });
      const hash = hashRecord(prev, record);
      records.push({ seq, record, prev_hash: prev, hash });
      prev = hash;
    }
    const batch = buildAuditBatch(records);
    const sink = new HttpAuditSink({ controlUrl: fixture.server.url, credential: device.device_credential });
    const signal = new AbortController().signal;
    expect(await sink.send(batch, signal)).toEqual({ batch_id: batch.batch_id, stored: 3, duplicate: false, chain_head: batch.chain_head });
    expect(await sink.send(batch, signal)).toMatchObject({ stored: 0, duplicate: true });
  });
});
