import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AuditRecordSchema, type AuditRecord, type AuditRecordInput, type ChainedAuditRecord } from '../control/protocol/audit.js';
import type { Logger } from '../log.js';
import { chainHash, GENESIS_HASH, recordJson } from './chain.js';
import { exceedsCap, fillRatio, nextLevel, pruneNeeded, rowBytes, type CapacityLimits, type Usage } from './capacity.js';
import { openAuditDatabase, type AuditDatabase } from './database.js';
import { AuditOutboxClosedError, AuditQueueFullError, AuditRecordInvalidError, AuditRecordTooLargeError, type AuditQueueStatus } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { CONTROL_DESTINATION, describeAuditDestination, primaryDestination } from './destination-names.js';
import type { RecordFieldGate } from './record-fields.js';
import type { Transaction } from 'better-sqlite3';
import { WalCheckpointer } from './wal-checkpointer.js';

export { CONTROL_DESTINATION } from './destination-names.js';

export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/**
 * What a commit writes beyond its records' bytes: the b-tree pages they land on (a page split writes
 * three), the header page. The probe writes this much more than the group that failed, so that it
 * never succeeds where the group would fail again (reporting writable, then unwritable, each probe).
 */
const WRITE_PROBE_MARGIN_BYTES = 4 * 4096;
/** Upper bound on one shipment's record text, keeping upload bodies well under common 8-16 MiB limits. */
export const DEFAULT_SHIPMENT_BYTES = 4 * 1024 * 1024;

export interface AuditOutboxOptions {
  /** SQLite file, normally `<dataDir>/audit.db`. Created with its directory if missing. */
  path: string;
  /** NORMAL (default) survives process crashes; FULL also survives power loss at one fsync per group. */
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
  /** Cap on stored bytes (record text + per-row overhead). Default 256 MiB; null for none. */
  maxBytes?: number | null;
  /** Cap on stored rows. Default none. */
  maxRecords?: number | null;
  /** Fraction of the cap filled by unsent records that raises `queue_near_cap`. Default 0.8. */
  nearCapRatio?: number;
  /**
   * Who records are shipped to (one ship cursor each). Default ['control']. The primary (Edge Control
   * when listed, else the first; see primaryDestination) must acknowledge a record before it counts as
   * sent: its unacknowledged records count against the cap and are never pruned. The others are copies:
   * the records only they still wait for are pruned when the cap needs the space (their cursors move
   * past them; `destination_records_lost` and a log line say how many). With none, every record counts
   * as sent: a rolling local log. The cursor of a
   * destination known from an earlier run but not listed now is kept, unused: it does not hold back
   * appends (a disabled exporter must not pin the queue), the records it has not acknowledged are
   * pruned only when the cap needs their space (then its cursor moves past them, and the loss is
   * logged once), and listed again it continues where its receiver's chain ends, its unacknowledged
   * shipment included. Unless records it had not acknowledged were pruned meanwhile and it is the
   * primary: then it starts at the head, like a destination added later (the records written meanwhile
   * would fill the queue at once), and Edge Control, which cannot continue its copy across the missing
   * records, receives the records from there on as a new chain (startNewChain).
   */
  destinations?: readonly string[];
  /**
   * After a commit failed (a full disk), how often a write as large as the failed one checks whether
   * the database can be written again, so the condition clears without new records (failing closed,
   * none come). Default 5 s.
   */
  writeProbeMs?: number;
  /** Largest number of records in one transaction. Default 512. */
  maxGroupSize?: number;
  /**
   * Checkpoint the WAL from a worker thread instead of inside commits (see WalCheckpointer). The
   * agent's trail turns it on; default off, so tools and tests do not start a thread per outbox.
   */
  offThreadCheckpoints?: boolean;
  /**
   * Newer optional record fields are written only when this says the receiver announced them (see
   * record-fields.ts); without it, records are kept whole (an outbox no Edge Control reads).
   */
  recordFields?: RecordFieldGate;
  log?: Logger;
}

export interface ChainHead {
  /** 0 before the first record. */
  seq: number;
  hash: string;
}

/**
 * How Edge Control keeps this database's records when not as the device's first chain: as the further
 * chain `chainId` (it held a different one for the device), whose copy starts at `fromSeq`.
 */
export interface UploadChain {
  chainId: string;
  fromSeq: number;
}

export interface CommittedAuditRecord {
  seq: number;
  hash: string;
  request_id: string;
}

export interface AuditOutboxEvents {
  /** After every group commit, with the new head; the shipper listens to wake up. */
  committed: [head: ChainHead, records: number];
  /** Unsent records crossed `nearCapRatio` of the cap: warn the user (tray) before appends are refused. */
  queue_near_cap: [status: AuditQueueStatus];
  /** An append was refused with AuditQueueFullError (emitted once per episode). */
  queue_full: [status: AuditQueueStatus];
  /** The queue drained back below the warning threshold. */
  queue_ok: [status: AuditQueueStatus];
  /** A group containing fire-and-forget `append()`s failed to commit: those records are lost. */
  commit_failed: [error: unknown, requestIds: string[]];
  /** A commit failed: nothing can be recorded until the database can be written again (emitted once per episode). */
  queue_unwritable: [reason: string, status: AuditQueueStatus];
  /** A commit (or the write probe) succeeded again after queue_unwritable. */
  queue_writable: [status: AuditQueueStatus];
  /** Pruning (the cap) took records a secondary destination had not acknowledged: they never reach it. */
  destination_records_lost: [loss: DestinationLoss];
}

/** Records a configured secondary destination will never receive: pruned before it acknowledged them. */
export interface DestinationLoss {
  destination: string;
  records: number;
  firstSeq: number;
  lastSeq: number;
}

interface PendingRecord {
  json: string;
  bytes: number;
  requestId: string;
}

/** What one group commit wrote: its records' places in the chain, the new head, what pruning freed. */
interface AppendResult {
  committed: CommittedAuditRecord[];
  head: ChainHead;
  pruned: Usage;
  /** The checkpoint after this commit's pruning (unchanged when nothing was pruned). */
  prunedThroughSeq: number;
  /** Unconfigured destinations' cursors moved past records pruned before they acknowledged them. */
  lost: LostRecords[];
  /** Secondary destinations' cursors moved past records pruned before they acknowledged them. */
  overtaken: DestinationLoss[];
}

/** Records of `destination` (kept, but not configured in this run) pruned before it acknowledged them. */
interface LostRecords {
  destination: string;
  /** The first record it lost since it was last configured (earlier prunes included). */
  firstSeq: number;
  /** The new checkpoint, where its cursor now stands. */
  lastSeq: number;
  /** No earlier prune had taken records from it: the loss has not been reported yet. */
  firstLoss: boolean;
}

/** The cursor of a destination known from an earlier run but not configured in this one. */
interface UnconfiguredCursor {
  sentThroughSeq: number;
  /** The first record pruned before it acknowledged it (the range ends at sentThroughSeq); null when none. */
  lostFromSeq: number | null;
}

interface CursorState {
  sentThroughSeq: number;
}

interface RecordRow {
  seq: number;
  record_json: string;
  prev_hash: string;
  hash: string;
  bytes: number;
}

interface CursorRow {
  destination: string;
  sent_through_seq: number;
  sent_head_hash: string;
  inflight_first_seq: number | null;
  inflight_last_seq: number | null;
}

/**
 * The local audit outbox: every decision becomes a hash-chained row in SQLite before the request it
 * describes is answered, and stays until the primary destination (Edge Control) acknowledged it and
 * space is needed.
 *
 * - Chain: record n has prev_hash = hash of record n-1 (64 zeros for n = 1) and
 *   hash = SHA-256(prev_hash ‖ canonicalJson(record)); see chain.ts.
 * - Group commit: appends made in the same event-loop turn share one transaction (WAL), so
 *   `appendDurable()` costs one commit per burst, not per request.
 * - Bounded disk: when the cap is reached, the oldest *sent* records are pruned (a checkpoint keeps
 *   the hash of the last pruned record so the rest still verifies). Unsent records are never pruned:
 *   at 80% the outbox emits `queue_near_cap`; at the cap `append` throws AuditQueueFullError
 *   (`code: 'audit_queue_full'`) and the agent decides whether that request fails open or closed.
 *
 * One process should own a file at a time; should a second writer appear, every transaction re-reads
 * the head, so the chain stays intact (only the capacity counters drift).
 */
export class AuditOutbox extends EventEmitter<AuditOutboxEvents> {
  readonly path: string;
  private readonly db: AuditDatabase;
  private readonly limits: CapacityLimits;
  private readonly log?: Logger;
  private readonly recordFields?: RecordFieldGate;
  private readonly queue: GroupCommit<PendingRecord, CommittedAuditRecord>;
  /** The destinations configured in this run: the shipment and accounting cursors. */
  private readonly cursors = new Map<string, CursorState>();
  /** The configured destination whose unacknowledged records count against the cap; none for a rolling log. */
  private readonly primary: string | undefined;
  /**
   * The cursors of destinations known from earlier runs but not configured now. Kept on disk; pruning
   * moves one past the records it deletes, so that no cursor claims a position behind the checkpoint.
   */
  private readonly unconfigured = new Map<string, UnconfiguredCursor>();
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly checkpointer: WalCheckpointer | undefined;
  /** Built once: better-sqlite3 makes a new wrapper per db.transaction() call, a cost paid per commit. */
  private readonly appendTransaction: Transaction<(items: PendingRecord[], added: Usage) => AppendResult>;

  private lastHead: ChainHead;
  /** Persisted in chain_identity, so batches keep carrying it after a restart. */
  private newChain: UploadChain | undefined;
  private prunedThroughSeq: number;
  private stored: Usage;
  private unsent: Usage;
  private queued: Usage = { rows: 0, bytes: 0 };
  private level: AuditQueueStatus['level'] = 'ok';
  /** Why the last commit failed, until one succeeds; see AuditQueueStatus.unwritable. */
  private writeProblem: string | null = null;
  private writeProbe: NodeJS.Timeout | undefined;
  /** The largest group that failed to commit in this episode: what the probe must be able to write. */
  private failedWriteBytes = 0;
  private readonly writeProbeMs: number;
  private closed = false;

  constructor(options: AuditOutboxOptions) {
    super();
    this.path = options.path;
    this.log = options.log;
    this.recordFields = options.recordFields;
    this.writeProbeMs = options.writeProbeMs ?? 5_000;
    this.limits = {
      maxBytes: options.maxBytes === undefined ? DEFAULT_MAX_BYTES : options.maxBytes,
      maxRecords: options.maxRecords ?? null,
      nearCapRatio: options.nearCapRatio ?? 0.8,
    };
    for (const cap of [this.limits.maxBytes, this.limits.maxRecords]) {
      if (cap !== null && (!Number.isInteger(cap) || cap <= 0)) throw new RangeError(`audit queue cap must be a positive integer, got ${cap}`);
    }
    this.db = openAuditDatabase(options.path, { synchronous: options.synchronous, busyTimeoutMs: options.busyTimeoutMs });
    try {
      this.sql = prepareStatements(this.db);
      if (options.offThreadCheckpoints) this.checkpointer = new WalCheckpointer({ dbPath: options.path, db: this.db, ...(options.log ? { log: options.log } : {}) });
      this.appendTransaction = this.db.transaction((items: PendingRecord[], added: Usage) => this.appendChained(items, added));
      const destinations = options.destinations ?? [CONTROL_DESTINATION];
      this.primary = primaryDestination(destinations);
      const returnedAfterLoss = this.syncCursors(destinations);
      this.lastHead = this.readHead();
      this.newChain = this.readNewChain();
      this.prunedThroughSeq = this.sql.checkpoint.get()!.pruned_through_seq;
      this.stored = this.usageAfter(this.prunedThroughSeq);
      this.unsent = this.usageAfter(this.primarySentSeq());
      if (returnedAfterLoss) this.resumePrimaryAtHead(returnedAfterLoss);
    } catch (err) {
      // A database that opens but cannot be read (a damaged or altered table) must not stay open: the
      // caller reports the error and may go on (the tray keeps running; a test or a tool opens it again).
      this.checkpointer?.stop();
      this.db.close();
      throw err;
    }
    this.publishLevelAtStart();
    this.queue = new GroupCommit(
      (items) => this.commitGroup(items),
      (error, items) => this.reportLostAppends(error, items),
      options.maxGroupSize ?? 512,
    );
  }

  /**
   * Queues a record for the next group commit and returns without waiting. Throws
   * AuditRecordInvalidError, AuditRecordTooLargeError or AuditQueueFullError synchronously (nothing
   * queued). A failure to commit is reported through the `commit_failed` event. Use for records nobody
   * is waiting to answer on.
   */
  append(input: AuditRecordInput): void {
    this.queue.add(this.admit(input));
  }

  /**
   * Queues a record and resolves once its transaction has committed — await this before answering the
   * request the record describes. Rejects with AuditRecordInvalidError / AuditRecordTooLargeError /
   * AuditQueueFullError when the record is refused, or with the SQLite error when the commit fails.
   */
  appendDurable(input: AuditRecordInput): Promise<CommittedAuditRecord> {
    let pending: PendingRecord;
    try {
      pending = this.admit(input);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.queue.add(pending, { resolve, reject }));
  }

  /** Commits everything queued so far; resolves when it is on disk (per the synchronous setting). */
  flush(): Promise<void> {
    const errors = this.queue.flushNow();
    return errors.length > 0 ? Promise.reject(errors[0]) : Promise.resolve();
  }

  /** Records not yet acknowledged by `destination` (or by every destination when omitted). */
  depth(destination?: string): number {
    const sent = destination === undefined ? this.minSentSeq() : this.cursor(destination).sentThroughSeq;
    return this.lastHead.seq - sent;
  }

  /** The last committed record's seq and hash (seq 0 and the genesis hash before the first). */
  head(): ChainHead {
    return { ...this.lastHead };
  }

  status(): AuditQueueStatus {
    return {
      destination: this.primary ?? null,
      unsentRecords: this.unsent.rows,
      unsentBytes: this.unsent.bytes,
      storedRecords: this.stored.rows,
      storedBytes: this.stored.bytes,
      maxRecords: this.limits.maxRecords,
      maxBytes: this.limits.maxBytes,
      fillRatio: fillRatio(this.unsent, this.limits),
      level: this.level,
      unwritable: this.writeProblem,
    };
  }

  destinations(): string[] {
    return [...this.cursors.keys()];
  }

  /** Up to `limit` records `destination` has not acknowledged, in seq order. */
  pending(limit: number, destination: string = CONTROL_DESTINATION): ChainedAuditRecord[] {
    const cursor = this.cursor(destination);
    return this.sql.recordsAfter.all(cursor.sentThroughSeq, limit).map(toChained);
  }

  /**
   * The next shipment for `destination`: if one was started and never acknowledged (the process died
   * mid-upload), exactly that range again, so the resend carries the same batch id and the server
   * recognises the duplicate; otherwise the next `limit` pending records, whose range is persisted
   * before they are returned. A shipment never mixes device ids and stays under `maxBytes` of record
   * text (at least one record), so a request body stays within what servers accept. Empty when nothing
   * is pending.
   */
  nextShipment(limit: number, destination: string = CONTROL_DESTINATION, maxBytes = DEFAULT_SHIPMENT_BYTES): ChainedAuditRecord[] {
    const cursor = this.cursor(destination);
    return this.db.transaction(() => {
      const row = this.sql.cursorRow.get(destination)!;
      if (row.inflight_first_seq !== null && row.inflight_last_seq !== null && row.inflight_first_seq === cursor.sentThroughSeq + 1) {
        const records = this.sql.recordRange.all(row.inflight_first_seq, row.inflight_last_seq).map(toChained);
        if (records.length === row.inflight_last_seq - row.inflight_first_seq + 1) return records;
        this.log?.warn('audit shipment range is no longer complete on disk; starting a new one', { destination, first: row.inflight_first_seq, last: row.inflight_last_seq });
      }
      const records = this.readShipment(cursor.sentThroughSeq, limit, maxBytes);
      if (records.length === 0) {
        this.sql.setInflight.run(null, null, destination);
        return records;
      }
      this.sql.setInflight.run(records[0]!.seq, records[records.length - 1]!.seq, destination);
      return records;
    }).immediate();
  }

  /**
   * Forgets the shipment range saved for `destination`, so the next one is built afresh. Only for a
   * shipment the receiver is known not to have stored (it refused it as too large): a range it may
   * have stored must be resent exactly, under the same batch id.
   */
  abandonShipment(destination: string = CONTROL_DESTINATION): void {
    this.cursor(destination);
    this.sql.setInflight.run(null, null, destination);
  }

  /**
   * `destination` acknowledged every record up to and including `upToSeq`. Idempotent: older
   * watermarks are ignored. The primary destination's acknowledgement frees records for pruning.
   */
  markSent(upToSeq: number, destination: string = CONTROL_DESTINATION): void {
    const cursor = this.cursor(destination);
    if (upToSeq <= cursor.sentThroughSeq) return;
    if (upToSeq > this.lastHead.seq) {
      throw new RangeError(`cannot mark seq ${upToSeq} sent to ${destination}: the outbox head is ${this.lastHead.seq}`);
    }
    const before = cursor.sentThroughSeq;
    this.db.transaction(() => {
      const row = this.sql.hashAt.get(upToSeq);
      if (!row) throw new RangeError(`cannot mark seq ${upToSeq} sent to ${destination}: no such record in the outbox`);
      this.sql.markSent.run({ seq: upToSeq, hash: row.hash, destination });
    }).immediate();
    cursor.sentThroughSeq = upToSeq;
    if (destination === this.primary) {
      const delivered = this.sql.usageRange.get(before, upToSeq)!;
      this.unsent = { rows: this.unsent.rows - delivered.rows, bytes: this.unsent.bytes - delivered.bytes };
      this.updateLevel();
    }
  }

  /**
   * `destination` no longer holds the records after `toSeq` that it had acknowledged (Edge Control's
   * database restored from a backup): they count as unacknowledged again, so the next shipments send
   * them again (new ranges, so new batch ids, which the restored receiver does not know), and for the
   * primary destination they are held against pruning and count against the cap, like any record it has
   * not acknowledged, until it acknowledges them again. The saved shipment range is forgotten (the
   * receiver refused it). One transaction: after a crash the cursor is either where it was (the next
   * upload meets the same gap and rewinds again) or here. Throws, changing nothing, when records after
   * `toSeq` were already pruned (they cannot be sent again). A cursor at or before `toSeq` stays.
   */
  rewindCursor(toSeq: number, destination: string = CONTROL_DESTINATION): void {
    const cursor = this.cursor(destination);
    if (!Number.isInteger(toSeq) || toSeq < 0) throw new RangeError(`cannot move ${destination}'s audit cursor back to seq ${toSeq}: not a record position`);
    if (toSeq >= cursor.sentThroughSeq) return;
    const before = cursor.sentThroughSeq;
    this.db.transaction(() => {
      const checkpoint = this.sql.checkpoint.get()!;
      if (toSeq < checkpoint.pruned_through_seq) {
        throw new RangeError(`cannot move ${destination}'s audit cursor back to seq ${toSeq}: this device pruned its records through seq ${checkpoint.pruned_through_seq}, so they cannot be sent again`);
      }
      const hash = toSeq === checkpoint.pruned_through_seq ? checkpoint.pruned_head_hash : this.sql.hashAt.get(toSeq)?.hash;
      if (hash === undefined) throw new RangeError(`cannot move ${destination}'s audit cursor back to seq ${toSeq}: no such record in the outbox`);
      this.sql.moveCursor.run({ seq: toSeq, hash, destination });
    }).immediate();
    cursor.sentThroughSeq = toSeq;
    if (destination === this.primary) {
      const unacknowledgedAgain = this.sql.usageRange.get(toSeq, before)!;
      this.unsent = { rows: this.unsent.rows + unacknowledgedAgain.rows, bytes: this.unsent.bytes + unacknowledgedAgain.bytes };
      this.updateLevel();
    }
  }

  /**
   * The chain `destination`'s batches belong to: undefined for the device's first chain (no chain_id),
   * else the further chain Edge Control keeps this database's records as. Only Edge Control keeps
   * chains; other receivers always get undefined.
   */
  uploadChain(destination: string = CONTROL_DESTINATION): UploadChain | undefined {
    return destination === CONTROL_DESTINATION && this.newChain ? { ...this.newChain } : undefined;
  }

  /**
   * Edge Control holds a chain for the device that this database cannot continue: from now on its
   * records go to Edge Control as a further chain with a fresh random id, starting at `fromSeq`.
   * Fresh, so that a copy of this file restored again (a VM snapshot) never reuses an id the server
   * already holds a different chain under. The cursor is put just before `fromSeq` in the same
   * transaction, so after a crash the chain and the next shipment agree.
   */
  startNewChain(fromSeq: number, destination: string = CONTROL_DESTINATION): UploadChain {
    const cursor = this.cursor(destination);
    if (destination !== CONTROL_DESTINATION) throw new Error(`only Edge Control keeps audit chains; ${destination} cannot start one`);
    if (!Number.isInteger(fromSeq) || fromSeq < 1 || fromSeq > this.lastHead.seq + 1) {
      throw new RangeError(`cannot start a new audit chain at seq ${fromSeq}: this database's records end at seq ${this.lastHead.seq}`);
    }
    const chain: UploadChain = { chainId: randomBytes(16).toString('hex'), fromSeq };
    const before = cursor.sentThroughSeq;
    this.db.transaction(() => {
      const checkpoint = this.sql.checkpoint.get()!;
      const at = fromSeq - 1;
      if (at < checkpoint.pruned_through_seq) {
        throw new RangeError(`cannot start a new audit chain at seq ${fromSeq}: this device pruned its records through seq ${checkpoint.pruned_through_seq}`);
      }
      const hash = at === checkpoint.pruned_through_seq ? checkpoint.pruned_head_hash : this.sql.hashAt.get(at)!.hash;
      this.sql.setNewChain.run(chain.chainId, chain.fromSeq);
      this.sql.moveCursor.run({ seq: at, hash, destination });
    }).immediate();
    this.newChain = chain;
    cursor.sentThroughSeq = fromSeq - 1;
    if (destination === this.primary && cursor.sentThroughSeq !== before) {
      this.unsent = this.usageAfter(cursor.sentThroughSeq);
      this.updateLevel();
    }
    return { ...chain };
  }

  /** Runs a WAL checkpoint on the worker now (only with offThreadCheckpoints). */
  checkpoint(): Promise<{ log: number; checkpointed: number; ms: number }> {
    if (!this.checkpointer) return Promise.reject(new Error('this outbox checkpoints its WAL in its own thread (offThreadCheckpoints is off)'));
    return this.checkpointer.checkpointNow();
  }

  /** Commits what is queued and closes the database. Appends after this throw AuditOutboxClosedError. */
  close(): void {
    if (this.closed) return;
    this.queue.flushNow();
    this.closed = true;
    clearInterval(this.writeProbe);
    this.checkpointer?.stop();
    this.db.close();
  }

  // ---- internals ----

  /**
   * The records after `afterSeq` for one shipment: at most `limit`, from one device, under `maxBytes` of
   * record text (at least one). Rows are read one at a time and reading stops at the first that does
   * not belong, so a batch of large records (full prompts) never loads more than it sends.
   */
  private readShipment(afterSeq: number, limit: number, maxBytes: number): ChainedAuditRecord[] {
    const records: ChainedAuditRecord[] = [];
    let bytes = 0;
    for (const row of this.sql.recordsAfter.iterate(afterSeq, limit)) {
      bytes += row.bytes;
      if (records.length > 0 && bytes > maxBytes) break;
      const record = toChained(row);
      // A batch names a single device_id.
      if (records.length > 0 && record.record.device_id !== records[0]!.record.device_id) break;
      records.push(record);
    }
    return records;
  }

  /** Validates and sizes a record and reserves its place under the cap, or throws. */
  private admit(input: AuditRecordInput): PendingRecord {
    if (this.closed) throw new AuditOutboxClosedError();
    const parsed = AuditRecordSchema.safeParse(this.recordFields ? this.recordFields.admit(input) : input);
    if (!parsed.success) throw AuditRecordInvalidError.fromZod(parsed.error);
    const record: AuditRecord = parsed.data;
    const json = recordJson(record);
    const pending: PendingRecord = { json, bytes: rowBytes(Buffer.byteLength(json)), requestId: record.request_id };
    // Not a full queue: an empty one refuses this record too, and the next small one fits. Latching
    // 'full' here would stop every request (fail-closed) with nothing queued to drain.
    if (this.limits.maxBytes !== null && pending.bytes > this.limits.maxBytes) {
      throw new AuditRecordTooLargeError(pending.requestId, pending.bytes, this.limits.maxBytes);
    }
    if (this.primary !== undefined) {
      const unsentIncludingQueued = { rows: this.unsent.rows + this.queued.rows, bytes: this.unsent.bytes + this.queued.bytes };
      if (exceedsCap(unsentIncludingQueued, { rows: 1, bytes: pending.bytes }, this.limits)) {
        const status = this.status();
        if (this.level !== 'full') {
          this.level = 'full';
          this.notify('queue_full', { ...status, level: 'full' });
        }
        throw new AuditQueueFullError({ ...status, level: 'full' });
      }
    }
    this.queued = { rows: this.queued.rows + 1, bytes: this.queued.bytes + pending.bytes };
    return pending;
  }

  private commitGroup(items: PendingRecord[]): CommittedAuditRecord[] {
    const added: Usage = { rows: items.length, bytes: items.reduce((sum, item) => sum + item.bytes, 0) };
    try {
      const { committed, head, pruned, prunedThroughSeq, lost, overtaken } = this.appendTransaction.immediate(items, added);
      this.lastHead = head;
      this.prunedThroughSeq = prunedThroughSeq;
      this.adoptSkippedCursors(lost);
      this.adoptOvertakenCursors(overtaken);
      this.stored = { rows: this.stored.rows + added.rows - pruned.rows, bytes: this.stored.bytes + added.bytes - pruned.bytes };
      if (this.primary !== undefined) this.unsent = { rows: this.unsent.rows + added.rows, bytes: this.unsent.bytes + added.bytes };
      this.updateLevel();
      this.markWritable();
      this.checkpointer?.noteCommit();
      this.notify('committed', { ...head }, committed.length);
      return committed;
    } catch (error) {
      this.markUnwritable(error, added.bytes);
      throw error;
    } finally {
      this.queued = { rows: this.queued.rows - added.rows, bytes: this.queued.bytes - added.bytes };
    }
  }

  /** Inside the write lock: chains and inserts `items`, then prunes what the cap needs. */
  private appendChained(items: PendingRecord[], added: Usage): AppendResult {
    // Re-read the head inside the write lock: the chain must follow what is on disk.
    let head = this.readHead();
    const committed: CommittedAuditRecord[] = [];
    for (const item of items) {
      const seq = head.seq + 1;
      const hash = chainHash(head.hash, item.json);
      this.sql.insert.run(seq, item.json, head.hash, hash, item.bytes);
      committed.push({ seq, hash, request_id: item.requestId });
      head = { seq, hash };
    }
    // Only the primary's acknowledgement counts; with no destinations every record counts as
    // delivered, including the ones just written.
    const sentThrough = this.primary !== undefined ? this.primarySentSeq() : head.seq;
    const { freed: pruned, prunedThroughSeq } = this.pruneSent({ rows: this.stored.rows + added.rows, bytes: this.stored.bytes + added.bytes }, sentThrough);
    return { committed, head, pruned, prunedThroughSeq, lost: this.skipPrunedForUnconfigured(prunedThroughSeq), overtaken: this.skipPrunedForSecondaries(prunedThroughSeq) };
  }

  /**
   * Deletes the oldest records the primary destination has acknowledged until `stored` fits under the
   * cap (with some headroom), moving the checkpoint to the last one deleted. Runs inside the commit.
   * Only when the cap needs the space, so a secondary or unconfigured destination that fell behind
   * loses records only then.
   */
  private pruneSent(stored: Usage, sentThrough: number): { freed: Usage; prunedThroughSeq: number } {
    const unchanged = { freed: { rows: 0, bytes: 0 }, prunedThroughSeq: this.prunedThroughSeq };
    const needed = pruneNeeded(stored, this.limits);
    if (needed.rows === 0 && needed.bytes === 0) return unchanged;
    let freed: Usage = { rows: 0, bytes: 0 };
    let last: { seq: number; hash: string } | undefined;
    for (const row of this.sql.prunable.iterate(this.prunedThroughSeq, sentThrough)) {
      if (freed.rows >= needed.rows && freed.bytes >= needed.bytes) break;
      freed = { rows: freed.rows + 1, bytes: freed.bytes + row.bytes };
      last = { seq: row.seq, hash: row.hash };
    }
    if (!last) return unchanged;
    this.sql.deleteThrough.run(last.seq);
    this.sql.setCheckpoint.run(last.seq, last.hash);
    // Not this.prunedThroughSeq yet: the COMMIT can still fail (a full disk), and memory must keep
    // matching the disk. The caller adopts it once the transaction committed.
    return { freed, prunedThroughSeq: last.seq };
  }

  /**
   * Inside the commit: moves the cursors of unconfigured destinations that pruning through
   * `prunedThroughSeq` passed to the checkpoint. Those records are gone, so that is where the
   * destination can resume; and a cursor behind the checkpoint is what `audit verify` reports as
   * unsent records deleted outside Edge. The lost range is kept in the cursor's shipment columns (a
   * range ending at or before the cursor, which no shipment ever is: markSent clears those), so the
   * loss is reported once, and once more when the destination is configured again.
   */
  private skipPrunedForUnconfigured(prunedThroughSeq: number): LostRecords[] {
    const lost: LostRecords[] = [];
    for (const [destination, cursor] of this.unconfigured) {
      if (cursor.sentThroughSeq >= prunedThroughSeq) continue;
      lost.push({ destination, firstSeq: cursor.lostFromSeq ?? cursor.sentThroughSeq + 1, lastSeq: prunedThroughSeq, firstLoss: cursor.lostFromSeq === null });
    }
    if (lost.length === 0) return lost;
    const checkpoint = this.sql.checkpoint.get()!;
    for (const { destination, firstSeq } of lost) {
      this.sql.skipPruned.run({ seq: checkpoint.pruned_through_seq, hash: checkpoint.pruned_head_hash, lostFrom: firstSeq, destination });
    }
    return lost;
  }

  /**
   * Inside the commit: moves the cursors of configured secondary destinations that pruning through
   * `prunedThroughSeq` passed to the checkpoint (the receiver will see a gap there; the next shipment
   * starts after it). Any unacknowledged shipment range is forgotten: its first records are gone.
   */
  private skipPrunedForSecondaries(prunedThroughSeq: number): DestinationLoss[] {
    const overtaken: DestinationLoss[] = [];
    for (const [destination, cursor] of this.cursors) {
      if (destination === this.primary || cursor.sentThroughSeq >= prunedThroughSeq) continue;
      overtaken.push({ destination, records: prunedThroughSeq - cursor.sentThroughSeq, firstSeq: cursor.sentThroughSeq + 1, lastSeq: prunedThroughSeq });
    }
    if (overtaken.length === 0) return overtaken;
    const checkpoint = this.sql.checkpoint.get()!;
    for (const { destination } of overtaken) this.sql.moveCursor.run({ seq: checkpoint.pruned_through_seq, hash: checkpoint.pruned_head_hash, destination });
    return overtaken;
  }

  /** After the commit: adopts secondary cursors moved past pruned records, and says what each lost. */
  private adoptOvertakenCursors(overtaken: readonly DestinationLoss[]): void {
    for (const loss of overtaken) {
      this.cursors.get(loss.destination)!.sentThroughSeq = loss.lastSeq;
      const name = describeAuditDestination(loss.destination);
      const primary = describeAuditDestination(this.primary!);
      this.log?.warn(
        `${loss.records} audit records were pruned to stay under the queue cap before ${name} received them: it has fallen behind ` +
        `(it has not acknowledged records for a while), and as a copy beside ${primary} it does not hold back the queue. Those records ` +
        `remain in ${primary}; check that ${name} is reachable so it stops losing records`,
        { destination: loss.destination, records: loss.records, first_seq: loss.firstSeq, last_seq: loss.lastSeq },
      );
      this.notify('destination_records_lost', { ...loss });
    }
  }

  /** After the commit: adopts the moved cursors and warns about the first loss of each, only. */
  private adoptSkippedCursors(lost: readonly LostRecords[]): void {
    for (const { destination, firstSeq, lastSeq, firstLoss } of lost) {
      this.unconfigured.set(destination, { sentThroughSeq: lastSeq, lostFromSeq: firstSeq });
      if (!firstLoss) continue;
      this.log?.warn(`audit records were pruned to stay under the queue cap before ${destination} (not configured in this run) received them; later pruning drops its records without another warning. Configure it again to receive the records still stored, or ignore this if it was removed on purpose`, { destination, first_seq: firstSeq, last_seq: lastSeq });
    }
  }

  /**
   * The level found on disk is published like any later change: a log line now, and the event once
   * the caller (which attaches its listeners right after construction) can hear it.
   */
  private publishLevelAtStart(): void {
    const level = nextLevel('ok', fillRatio(this.unsent, this.limits), this.limits);
    this.level = level;
    if (level === 'ok') return;
    const status = this.status();
    const waitingFor = describeAuditDestination(this.primary ?? CONTROL_DESTINATION);
    this.log?.warn(
      `the audit queue is ${level === 'full' ? 'full' : 'nearly full'} at start: ${waitingFor} has not acknowledged ${status.unsentRecords} records (${Math.floor(status.fillRatio * 100)} % of the cap)`,
      { destination: status.destination, unsent_records: status.unsentRecords, unsent_bytes: status.unsentBytes },
    );
    queueMicrotask(() => {
      if (!this.closed && this.level === level) this.notify(level === 'full' ? 'queue_full' : 'queue_near_cap', { ...this.status() });
    });
  }

  /**
   * A commit failed: until one succeeds, records cannot be stored, which the agent treats like a full
   * queue (fail-closed refuses up front). Said once per episode; a probe retries on a timer so the
   * condition also clears while no record comes.
   */
  private markUnwritable(error: unknown, bytes: number): void {
    const reason = describeWriteFailure(error);
    const first = this.writeProblem === null;
    this.writeProblem = reason;
    this.failedWriteBytes = Math.max(first ? 0 : this.failedWriteBytes, bytes);
    if (!first) return;
    this.log?.error(`the audit database ${this.path} cannot be written (${reason}), so no AI request can be recorded: free disk space on its drive, or check that the file and its folder are writable. Edge retries every ${Math.round(this.writeProbeMs / 1000)} s`, { path: this.path });
    this.notify('queue_unwritable', reason, this.status());
    clearInterval(this.writeProbe);
    this.writeProbe = setInterval(() => this.probeWrite(), this.writeProbeMs);
    this.writeProbe.unref();
  }

  private markWritable(): void {
    if (this.writeProblem === null) return;
    this.writeProblem = null;
    clearInterval(this.writeProbe);
    this.writeProbe = undefined;
    this.log?.info('the audit database can be written again; AI requests are recorded again', { path: this.path });
    this.notify('queue_writable', this.status());
  }

  /**
   * Learns whether the disk has room again by committing as much as the group that failed: a scratch
   * row of its size, deleted in the same transaction, so nothing stays but its pages are written. A
   * small write is no proof: it fits in WAL space already allocated while the disk is still full, and
   * reporting writable then lets requests through (failing closed) whose records cannot be stored.
   */
  private probeWrite(): void {
    if (this.closed || this.writeProblem === null) return;
    try {
      this.db.transaction(() => {
        this.sql.insertWriteProbe.run(this.failedWriteBytes + WRITE_PROBE_MARGIN_BYTES);
        this.sql.deleteWriteProbe.run();
      }).immediate();
    } catch (error) {
      this.writeProblem = describeWriteFailure(error);
      return;
    }
    this.markWritable();
  }

  private updateLevel(): void {
    const status = this.status();
    const level = nextLevel(this.level, status.fillRatio, this.limits);
    if (level === this.level) return;
    this.level = level;
    const event = level === 'full' ? 'queue_full' : level === 'near_cap' ? 'queue_near_cap' : 'queue_ok';
    this.notify(event, { ...status, level });
  }

  private reportLostAppends(error: unknown, items: PendingRecord[]): void {
    const requestIds = items.map((item) => item.requestId);
    this.log?.error('audit records could not be committed and are lost', { error: String(error), request_ids: requestIds.slice(0, 20) });
    this.notify('commit_failed', error, requestIds);
  }

  /**
   * Emits without letting a listener's exception escape: events fire right after a commit, and a
   * throwing listener must not make a committed record look failed to the request awaiting it.
   */
  private notify<K extends keyof AuditOutboxEvents>(event: K, ...args: AuditOutboxEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: AuditOutboxEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log?.error('audit outbox event listener threw', { event, error: String(error) });
    }
  }

  private readHead(): ChainHead {
    const row = this.sql.lastRecord.get();
    if (row) return { seq: row.seq, hash: row.hash };
    const checkpoint = this.sql.checkpoint.get()!;
    return { seq: checkpoint.pruned_through_seq, hash: checkpoint.pruned_head_hash };
  }

  private readNewChain(): UploadChain | undefined {
    const row = this.sql.chainIdentity.get();
    return row && row.new_chain_from_seq !== null ? { chainId: row.chain_id, fromSeq: row.new_chain_from_seq } : undefined;
  }

  private usageAfter(seq: number): Usage {
    return this.sql.usageRange.get(seq, Number.MAX_SAFE_INTEGER)!;
  }

  /** Where the primary destination's acknowledgements end (the head for a rolling log: all delivered). */
  private primarySentSeq(): number {
    return this.primary !== undefined ? this.cursor(this.primary).sentThroughSeq : this.lastHead.seq;
  }

  private minSentSeq(): number {
    let min = this.lastHead.seq;
    for (const cursor of this.cursors.values()) min = Math.min(min, cursor.sentThroughSeq);
    return min;
  }

  private cursor(destination: string): CursorState {
    const cursor = this.cursors.get(destination);
    if (!cursor) {
      throw new Error(`audit destination "${destination}" is not configured; add it to the outbox's destinations (configured: ${[...this.cursors.keys()].join(', ') || 'none'})`);
    }
    return cursor;
  }

  /**
   * Creates cursors for new destinations, starting at the head: what was written before a destination
   * was added was never promised to it, and counting that history (up to the whole cap on a device that
   * ran for a while) as unsent would fill the queue at once and, failing closed, stop AI requests. It
   * stays readable on the device (`audit tail`). The cursors of
   * destinations not configured now stay as they are: deleting one would forget where its receiver's
   * chain ends (and its unacknowledged shipment), and when it came back it would restart at the
   * checkpoint, resending what the receiver already has: Edge Control refuses that overlap (409) for ever.
   * Returns the primary's loss when it comes back after pruning took records it had not acknowledged
   * (see resumePrimaryAtHead); a secondary resumes after the pruned records.
   */
  private syncCursors(destinations: readonly string[]): LostRecords | undefined {
    let primaryLoss: LostRecords | undefined;
    const wanted = new Set(destinations);
    const checkpoint = this.db.transaction(() => {
      const head = this.readHead();
      for (const destination of wanted) this.sql.createCursor.run(destination, head.seq, head.hash);
      return this.sql.checkpoint.get()!;
    }).immediate();
    for (const row of this.sql.allCursors.all()) {
      const lostFromSeq = lostFrom(row);
      if (!wanted.has(row.destination)) {
        this.unconfigured.set(row.destination, { sentThroughSeq: row.sent_through_seq, lostFromSeq });
        this.log?.info('audit destination not configured in this run; its records are kept for it until the queue cap needs the space', { destination: row.destination, sent_through_seq: row.sent_through_seq });
        continue;
      }
      this.cursors.set(row.destination, { sentThroughSeq: row.sent_through_seq });
      // A cursor behind the checkpoint: written before cursors were moved past pruned records.
      const firstLost = lostFromSeq ?? (row.sent_through_seq < checkpoint.pruned_through_seq ? row.sent_through_seq + 1 : null);
      if (firstLost === null) continue;
      if (row.destination === this.primary) {
        primaryLoss = { destination: row.destination, firstSeq: firstLost, lastSeq: Math.max(row.sent_through_seq, checkpoint.pruned_through_seq), firstLoss: true };
        continue;
      }
      this.log?.warn(`audit records were pruned (queue cap) while ${row.destination} was not configured, before it received them; it cannot be sent them, and its receiver will see a gap in this device's chain`, { destination: row.destination, first_seq: firstLost, last_seq: Math.max(row.sent_through_seq, checkpoint.pruned_through_seq) });
      if (lostFromSeq !== null) this.sql.setInflight.run(null, null, row.destination); // reported: forget the range
    }
    return primaryLoss;
  }

  /**
   * The primary destination is configured again after pruning took records it had not acknowledged
   * (the device ran as a rolling log meanwhile). Its receiver's chain cannot continue: what it lacks is
   * gone from this device. Resuming at the checkpoint would also count every record written meanwhile
   * (up to the whole cap) as unsent, filling the queue at once, so it starts at the head, like a
   * destination added later; for Edge Control, as a new chain from the next record (kept beside the one
   * it holds, the start logged on both sides), so nothing it is sent is refused.
   */
  private resumePrimaryAtHead(loss: LostRecords): void {
    const head = this.lastHead;
    const name = describeAuditDestination(loss.destination);
    const fields = { destination: loss.destination, first_seq: loss.firstSeq, last_seq: loss.lastSeq, head_seq: head.seq };
    if (loss.destination === CONTROL_DESTINATION) {
      const chain = this.startNewChain(head.seq + 1, loss.destination);
      this.log?.warn(
        `audit records seq ${loss.firstSeq}–${loss.lastSeq} were pruned (queue cap) while Edge Control was not configured, before it received them, so its copy of this ` +
        `device's chain cannot be continued: the records from seq ${head.seq + 1} on go to it as a new chain (${chain.chainId}), kept beside the one it holds. ` +
        `The records written while it was not configured that are still stored (through seq ${head.seq}) are not uploaded; \`bifrost-edge audit tail\` shows them`,
        { ...fields, chain_id: chain.chainId },
      );
      return;
    }
    this.db.transaction(() => this.sql.moveCursor.run({ seq: head.seq, hash: head.hash, destination: loss.destination })).immediate();
    this.cursors.get(loss.destination)!.sentThroughSeq = head.seq;
    this.unsent = { rows: 0, bytes: 0 };
    this.log?.warn(
      `audit records seq ${loss.firstSeq}–${loss.lastSeq} were pruned (queue cap) while ${name} was not configured, before it received them; ` +
      `it receives the records from seq ${head.seq + 1} on. The records written while it was not configured that are still stored are not sent; \`bifrost-edge audit tail\` shows them`,
      fields,
    );
  }
}

/** The first record pruned before this cursor's destination acknowledged it (see skipPrunedForUnconfigured), or null. */
function lostFrom(row: CursorRow): number | null {
  const isLostRange = row.inflight_first_seq !== null && row.inflight_last_seq !== null && row.inflight_last_seq <= row.sent_through_seq;
  return isLostRange ? row.inflight_first_seq : null;
}

/** "SQLITE_FULL: database or disk is full": the SQLite code when there is one, and its message. */
function describeWriteFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

function toChained(row: RecordRow): ChainedAuditRecord {
  return { seq: row.seq, record: JSON.parse(row.record_json) as AuditRecord, prev_hash: row.prev_hash, hash: row.hash };
}

function prepareStatements(db: AuditDatabase) {
  return {
    insert: db.prepare<[number, string, string, string, number]>('INSERT INTO audit_records (seq, record_json, prev_hash, hash, bytes) VALUES (?, ?, ?, ?, ?)'),
    lastRecord: db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1'),
    checkpoint: db.prepare<[], { pruned_through_seq: number; pruned_head_hash: string }>('SELECT pruned_through_seq, pruned_head_hash FROM chain_checkpoint WHERE id = 1'),
    insertWriteProbe: db.prepare<[number]>('INSERT OR REPLACE INTO write_probe (id, filler) VALUES (1, zeroblob(?))'),
    deleteWriteProbe: db.prepare<[]>('DELETE FROM write_probe'),
    chainIdentity: db.prepare<[], { chain_id: string; new_chain_from_seq: number | null }>('SELECT chain_id, new_chain_from_seq FROM chain_identity WHERE id = 1'),
    setNewChain: db.prepare<[string, number]>('UPDATE chain_identity SET chain_id = ?, new_chain_from_seq = ? WHERE id = 1'),
    setCheckpoint: db.prepare<[number, string]>('UPDATE chain_checkpoint SET pruned_through_seq = ?, pruned_head_hash = ? WHERE id = 1'),
    usageRange: db.prepare<[number, number], Usage>('SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes FROM audit_records WHERE seq > ? AND seq <= ?'),
    recordsAfter: db.prepare<[number, number], RecordRow>('SELECT seq, record_json, prev_hash, hash, bytes FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?'),
    recordRange: db.prepare<[number, number], RecordRow>('SELECT seq, record_json, prev_hash, hash, bytes FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq'),
    hashAt: db.prepare<[number], { hash: string }>('SELECT hash FROM audit_records WHERE seq = ?'),
    prunable: db.prepare<[number, number], { seq: number; hash: string; bytes: number }>('SELECT seq, hash, bytes FROM audit_records WHERE seq > ? AND seq <= ? ORDER BY seq'),
    deleteThrough: db.prepare<[number]>('DELETE FROM audit_records WHERE seq <= ?'),
    allCursors: db.prepare<[], CursorRow>('SELECT destination, sent_through_seq, sent_head_hash, inflight_first_seq, inflight_last_seq FROM ship_cursors'),
    cursorRow: db.prepare<[string], CursorRow>('SELECT destination, sent_through_seq, sent_head_hash, inflight_first_seq, inflight_last_seq FROM ship_cursors WHERE destination = ?'),
    createCursor: db.prepare<[string, number, string]>('INSERT OR IGNORE INTO ship_cursors (destination, sent_through_seq, sent_head_hash) VALUES (?, ?, ?)'),
    setInflight: db.prepare<[number | null, number | null, string]>('UPDATE ship_cursors SET inflight_first_seq = ?, inflight_last_seq = ? WHERE destination = ?'),
    moveCursor: db.prepare<[{ seq: number; hash: string; destination: string }]>(
      `UPDATE ship_cursors SET sent_through_seq = @seq, sent_head_hash = @hash, inflight_first_seq = NULL, inflight_last_seq = NULL
       WHERE destination = @destination`,
    ),
    skipPruned: db.prepare<[{ seq: number; hash: string; lostFrom: number; destination: string }]>(
      `UPDATE ship_cursors SET sent_through_seq = @seq, sent_head_hash = @hash, inflight_first_seq = @lostFrom, inflight_last_seq = @seq
       WHERE destination = @destination`,
    ),
    markSent: db.prepare<[{ seq: number; hash: string; destination: string }]>(
      `UPDATE ship_cursors SET sent_through_seq = @seq, sent_head_hash = @hash,
         inflight_first_seq = CASE WHEN inflight_last_seq <= @seq THEN NULL ELSE inflight_first_seq END,
         inflight_last_seq = CASE WHEN inflight_last_seq <= @seq THEN NULL ELSE inflight_last_seq END
       WHERE destination = @destination`,
    ),
  };
}

/** Re-exported for callers that only need the constant next to the outbox. */
export { GENESIS_HASH };
