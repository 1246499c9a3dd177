import { buildAuditBatch } from '../../../src/audit/batch.js';
import { chainHash, recordJson } from '../../../src/audit/chain.js';
import { AuditRecordSchema, type AuditBatch, type ChainedAuditRecord } from '../../../src/control/protocol/audit.js';

/** `count` chained records from `fromSeq`, linked to `prevHash`; `tag` makes their request ids (and so hashes) differ between histories. */
export function chainedRecords(fromSeq: number, count: number, prevHash: string, deviceId: string, tag: string): ChainedAuditRecord[] {
  const out: ChainedAuditRecord[] = [];
  let prev = prevHash;
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    const record = AuditRecordSchema.parse({ request_id: `${tag}-${seq}`, ts: '2025-01-01T12:00:00.000Z', device_id: deviceId, app: 'curl', host: 'api.openai.com', decision: 'allowed', latency_ms: 1 });
    const hash = chainHash(prev, recordJson(record));
    out.push({ seq, record, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

export interface AuditUploadAnswer { status: number; headers: Headers; body: unknown }

/** POSTs `batch` to Edge Control as a device does (records as the canonical JSON they were hashed over). */
export async function postAuditBatch(url: string, credential: string, batch: AuditBatch): Promise<AuditUploadAnswer> {
  const res = await fetch(`${url}/api/edge/v1/audit/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', 'idempotency-key': batch.batch_id },
    body: JSON.stringify({ ...batch, records: batch.records.map((r) => ({ ...r, record: JSON.parse(recordJson(r.record)) as unknown })) }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() as unknown };
}

/** The batch a device `deviceId` uploads of `records` (its batch id as the shipper names it). */
export function batchFor(deviceId: string, records: ChainedAuditRecord[]): AuditBatch {
  const batch = buildAuditBatch(records);
  return { ...batch, device_id: deviceId, batch_id: `${deviceId}:${batch.first_seq}-${batch.last_seq}` };
}
