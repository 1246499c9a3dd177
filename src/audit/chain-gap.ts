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

/** A 409 audit_chain_gap that says where the server's chain ends. */
export class AuditChainGapError extends AuditSinkError {
  constructor(message: string, readonly serverHead: ServerChainHead, details: AuditSinkErrorDetails = {}) {
    super(message, details);
    this.name = 'AuditChainGapError';
  }
}

export type GapRecovery =
  /** Same chain, the server lacks `fromSeq`–`throughSeq` (acknowledged before its restore): send them again (AuditOutbox.rewindCursor). */
  | { kind: 'resend'; fromSeq: number; throughSeq: number }
  /** Same chain, the server already holds it through `throughSeq`: count those as acknowledged. */
  | { kind: 'acknowledged'; throughSeq: number }
  /** The server holds a different chain for the device: upload this database's from `fromSeq` as a new chain (AuditOutbox.startNewChain). */
  | { kind: 'new_chain'; fromSeq: number }
  /** Nothing this device can send closes the gap; `message` tells IT what happened and what to do. */
  | { kind: 'stuck'; message: string };

export interface GapFacts {
  deviceId: string;
  serverHead: ServerChainHead;
  /** The last seq this destination's cursor counts as acknowledged (the refused batch starts after it). */
  sentThrough: number;
  /** The batches already carry this database's chain id (the server keeps it as a further chain; AuditOutbox.uploadChain). */
  asNewChain: boolean;
}

/**
 * Compares the server's chain head with this database: the record stored here at the server's last
 * seq must have the hash the server names for the chains to be the same. Reads only.
 */
export function planGapRecovery(db: AuditDatabase, facts: GapFacts): GapRecovery {
  const { deviceId, serverHead, sentThrough, asNewChain } = facts;
  const { seq, hash } = serverHead;
  const prunedThrough = checkpointOf(db).pruned_through_seq;
  const local = hashAt(db, seq);
  const where = `Edge Control's audit chain for device ${deviceId}${asNewChain ? ` (chain ${chainIdOf(db)})` : ''} ends at seq ${seq} (hash ${short(hash)})`;
  const queued = `Records after seq ${sentThrough} stay queued on this device and uploads are retried with backoff`;
  const restoreAdvice = `To fix: restore Edge Control's database from a later backup that holds this device's records through seq ${sentThrough}`;
  if (local === hash) {
    if (seq >= sentThrough) return { kind: 'acknowledged', throughSeq: seq };
    if (prunedThrough <= seq) return { kind: 'resend', fromSeq: seq + 1, throughSeq: sentThrough };
  }
  if (local === hash || (local === undefined && seq > 0 && seq < prunedThrough)) {
    // Same chain, or one this device can no longer compare: either way what the server lacks is gone here.
    return {
      kind: 'stuck',
      message: `${where}, but this device counts its records through seq ${sentThrough} as acknowledged (Edge Control's database was probably restored from a backup) ` +
        `and has pruned its records through seq ${prunedThrough}, so it cannot resend seq ${seq + 1}–${prunedThrough}. ${queued}. ` +
        `${restoreAdvice}; records pruned here are not kept anywhere else.`,
    };
  }
  if (!asNewChain && prunedThrough === 0) return { kind: 'new_chain', fromSeq: 1 };
  const found = local === undefined ? `this device's audit database ends before seq ${seq}` : `this device's record at seq ${seq} has hash ${short(local)}`;
  const why = asNewChain
    ? 'Edge Control\'s copy of this device\'s new chain differs from the records stored here'
    : `Edge Control holds a different chain for this device (its audit database was replaced), and this database cannot be uploaded as a new chain because it no longer holds its records from seq 1 (pruned through seq ${prunedThrough})`;
  return {
    kind: 'stuck',
    message: `${where}, but ${found}: ${why}. ${queued}. ` +
      'To fix: run `bifrost-edge audit verify` on the device and compare its records with the ones Edge Control holds for it; do not delete either copy, they are evidence.',
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

function chainIdOf(db: AuditDatabase): string {
  return (db.prepare('SELECT chain_id FROM chain_identity WHERE id = 1').get() as { chain_id: string }).chain_id;
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}
