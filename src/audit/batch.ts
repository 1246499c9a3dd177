import type { AuditBatch, ChainedAuditRecord } from '../control/protocol/audit.js';

/** The contract's upper bound on records per batch (AuditBatchSchema). */
export const MAX_BATCH_RECORDS = 5000;

/**
 * The idempotency key of a batch. It depends only on the device, the seq range and (for a device's
 * further chain) the chain id, so the same range resent after a crash carries the same key and the
 * server stores it once, while a new chain's seq 1–50 never reuses the key of the first chain's.
 */
export function auditBatchId(deviceId: string, firstSeq: number, lastSeq: number, chainId?: string): string {
  return chainId === undefined ? `${deviceId}:${firstSeq}-${lastSeq}` : `${deviceId}:${chainId}:${firstSeq}-${lastSeq}`;
}

/** A further chain Edge Control keeps for the device: its id and the seq its copy starts at (AuditOutbox.uploadChain). */
export interface BatchChain {
  chainId: string;
  fromSeq: number;
}

/**
 * Wraps consecutive records of one device as an upload batch whose chain head is the last hash.
 * `chain` only for a chain Edge Control is to keep beside the device's first one (see AuditBatch); one
 * that starts after seq 1 says where (`chain_start_seq`), so the server stores it from there.
 */
export function buildAuditBatch(records: readonly ChainedAuditRecord[], chain?: BatchChain): AuditBatch {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) throw new RangeError('an audit batch needs at least one record');
  if (records.length > MAX_BATCH_RECORDS) throw new RangeError(`an audit batch holds at most ${MAX_BATCH_RECORDS} records, got ${records.length}`);
  const deviceId = first.record.device_id;
  const chainId = chain?.chainId;
  return {
    device_id: deviceId,
    batch_id: auditBatchId(deviceId, first.seq, last.seq, chainId),
    first_seq: first.seq,
    last_seq: last.seq,
    chain_head: last.hash,
    ...(chain === undefined ? {} : { chain_id: chain.chainId }),
    ...(chain === undefined || chain.fromSeq === 1 ? {} : { chain_start_seq: chain.fromSeq }),
    records: [...records],
  };
}
