import type { AuditBatch } from '../protocol/audit.js';
import type { AuditChainHead, ControlStore } from './control-store.js';

/**
 * A device that enrolled again (or a clone of it: same installation id) files its batches under its new
 * device id, while what it uploaded before is stored under the earlier enrollment's. For a batch the
 * server holds no chain for, this finds where such a chain holds the batch's first record, or the record
 * it links to, by hash (indexed): a hash covers its prev_hash, so an equal hash is the same history up to it.
 * No chain's records are scanned, however many the installation's enrollments hold.
 */
export type EnrollmentChainMatch =
  /** `chain` holds the batch's records from its first through `through`; `differsAtSeq`: the first it holds otherwise. */
  | { kind: 'held'; chain: string; through: number; head: AuditChainHead; differsAtSeq?: number }
  /** The batch's first record links to `chain`'s head: it goes on from what the earlier enrollment uploaded. */
  | { kind: 'continues'; chain: string }
  /** The batch links to `chain`'s record at `linkedSeq`, but the chain holds other records after it (through `head`). */
  | { kind: 'diverges'; chain: string; linkedSeq: number; head: AuditChainHead };

/** `linksBack`: whether to look up the record the batch links to (not for a further chain's first batch, which declares its start). */
export async function matchEnrollmentChain(
  store: ControlStore, installationId: string, batch: AuditBatch, linksBack: boolean,
): Promise<EnrollmentChainMatch | undefined> {
  const others = new Set((await store.deviceIdsOfInstallation(installationId)).filter((id) => id !== batch.device_id));
  if (others.size === 0) return undefined;
  const inOtherEnrollment = (key: string): boolean => others.has(ownerOf(key));
  const first = batch.records[0]!;
  const holding = (await store.auditRecordsWithHash(first.hash)).find((r) => r.seq === batch.first_seq && inOtherEnrollment(r.key));
  if (holding) {
    const head = (await store.auditHead(holding.key))!;
    const through = Math.min(batch.last_seq, head.seq);
    const stored = new Map((await store.auditHashes(holding.key, batch.first_seq, through)).map((r) => [r.seq, r.hash]));
    const differs = batch.records.find((r) => r.seq <= through && stored.get(r.seq) !== r.hash);
    return differs
      ? { kind: 'held', chain: holding.key, through: differs.seq - 1, head, differsAtSeq: differs.seq }
      : { kind: 'held', chain: holding.key, through, head };
  }
  if (!linksBack || batch.first_seq === 1) return undefined;
  const linked = (await store.auditRecordsWithHash(first.prev_hash)).find((r) => r.seq === batch.first_seq - 1 && inOtherEnrollment(r.key));
  if (!linked) return undefined;
  const head = (await store.auditHead(linked.key))!;
  return head.seq === linked.seq ? { kind: 'continues', chain: linked.key } : { kind: 'diverges', chain: linked.key, linkedSeq: linked.seq, head };
}

/** The device id a chain key belongs to (auditChainKey: the device id, or "<device>/chain-<id>"). */
export function ownerOf(key: string): string {
  const at = key.indexOf('/chain-');
  return at < 0 ? key : key.slice(0, at);
}
