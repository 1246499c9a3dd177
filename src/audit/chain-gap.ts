import { GENESIS_HASH } from './chain.js';
import { openAuditDatabaseReadOnly, type AuditDatabase } from './database.js';
import { AuditSinkError, type AuditSinkErrorDetails } from './sink.js';

/**
 * Edge Control refused a batch (409 audit_chain_gap) because its copy of the device's chain does not
 * continue with it: its database was restored from a backup, or this device's audit database was
 * replaced. What the server holds decides the way out (planGapRecovery).
 */

/** Where Edge Control's copy of the chain ends (seq 0 and the genesis hash: it holds none of it). */
export interface ServerChainHead {
  seq: number;
  hash: string;
}

/**
 * A 409 audit_chain_gap that says where the server's chain ends, and, when the refused batch overlaps
 * it with other records, the batch's first seq the server does not hold as sent (`differsAtSeq`).
 */
export class AuditChainGapError extends AuditSinkError {
  constructor(message: string, readonly serverHead: ServerChainHead, details: AuditSinkErrorDetails = {}, readonly differsAtSeq?: number) {
    super(message, details);
    this.name = 'AuditChainGapError';
  }
}

export type GapRecovery =
  /** Same chain, the server lacks `fromSeq`–`throughSeq` (acknowledged before its restore): send them again (AuditOutbox.rewindCursor). */
  | { kind: 'resend'; fromSeq: number; throughSeq: number }
  /** Same chain, the server already holds it through `throughSeq`: count those as acknowledged. */
  | { kind: 'acknowledged'; throughSeq: number }
  /**
   * Upload this database's records from `fromSeq` as a new chain (AuditOutbox.startNewChain); `why` for
   * the log. The server holds a different chain for the device; or it holds this one but lost records
   * that were pruned here since (`lost`: gone everywhere, so the new chain starts at the oldest record
   * still stored, and the loss is an error for IT to see).
   */
  | { kind: 'new_chain'; fromSeq: number; why: string; lost?: { fromSeq: number; throughSeq: number } }
  /** Nothing this device can send closes the gap; `message` tells IT what happened and what to do. */
  | { kind: 'stuck'; message: string };

export interface GapFacts {
  deviceId: string;
  serverHead: ServerChainHead;
  /** The last seq this destination's cursor counts as acknowledged (the refused batch starts after it). */
  sentThrough: number;
  /** The batches already carry this database's chain id (the server keeps it as a further chain; AuditOutbox.uploadChain). */
  asNewChain: boolean;
  /**
   * The server holds the refused batch's records after `sentThrough` through this seq exactly as they
   * are here (it named the batch's first record it holds otherwise): the part of a reverted database
   * the server already has.
   */
  heldThrough?: number;
}

/**
 * What the server's `Edge-Audit-Differs-At-Seq` (AuditChainGapError.differsAtSeq) may be trusted for. It
 * counts records as acknowledged, so it is taken only where it can be true: a seq of the batch it answered
 * that the server's chain reaches (first_seq ≤ seq ≤ min(last_seq, its head)). A broken or hostile server
 * naming seq 1, a huge seq, or one past its own head would otherwise make this device skip records it
 * never stored; such a header is ignored (`ignored` says why, for the log) and the 409 handled as a plain
 * conflict. `heldThrough`: the batch's records before it, which the server holds as sent.
 */
export function trustedDiffersAt(
  batch: { first_seq: number; last_seq: number; batch_id: string },
  serverHead: ServerChainHead,
  differsAtSeq: number | undefined,
): { heldThrough?: number; ignored?: string } {
  if (differsAtSeq === undefined) return {};
  const highest = Math.min(batch.last_seq, serverHead.seq);
  if (differsAtSeq >= batch.first_seq && differsAtSeq <= highest) return differsAtSeq > batch.first_seq ? { heldThrough: differsAtSeq - 1 } : {};
  return {
    ignored: `Edge Control named seq ${differsAtSeq} as where audit batch ${batch.batch_id} (seq ${batch.first_seq}–${batch.last_seq}) first differs from its copy, ` +
      `but ${differsAtSeq > serverHead.seq ? `its chain ends at seq ${serverHead.seq}` : 'that seq is not in the batch'}: ignoring the header ` +
      'and handling the refusal as a plain conflict, so no record counts as acknowledged on its word (is a proxy or another server answering for Edge Control?)',
  };
}

/**
 * Compares the server's chain head with this database: the record stored here at the server's last
 * seq must have the hash the server names for the chains to be the same. Reads only.
 */
export function planGapRecovery(db: AuditDatabase, facts: GapFacts): GapRecovery {
  const { deviceId, sentThrough, asNewChain } = facts;
  const prunedThrough = checkpointOf(db).pruned_through_seq;
  const chain = asNewChain ? chainOf(db) : undefined;
  // Edge Control holds nothing of this further chain: as far as the chain goes, it ends before its start.
  const nothingOfChain = chain !== undefined && facts.serverHead.seq === 0 && chain.fromSeq > 1;
  if (nothingOfChain && chain.fromSeq > sentThrough) {
    return {
      kind: 'stuck',
      message: `Edge Control refused the start (seq ${chain.fromSeq}) of audit chain ${chain.chainId} of device ${deviceId}: it takes further chains only from seq 1 (it predates chain_start_seq). ` +
        `Records after seq ${sentThrough} stay queued on this device and uploads are retried with backoff. ` +
        'To fix: upgrade Edge Control.',
    };
  }
  if (chain === undefined && facts.serverHead.seq === 0 && sentThrough > 0) {
    // Edge Control holds nothing of the first chain and refuses it from the middle. Either it never
    // received what came before the cursor (configured on this device after those records were written:
    // a destination added later starts at the head) or it lost all of it (its database restored from a
    // backup older than this device's first upload). This database cannot tell which, and resending the
    // history would count it as unsent at once (up to the whole cap, failing closed: AI stopped), which a
    // destination added later must never do. So the records from the cursor on go as a new chain that
    // declares its start: both sides log what Edge Control does not hold.
    const stored = prunedThrough < sentThrough ? ` (this device still stores seq ${prunedThrough + 1}–${sentThrough}: \`bifrost-edge audit tail\` shows them)` : '';
    return {
      kind: 'new_chain',
      fromSeq: Math.max(sentThrough, prunedThrough) + 1,
      why: `Edge Control holds nothing of device ${deviceId}'s audit chain, so it cannot take it from seq ${sentThrough + 1}: it never received records seq 1–${sentThrough} ` +
        `(it was configured on this device after they were written), or its database was restored from a backup older than this device's first upload and they are lost there${stored}`,
    };
  }
  const { seq, hash } = nothingOfChain ? { seq: chain.fromSeq - 1, hash: hashAt(db, chain.fromSeq - 1) } : facts.serverHead;
  const local = hashAt(db, seq);
  const where = nothingOfChain
    ? `Edge Control holds nothing of audit chain ${chain.chainId} of device ${deviceId}, which starts at seq ${chain.fromSeq}`
    : `Edge Control's audit chain for device ${deviceId}${chain ? ` (chain ${chain.chainId})` : ''} ends at seq ${seq} (hash ${short(facts.serverHead.hash)})`;
  if (local !== undefined && local === hash) {
    if (seq >= sentThrough) return { kind: 'acknowledged', throughSeq: seq };
    if (prunedThrough <= seq) return { kind: 'resend', fromSeq: seq + 1, throughSeq: sentThrough };
  }
  if (local === hash || (local === undefined && seq > 0 && seq < prunedThrough)) {
    // Same chain (or one this device can no longer compare), the server behind the cursor, and what it
    // lacks through prunedThrough is gone here too: no later upload can fill that gap. Waiting for a
    // later backup of Edge Control would leave the queue filling (and, failing closed, AI stopped) on
    // every device at once, so the gap is made visible and the rest goes as a new chain from the oldest
    // record still stored: the server keeps it beside, never over, the chain it holds.
    return {
      kind: 'new_chain',
      fromSeq: prunedThrough + 1,
      lost: { fromSeq: seq + 1, throughSeq: prunedThrough },
      why: `${where}, but this device had uploaded its records through seq ${sentThrough} and has since pruned them through seq ${prunedThrough}: ` +
        `Edge Control's database was restored from a backup older than what this device had already uploaded, so audit records seq ${seq + 1}–${prunedThrough} are lost ` +
        '(neither this device nor Edge Control holds them; only a later backup of Edge Control\'s database might)',
    };
  }
  // A different chain at the server: what it acknowledged of this database stays where it is, the rest
  // goes as a new chain with a fresh id, never counted as unsent again. Also when the server's copy of
  // this database's own new chain differs: the file was reverted to an earlier copy of itself (a VM
  // snapshot, the same backup restored again, power loss under synchronous=NORMAL losing its newest
  // commits), whose chain id the server already holds. What the server holds of the refused batch as
  // it is here (a reverted copy shares the records before the revert) counts as acknowledged: the new
  // chain starts after it, so nothing is stored twice.
  const found = local === undefined ? `this device's audit database ends before seq ${seq}` : `this device's record at seq ${seq} has hash ${short(local)}`;
  const heldThrough = facts.heldThrough !== undefined && facts.heldThrough > sentThrough ? facts.heldThrough : undefined;
  const held = heldThrough === undefined ? ''
    : ` Edge Control holds seq ${sentThrough + 1}–${heldThrough} as they are here (counted as acknowledged) and other records from seq ${heldThrough + 1} on.`;
  return {
    kind: 'new_chain',
    fromSeq: Math.max(sentThrough, prunedThrough, heldThrough ?? 0) + 1,
    why: `${where}, but ${found}: ${asNewChain
      ? 'this audit database was reverted to an earlier copy of itself (a VM snapshot, the same backup restored again, or power loss that lost its newest commits) after its chain went to Edge Control'
      : 'Edge Control holds a different chain for this device (this audit database was replaced, or reverted to an earlier copy of itself: a VM snapshot, a restored backup, or power loss that lost its newest commits)'}.${held} ` +
      'Both copies are kept; to investigate, run `bifrost-edge audit verify` on the device and compare its records with the ones Edge Control holds for it',
  };
}

/** Runs `use` on a read-only connection to the outbox file (the outbox keeps its own; WAL lets both read). */
export async function withReadOnlyAuditDatabase<T>(dbPath: string, use: (db: AuditDatabase) => T | Promise<T>): Promise<T> {
  const db = openAuditDatabaseReadOnly(dbPath);
  try {
    return await use(db);
  } finally {
    db.close();
  }
}

function hashAt(db: AuditDatabase, seq: number): string | undefined {
  if (seq === 0) return GENESIS_HASH;
  const checkpoint = checkpointOf(db);
  if (seq === checkpoint.pruned_through_seq) return checkpoint.pruned_head_hash;
  return (db.prepare('SELECT hash FROM audit_records WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash;
}

function checkpointOf(db: AuditDatabase): { pruned_through_seq: number; pruned_head_hash: string } {
  return db.prepare('SELECT pruned_through_seq, pruned_head_hash FROM chain_checkpoint WHERE id = 1').get() as { pruned_through_seq: number; pruned_head_hash: string };
}

/** The further chain this database's batches carry (AuditOutbox.uploadChain), as stored. */
function chainOf(db: AuditDatabase): { chainId: string; fromSeq: number } {
  const row = db.prepare('SELECT chain_id, new_chain_from_seq FROM chain_identity WHERE id = 1').get() as { chain_id: string; new_chain_from_seq: number | null };
  return { chainId: row.chain_id, fromSeq: row.new_chain_from_seq ?? 1 };
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}
