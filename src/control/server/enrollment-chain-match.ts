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

/**
 * `linksBack`: whether to look up the record the batch links to (not for a further chain's first batch, which declares its start).
 * Every chain holding the record is looked at, not the latest stored: a previous release stored a clone's copy
 * of records it shared with the original, and taking that copy would make the original's own continuation a fork.
 */
export async function matchEnrollmentChain(
  store: ControlStore, installationId: string, batch: AuditBatch, linksBack: boolean,
): Promise<EnrollmentChainMatch | undefined> {
  const others = new Set((await store.deviceIdsOfInstallation(installationId)).filter((id) => id !== batch.device_id));
  if (others.size === 0) return undefined;
  const first = batch.records[0]!;
  let held: Extract<EnrollmentChainMatch, { kind: 'held' }> | undefined;
  for (const key of await chainsHolding(store, others, first.hash, batch.first_seq)) {
    const match = await heldBy(store, key, batch);
    // Preferred: a chain holding the batch's records as sent, then the one holding most of them.
    const rank = (m: typeof match) => (m.differsAtSeq === undefined ? batch.last_seq + 1 : m.through);
    if (!held || rank(match) > rank(held)) held = match;
  }
  if (held) return held;
  if (!linksBack || batch.first_seq === 1) return undefined;
  let diverges: EnrollmentChainMatch | undefined;
  for (const key of await chainsHolding(store, others, first.prev_hash, batch.first_seq - 1)) {
    const head = (await store.auditHead(key))!;
    // The chain whose head the batch links to is the history it goes on from, whatever other copies hold.
    if (head.seq === batch.first_seq - 1) return { kind: 'continues', chain: key };
    diverges ??= { kind: 'diverges', chain: key, linkedSeq: batch.first_seq - 1, head };
  }
  return diverges;
}

async function heldBy(store: ControlStore, key: string, batch: AuditBatch): Promise<Extract<EnrollmentChainMatch, { kind: 'held' }>> {
  const head = (await store.auditHead(key))!;
  const through = Math.min(batch.last_seq, head.seq);
  const stored = new Map((await store.auditHashes(key, batch.first_seq, through)).map((r) => [r.seq, r.hash]));
  const differs = batch.records.find((r) => r.seq <= through && stored.get(r.seq) !== r.hash);
  return differs
    ? { kind: 'held', chain: key, through: differs.seq - 1, head, differsAtSeq: differs.seq }
    : { kind: 'held', chain: key, through, head };
}

/**
 * The chains of the `owners` (device ids) holding `hash` at `seq`: by the hash lookup, or, while it is still
 * being built, by asking each of their chains for its record at `seq` (an index seek per chain).
 */
async function chainsHolding(store: ControlStore, owners: ReadonlySet<string>, hash: string, seq: number): Promise<string[]> {
  const indexed = await store.auditRecordsWithHash(hash);
  if (indexed) return indexed.filter((r) => r.seq === seq && owners.has(ownerOf(r.key))).map((r) => r.key);
  const keys: string[] = [];
  for (const owner of owners) {
    for (const chain of await store.auditChains(owner)) if (await store.auditHashAt(chain.key, seq) === hash) keys.push(chain.key);
  }
  return keys;
}

/** The device id a chain key belongs to (auditChainKey: the device id, or "<device>/chain-<id>"). */
export function ownerOf(key: string): string {
  const at = key.indexOf('/chain-');
  return at < 0 ? key : key.slice(0, at);
}
