import type { AuditBatch } from '../protocol/audit.js';
import { AUDIT_CHAIN_GENESIS_HASH, auditRecordHash } from '../protocol/audit-chain.js';
import type { AuditChainHead } from './control-store.js';

/**
 * Pure checks on an uploaded audit batch. First the batch on its own (consecutive seqs, each record
 * linked to the one before, hashes that recompute), then against what the server already holds for
 * the device (does it continue the stored chain, repeat it, or leave a gap / fork it).
 */

export type IntegrityCheck = { ok: true } | { ok: false; message: string };

/** `rawRecords[i]` is `records[i].record` exactly as received: hashes cover it, not the parsed copy. */
export function checkBatchIntegrity(batch: AuditBatch, rawRecords: readonly unknown[], installationId?: string): IntegrityCheck {
  const { records } = batch;
  if (batch.chain_start_seq !== undefined && (batch.chain_id === undefined || batch.chain_start_seq > batch.first_seq)) {
    return { ok: false, message: `chain_start_seq ${batch.chain_start_seq} needs a chain_id and cannot be after the batch's first_seq (${batch.first_seq})` };
  }
  const expectedCount = batch.last_seq - batch.first_seq + 1;
  if (expectedCount !== records.length) {
    return { ok: false, message: `first_seq ${batch.first_seq} to last_seq ${batch.last_seq} is ${expectedCount} records, but the batch has ${records.length}` };
  }
  for (let i = 0; i < records.length; i++) {
    const entry = records[i]!;
    if (entry.seq !== batch.first_seq + i) {
      return { ok: false, message: `records[${i}] has seq ${entry.seq}; expected ${batch.first_seq + i} (seqs must be consecutive and ascending)` };
    }
    if (entry.record.device_id !== batch.device_id && entry.record.device_id !== installationId) {
      return { ok: false, message: `records[${i}] (seq ${entry.seq}) belongs to device ${entry.record.device_id}, not ${batch.device_id}${installationId ? ` (installation ${installationId})` : ''}` };
    }
    if (i > 0 && entry.prev_hash !== records[i - 1]!.hash) {
      return { ok: false, message: `records[${i}] (seq ${entry.seq}) has prev_hash ${short(entry.prev_hash)}, but seq ${entry.seq - 1} hashes to ${short(records[i - 1]!.hash)}` };
    }
    const recomputed = auditRecordHash(entry.prev_hash, rawRecords[i]);
    if (recomputed !== entry.hash) {
      return { ok: false, message: `records[${i}] (seq ${entry.seq}) claims hash ${short(entry.hash)} but SHA-256(prev_hash ‖ canonical JSON of the record) is ${short(recomputed)}; the record was altered after it was chained` };
    }
  }
  const last = records[records.length - 1]!;
  if (batch.chain_head !== last.hash) {
    return { ok: false, message: `chain_head ${short(batch.chain_head)} is not the hash of the last record (${short(last.hash)})` };
  }
  return { ok: true };
}

export type AppendDecision =
  | { kind: 'append' }
  /** The first batch of a device's further chain (`chain_id`), from its start: stored beside its first chain. */
  | { kind: 'new_chain'; startSeq: number }
  /** Every record is already stored (sent before under another batch id). */
  | { kind: 'already_stored' }
  /**
   * `head` is where the stored chain ends (seq 0 and the genesis hash when nothing of it is stored).
   * `differsAtSeq`: the batch overlaps the stored chain, and this is its first record that is not stored
   * as it is in the batch (the ones before it are).
   */
  | { kind: 'gap'; message: string; head: AuditChainHead; differsAtSeq?: number };

/**
 * Where the server keeps a chain of a device: its first chain under the device id (as always), a
 * further chain (a batch with `chain_id`, after the device's audit database was replaced) under its
 * own key, so the first chain stays exactly as uploaded and the new one shows as such in the admin
 * audit view (device_id "<device>/chain-<chain_id>").
 */
export function auditChainKey(batch: Pick<AuditBatch, 'device_id' | 'chain_id'>): string {
  return batch.chain_id === undefined ? batch.device_id : `${batch.device_id}/chain-${batch.chain_id}`;
}

/** The seqs of `batch` the stored chain also holds (up to `head`), to read before deciding: undefined when none. */
export function overlapWithStored(batch: Pick<AuditBatch, 'first_seq' | 'last_seq'>, head: AuditChainHead | undefined): { fromSeq: number; throughSeq: number } | undefined {
  return head && batch.first_seq <= head.seq ? { fromSeq: batch.first_seq, throughSeq: Math.min(batch.last_seq, head.seq) } : undefined;
}

/** Where a chain the server holds nothing of must start: seq 1, or the further chain's declared start. */
export function chainStartOf(batch: Pick<AuditBatch, 'chain_id' | 'chain_start_seq'>): number {
  return batch.chain_id === undefined ? 1 : batch.chain_start_seq ?? 1;
}

/**
 * Whether a (self-consistent) batch continues the chain stored for it (under auditChainKey). No
 * stored head: a chain must start where it starts (seq 1 from the genesis hash; a further chain's
 * declared `chain_start_seq`), so it is stored whole from there. A batch from its middle is a gap the
 * device closes (its start lost in a restore of this server: it sends the start again, or a new chain
 * and logs the loss), unless it continues what an earlier enrollment of the same installation uploaded
 * (`continuesEnrollment`: the key of the chain holding the record it links to; the device enrolled
 * again under a new id). `storedOverlap`: the stored hashes over overlapWithStored, in seq order.
 */
export function decideAuditAppend(batch: AuditBatch, head: AuditChainHead | undefined, storedOverlap: readonly AuditChainHead[] | undefined, continuesEnrollment?: string): AppendDecision {
  const first = batch.records[0]!;
  if (!head) {
    const start = chainStartOf(batch);
    if (batch.chain_id === undefined && batch.first_seq === 1) return { kind: 'append' };
    if (batch.chain_id !== undefined && batch.first_seq === start && (start > 1 || first.prev_hash === AUDIT_CHAIN_GENESIS_HASH)) return { kind: 'new_chain', startSeq: start };
    if (continuesEnrollment !== undefined) return { kind: 'append' };
    const empty = { seq: 0, hash: AUDIT_CHAIN_GENESIS_HASH };
    if (batch.chain_id === undefined) {
      return {
        kind: 'gap',
        head: empty,
        message: `batch ${batch.batch_id} starts at seq ${batch.first_seq}, but this server holds nothing of device ${batch.device_id}'s audit chain: it was configured on the device ` +
          `after records 1–${batch.first_seq - 1} were written, or its database was restored from a backup older than the device's first upload and lost them. ` +
          'Upload the chain from seq 1, or as a new chain (chain_id) that declares where it starts (chain_start_seq)',
      };
    }
    return {
      kind: 'gap',
      head: empty,
      message: `batch ${batch.batch_id} continues chain ${batch.chain_id} of device ${batch.device_id} from seq ${batch.first_seq}, but this server holds nothing of that chain ` +
        `(its database may have been restored from a backup older than the chain): upload the chain from its start, seq ${start}`,
    };
  }
  if (batch.first_seq === head.seq + 1 && first.prev_hash === head.hash) return { kind: 'append' };
  const chain = batch.chain_id === undefined ? '' : ` (chain ${batch.chain_id})`;
  const where = `the server's chain for device ${batch.device_id}${chain} ends at seq ${head.seq} with hash ${short(head.hash)}`;
  if (batch.first_seq > head.seq + 1) {
    return { kind: 'gap', head, message: `batch ${batch.batch_id} starts at seq ${batch.first_seq}, but ${where}: upload records ${head.seq + 1}–${batch.first_seq - 1} first (the server's database may have been restored from a backup)` };
  }
  if (batch.first_seq === head.seq + 1) {
    return { kind: 'gap', head, message: `batch ${batch.batch_id} starts at seq ${batch.first_seq} with prev_hash ${short(first.prev_hash)}, which does not match the stored head: ${where}. The device's chain was rewritten or belongs to another device; do not retry this batch, investigate the device's audit outbox` };
  }
  const differsAtSeq = firstDifference(batch, head.seq, storedOverlap ?? []);
  if (differsAtSeq === undefined) {
    if (batch.last_seq <= head.seq) return { kind: 'already_stored' };
    return { kind: 'gap', head, message: `batch ${batch.batch_id} (seq ${batch.first_seq}–${batch.last_seq}) repeats records already stored: ${where}. Send the records after seq ${head.seq}` };
  }
  // The server holds both copies of seq differsAtSeq…: saying where they part lets the device count the
  // common part as acknowledged instead of storing it a second time in a new chain.
  const same = differsAtSeq > batch.first_seq ? ` (seq ${batch.first_seq}–${differsAtSeq - 1} are stored as in the batch)` : '';
  return {
    kind: 'gap',
    head,
    differsAtSeq,
    message: `batch ${batch.batch_id} (seq ${batch.first_seq}–${batch.last_seq}) overlaps records already stored with different content from seq ${differsAtSeq} on${same}: ${where}. Do not retry; investigate the device's audit outbox`,
  };
}

/** The first seq of the batch the stored chain does not hold as it is in the batch; undefined when it holds every one it covers. */
function firstDifference(batch: AuditBatch, headSeq: number, stored: readonly AuditChainHead[]): number | undefined {
  const storedHash = new Map(stored.map((r) => [r.seq, r.hash]));
  for (const record of batch.records) {
    if (record.seq > headSeq) return undefined;
    if (storedHash.get(record.seq) !== record.hash) return record.seq;
  }
  return undefined;
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}
