import { afterEach, describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { auditRecordHash, AUDIT_CHAIN_GENESIS_HASH } from '../../src/control/protocol/audit-chain.js';
import { sampleRecord } from '../audit/support/records.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * A device enrolled again gets a new device id while its audit outbox goes on: Edge Control takes its first batch as
 * the continuation of the chain an earlier enrollment of the same installation uploaded. Only at that chain's head:
 * a batch linking to a record before the head would store a second, different (or repeated) history of those seqs
 * as if it simply went on, since the installation id is only the device's claim.
 */

let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

interface ChainRecord { seq: number; record: ReturnType<typeof sampleRecord>; prev_hash: string; hash: string }

function chain(from: number, to: number, prev: string, tag: string): ChainRecord[] {
  const records: ChainRecord[] = [];
  for (let seq = from; seq <= to; seq++) {
    const record = sampleRecord(seq, { device_id: 'inst-x', request_id: `${tag}-${seq}` });
    const hash = auditRecordHash(prev, record);
    records.push({ seq, record, prev_hash: prev, hash });
    prev = hash;
  }
  return records;
}

async function upload(url: string, credential: string, deviceId: string, batchId: string, records: ChainRecord[]): Promise<number> {
  const batch = { device_id: deviceId, batch_id: batchId, first_seq: records[0]!.seq, last_seq: records.at(-1)!.seq, chain_head: records.at(-1)!.hash, records };
  const res = await fetch(`${url}/api/edge/v1/audit/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', 'idempotency-key': batchId },
    body: JSON.stringify(batch),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('an enrollment of the same installation continuing the audit chain of an earlier one', () => {
  it('is taken at the earlier chain\'s head, and refused (409) when it links to a record before it', async () => {
    fixture = await startControlFixture();
    const url = fixture.server.url;
    const enroll = () => postEnrollment(url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: 'inst-x' } });
    const first = await enroll();
    const original = chain(1, 10, AUDIT_CHAIN_GENESIS_HASH, 'orig');
    expect(await upload(url, first.device_credential, first.device_id, 'a-1', original)).toBe(200);

    const second = await enroll();
    // Seq 6-8 again, linked to seq 5, with other records: a rewrite of what the first enrollment stored.
    expect(await upload(url, second.device_credential, second.device_id, 'b-1', chain(6, 8, original[4]!.hash, 'forged'))).toBe(409);
    // A repeat of it (same hashes) is held already: a duplicate (audit-reenrolled-duplicate.test.ts).
    expect(await upload(url, second.device_credential, second.device_id, 'b-2', original.slice(5, 10))).toBe(200);
    // Going on after seq 10 is the continuation a re-enrolled device uploads.
    expect(await upload(url, second.device_credential, second.device_id, 'b-3', chain(11, 12, original[9]!.hash, 'next'))).toBe(200);
  });
});
