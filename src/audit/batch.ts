import type { AuditBatch, ChainedAuditRecord } from '../control/protocol/audit.js';

/** The contract's upper bound on records per batch (AuditBatchSchema). */
export const MAX_BATCH_RECORDS = 5000;

/**
 * The idempotency key of a batch. It depends only on the device and the seq range, so the same range
 * resent after a crash carries the same key and the server stores it once.
 */
export function auditBatchId(deviceId: string, firstSeq: number, lastSeq: number): string {
  return `${deviceId}:${firstSeq}-${lastSeq}`;
}

/** Wraps consecutive records of one device as an upload batch whose chain head is the last hash. */
export function buildAuditBatch(records: readonly ChainedAuditRecord[]): AuditBatch {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) throw new RangeError('an audit batch needs at least one record');
  if (records.length > MAX_BATCH_RECORDS) throw new RangeError(`an audit batch holds at most ${MAX_BATCH_RECORDS} records, got ${records.length}`);
  const deviceId = first.record.device_id;
  return {
    device_id: deviceId,
    batch_id: auditBatchId(deviceId, first.seq, last.seq),
    first_seq: first.seq,
    last_seq: last.seq,
    chain_head: last.hash,
    records: [...records],
  };
}
