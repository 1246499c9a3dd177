import { AuditRecordSchema } from '../control/protocol/audit.js';
import { canonicalJson } from '../util/canonical-json.js';
import { chainHash, GENESIS_HASH } from './chain.js';
import { isDamagedDatabaseError, openAuditDatabaseReadOnly, type AuditDatabase } from './database.js';

export type ChainProblemKind =
  /** A seq is missing: rows were deleted (or never written) between two stored records. */
  | 'seq_gap'
  /** prev_hash does not equal the previous record's hash: rows were reordered, replaced or removed. */
  | 'broken_link'
  /** hash is not SHA-256(prev_hash ‖ canonicalJson(record)): the record (or its hash) was altered. */
  | 'hash_mismatch'
  /** The stored record is not valid JSON or not a valid audit record. */
  | 'invalid_record'
  /** The prune checkpoint is malformed, or claims records were pruned that were never acknowledged. */
  | 'bad_checkpoint'
  /** A destination acknowledged records that are no longer on disk, or with a different hash. */
  | 'acknowledged_record_missing'
  | 'acknowledged_hash_mismatch';

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The first bad record's seq (for checkpoint problems, the checkpoint's seq). */
  seq: number;
  request_id?: string;
  message: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Records checked and found good before the first problem (all of them when ok). */
  checkedRecords: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The last good link: where a verified chain ends. */
  head: { seq: number; hash: string };
  prunedThroughSeq: number;
  problem?: ChainProblem;
}

const HEX64 = /^[0-9a-f]{64}$/;

interface Row {
  seq: number;
  record_json: string;
  prev_hash: string;
  hash: string;
}

/**
 * Walks the whole stored chain from the prune checkpoint to the last record and stops at the first
 * record that does not follow: a missing seq, a prev_hash that does not match its predecessor, a hash
 * that does not match its content. Then checks that what destinations acknowledged is still there
 * unchanged (which catches deleting the newest records, invisible to the chain alone).
 */
export function verifyAuditChain(db: AuditDatabase): ChainVerification {
  // One read transaction: a running agent may prune between the checkpoint read and the row scan,
  // and a gap between two snapshots would read as tampering. The snapshot is taken at the first read.
  return db.transaction(() => verifyOneSnapshot(db))();
}

function verifyOneSnapshot(db: AuditDatabase): ChainVerification {
  const checkpoint = db.prepare('SELECT pruned_through_seq, pruned_head_hash FROM chain_checkpoint WHERE id = 1').get() as
    { pruned_through_seq: number; pruned_head_hash: string } | undefined;
  const cursors = db.prepare('SELECT destination, sent_through_seq, sent_head_hash FROM ship_cursors ORDER BY destination').all() as
    { destination: string; sent_through_seq: number; sent_head_hash: string }[];

  const result: ChainVerification = {
    ok: true,
    checkedRecords: 0,
    firstSeq: null,
    lastSeq: null,
    head: { seq: checkpoint?.pruned_through_seq ?? 0, hash: checkpoint?.pruned_head_hash ?? GENESIS_HASH },
    prunedThroughSeq: checkpoint?.pruned_through_seq ?? 0,
  };
  const fail = (problem: ChainProblem): ChainVerification => ({ ...result, ok: false, problem });

  const checkpointProblem = checkCheckpoint(checkpoint, cursors);
  if (checkpointProblem) return fail(checkpointProblem);

  // Destinations' acknowledged watermarks that should still be on disk, by seq.
  const acknowledged = new Map<number, typeof cursors>();
  for (const c of cursors) {
    if (c.sent_through_seq > result.prunedThroughSeq) acknowledged.set(c.sent_through_seq, [...(acknowledged.get(c.sent_through_seq) ?? []), c]);
  }
  const seenAcknowledged = new Set<number>();
  let previous = result.head;
  for (const row of db.prepare('SELECT seq, record_json, prev_hash, hash FROM audit_records ORDER BY seq').iterate() as IterableIterator<Row>) {
    const problem = checkRow(row, previous);
    if (problem) return fail(problem);
    const ackedHere = acknowledged.get(row.seq) ?? [];
    const mismatch = ackedHere.find((c) => c.sent_head_hash !== row.hash);
    if (mismatch) {
      return fail({
        kind: 'acknowledged_hash_mismatch', seq: row.seq, request_id: requestIdOf(row.record_json),
        message: `record ${row.seq}: "${mismatch.destination}" acknowledged it with hash ${short(mismatch.sent_head_hash)} but it is now ${short(row.hash)}; the record was rewritten after it was shipped`,
      });
    }
    if (ackedHere.length > 0) seenAcknowledged.add(row.seq);
    previous = { seq: row.seq, hash: row.hash };
    result.checkedRecords += 1;
    result.firstSeq ??= row.seq;
    result.lastSeq = row.seq;
    result.head = previous;
  }

  for (const [seq, ackedHere] of acknowledged) {
    if (seenAcknowledged.has(seq)) continue;
    return fail({
      kind: 'acknowledged_record_missing', seq,
      message: `record ${seq} was acknowledged by "${ackedHere[0]!.destination}" but the database ends at seq ${result.head.seq}: records ${result.head.seq + 1}..${seq} were deleted`,
    });
  }
  return result;
}

function checkCheckpoint(
  checkpoint: { pruned_through_seq: number; pruned_head_hash: string } | undefined,
  cursors: { destination: string; sent_through_seq: number }[],
): ChainProblem | undefined {
  if (!checkpoint) return { kind: 'bad_checkpoint', seq: 0, message: 'the chain checkpoint row is missing; the database was edited by hand' };
  const { pruned_through_seq: seq, pruned_head_hash: hash } = checkpoint;
  if (!Number.isInteger(seq) || seq < 0 || !HEX64.test(hash) || (seq === 0 && hash !== GENESIS_HASH)) {
    return { kind: 'bad_checkpoint', seq, message: `the chain checkpoint (seq ${seq}, hash ${short(hash)}) is malformed; the database was edited by hand` };
  }
  const behind = cursors.find((c) => c.sent_through_seq < seq);
  if (behind) {
    return {
      kind: 'bad_checkpoint', seq,
      message: `records through seq ${seq} were pruned but "${behind.destination}" only acknowledged through seq ${behind.sent_through_seq}: unsent records were deleted`,
    };
  }
  return undefined;
}

function checkRow(row: Row, previous: { seq: number; hash: string }): ChainProblem | undefined {
  const request_id = requestIdOf(row.record_json);
  const at = `record ${row.seq}${request_id ? ` (request ${request_id})` : ''}`;
  if (row.seq !== previous.seq + 1) {
    const missing = row.seq > previous.seq + 1 ? `records ${previous.seq + 1}..${row.seq - 1} are missing` : `seq does not increase after ${previous.seq}`;
    return { kind: 'seq_gap', seq: row.seq, request_id, message: `${at}: gap in seq — ${missing}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.record_json);
  } catch {
    return { kind: 'invalid_record', seq: row.seq, request_id, message: `${at}: stored record is not valid JSON` };
  }
  const valid = AuditRecordSchema.safeParse(parsed);
  if (!valid.success) {
    const issue = valid.error.issues[0];
    return { kind: 'invalid_record', seq: row.seq, request_id, message: `${at}: stored record is not a valid audit record (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})` };
  }
  if (row.prev_hash !== previous.hash) {
    return {
      kind: 'broken_link', seq: row.seq, request_id,
      message: `${at}: broken link — prev_hash ${short(row.prev_hash)} is not the hash of record ${previous.seq} (${short(previous.hash)}); records were reordered, replaced or removed`,
    };
  }
  const expected = chainHash(row.prev_hash, canonicalJson(parsed));
  if (row.hash !== expected) {
    return {
      kind: 'hash_mismatch', seq: row.seq, request_id,
      message: `${at}: hash mismatch — stored ${short(row.hash)}, computed ${short(expected)}; the record was altered after it was written`,
    };
  }
  return undefined;
}

/** Best effort: names the request even when the record is otherwise damaged. */
function requestIdOf(recordJson: string): string | undefined {
  try {
    const value = (JSON.parse(recordJson) as { request_id?: unknown }).request_id;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function short(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 12)}…` : hash;
}

export interface AuditCommandResult {
  /** 0 chain intact, 1 chain broken, 2 database unreadable. */
  exitCode: number;
  stdout: string;
}

/** `bifrost-edge audit verify [--json]`: checks the chain in `dbPath` and names the first bad record. */
export function runAuditVerifyCommand(options: { dbPath: string; json?: boolean }): AuditCommandResult {
  let db: AuditDatabase;
  try {
    db = openAuditDatabaseReadOnly(options.dbPath);
  } catch (error) {
    return unreadable(error instanceof Error ? error.message : String(error), options.json);
  }
  let verification: ChainVerification;
  try {
    verification = verifyAuditChain(db);
  } catch (error) {
    // A read that fails mid-scan says nothing about tampering: exit 1 would tell a SIEM the chain is broken.
    return unreadable(describeScanFailure(options.dbPath, error), options.json);
  } finally {
    db.close();
  }
  const exitCode = verification.ok ? 0 : 1;
  if (options.json) return { exitCode, stdout: `${JSON.stringify({ db: options.dbPath, ...verification })}\n` };
  return { exitCode, stdout: describeVerification(verification) };
}

function unreadable(message: string, json: boolean | undefined): AuditCommandResult {
  return { exitCode: 2, stdout: json ? `${JSON.stringify({ ok: false, error: message })}\n` : `audit verify: ${message}\n` };
}

function describeScanFailure(dbPath: string, error: unknown): string {
  const cause = `could not read ${dbPath} to the end (${error instanceof Error ? error.message : String(error)})`;
  if (isDamagedDatabaseError(error)) {
    return `${cause}: the file is damaged (a disk fault or a partial restore), so its chain cannot be checked. ` +
      'Keep a copy for investigation; records already uploaded to Edge Control are safe there.';
  }
  return `${cause}; check that the file is readable by this user and run audit verify again.`;
}

function describeVerification(v: ChainVerification): string {
  const range = v.firstSeq === null ? 'no records stored' : `${v.checkedRecords} records, seq ${v.firstSeq}..${v.lastSeq}`;
  const pruned = v.prunedThroughSeq > 0 ? `, records through seq ${v.prunedThroughSeq} pruned after shipping` : '';
  if (v.ok) return `audit chain OK: ${range}${pruned}; head ${v.head.hash}\n`;
  const problem = v.problem!;
  return [
    `audit chain BROKEN: ${problem.message}`,
    `  first bad record: seq ${problem.seq}${problem.request_id ? `, request ${problem.request_id}` : ''} (${problem.kind})`,
    `  verified before it: ${range}${pruned}`,
    '  The database was modified outside Edge. Keep a copy for investigation; the server holds the shipped copy.',
    '',
  ].join('\n');
}
