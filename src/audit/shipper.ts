import { EventEmitter } from 'node:events';
import type { AuditAck, AuditBatch } from '../control/protocol/audit.js';
import type { Logger } from '../log.js';
import { DEFAULT_BACKOFF, fullJitterDelayMs, type BackoffPolicy } from './backoff.js';
import { buildAuditBatch, MAX_BATCH_RECORDS } from './batch.js';
import { AuditChainGapError, planGapRecovery, trustedDiffersAt, withReadOnlyAuditDatabase, type GapRecovery } from './chain-gap.js';
import { DEFAULT_SHIPMENT_BYTES, type AuditOutbox } from './outbox.js';
import { AuditSinkError, type AuditSink } from './sink.js';

export interface AuditShipperOptions {
  outbox: AuditOutbox;
  sink: AuditSink;
  /** Records per batch (default 500, at most 5000). A batch interrupted by a crash is resent with its original range. */
  batchSize?: number;
  /** Upper bound on one batch's record text (default 4 MiB); a single larger record still goes alone. */
  maxBatchBytes?: number;
  /** Retry delays: full jitter under min(maxMs, baseMs · 2^n). Default base 1 s, cap 60 s. */
  backoff?: Partial<BackoffPolicy>;
  /**
   * Longest Retry-After honoured (default one hour). An overloaded server that asks a whole fleet to
   * come back later is obeyed even beyond the backoff's own cap; only absurd values are cut.
   */
  maxRetryAfterMs?: number;
  /** How long to wait after a commit before shipping, to gather a bigger batch. Default 0 (ship at once). */
  lingerMs?: number;
  /** An upload taking longer than this is abandoned and retried (same batch id). Default 60 s. */
  sendTimeoutMs?: number;
  /**
   * How long stop() lets an upload in flight finish before abandoning it (its records stay pending and go
   * with the same batch id at the next start). Default 3 s: a shutdown must not wait on an upload that
   * cannot even start (a device still waiting to be enrolled) or on a slow server.
   */
  stopGraceMs?: number;
  /** Source of randomness for jitter (tests pin it). */
  random?: () => number;
  log?: Logger;
}

export type AuditShipperState = 'idle' | 'sending' | 'backing_off' | 'stopped';

export interface AuditShipperStatus {
  destination: string;
  state: AuditShipperState;
  /** Records this destination has not acknowledged. */
  pending: number;
  consecutiveFailures: number;
  lastError?: string;
  lastSuccessAt?: string;
  nextAttemptAt?: string;
}

export interface AuditShipperEvents {
  shipped: [batch: { batch_id: string; first_seq: number; last_seq: number; records: number }, ack: AuditAck];
  ship_failed: [error: Error, attempt: number, retryInMs: number];
  /** The sink said the batch can never be accepted (secondary exporters only); it was skipped. */
  batch_dropped: [batch: { batch_id: string; first_seq: number; last_seq: number }, error: Error];
  /**
   * Edge Control's chain for the device does not continue with the batch and nothing this device holds
   * can close the gap: the records stay queued, retried with backoff; `error` says what IT should do.
   */
  chain_gap: [gap: { batch_id: string; server_seq: number; server_hash: string; sent_through: number }, error: Error];
}

/** Recoveries from a 409 in a row without the refused batch getting through: then back off like any failure. */
const MAX_GAP_RECOVERIES = 3;

/**
 * Moves records from the outbox to one sink, in seq order, a batch at a time, and marks them sent only
 * when the sink acknowledges. On failure it backs off (full jitter, capped) and resends the *same*
 * batch; after a success it keeps going while records are pending and wakes as soon as new ones commit.
 * Crash-safe by construction: the outbox remembers the range of an unacknowledged batch, so after a
 * restart the resend has the same idempotency key and the server stores it once.
 */
export class AuditShipper extends EventEmitter<AuditShipperEvents> {
  readonly destination: string;
  private readonly outbox: AuditOutbox;
  private readonly sink: AuditSink;
  private batchSize: number;
  private maxBatchBytes: number;
  private readonly backoff: BackoffPolicy;
  private readonly lingerMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sendTimeoutMs: number;
  private readonly stopGraceMs: number;
  /** The upload under way, so stop() can abandon it after its grace. */
  private inFlight: AbortController | undefined;
  private readonly random: () => number;
  private readonly log?: Logger;

  private state: AuditShipperState = 'stopped';
  private started = false;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private failures = 0;
  private lastError: string | undefined;
  private lastSuccessAt: Date | undefined;
  private nextAttemptAt: Date | undefined;
  private gapRecoveries = 0;
  private readonly onCommitted = () => this.wake();

  constructor(options: AuditShipperOptions) {
    super();
    this.outbox = options.outbox;
    this.sink = options.sink;
    this.destination = options.sink.destination;
    this.batchSize = Math.min(MAX_BATCH_RECORDS, Math.max(1, Math.floor(options.batchSize ?? 500)));
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_SHIPMENT_BYTES;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.lingerMs = options.lingerMs ?? 0;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60 * 60_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
    this.stopGraceMs = options.stopGraceMs ?? 3000;
    this.random = options.random ?? Math.random;
    this.log = options.log;
  }

  /** Starts shipping whatever is pending now and whatever commits later. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.state = 'idle';
    this.outbox.on('committed', this.onCommitted);
    this.schedule(0);
  }

  /**
   * Stops scheduling uploads and waits for the one in flight (if any) to be acknowledged or fail, for
   * up to stopGraceMs, so the outbox can be closed right after. Records not shipped stay pending for
   * the next start.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    this.outbox.off('committed', this.onCommitted);
    clearTimeout(this.timer);
    this.timer = undefined;
    const abandon = setTimeout(() => this.inFlight?.abort(new Error(`the upload was abandoned after ${this.stopGraceMs} ms because the agent is stopping`)), this.stopGraceMs);
    await this.loop;
    clearTimeout(abandon);
    this.started = false;
    this.state = 'stopped';
    this.nextAttemptAt = undefined;
  }

  status(): AuditShipperStatus {
    return {
      destination: this.destination,
      state: this.state,
      pending: this.safeDepth(),
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      lastSuccessAt: this.lastSuccessAt?.toISOString(),
      nextAttemptAt: this.nextAttemptAt?.toISOString(),
    };
  }

  /** New records committed: ship them now, unless a backoff is running (do not hammer a down server). */
  private wake(): void {
    if (this.state !== 'idle' || this.stopping || this.timer) return;
    this.schedule(this.lingerMs);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopping || this.loop) return;
      this.loop = this.shipWhilePending().finally(() => { this.loop = undefined; });
    }, delayMs);
  }

  private async shipWhilePending(): Promise<void> {
    this.state = 'sending';
    this.nextAttemptAt = undefined;
    while (!this.stopping) {
      let batch: AuditBatch;
      try {
        const records = this.outbox.nextShipment(this.batchSize, this.destination, this.maxBatchBytes);
        if (records.length === 0) {
          this.state = 'idle';
          return;
        }
        // Read each time: a new chain started (and persisted) by gap recovery applies from the next batch.
        batch = buildAuditBatch(records, this.outbox.uploadChain(this.destination));
      } catch (error) {
        this.retryLater(asError(error));
        return;
      }
      if (!(await this.sendOne(batch))) return;
    }
    this.state = 'idle';
  }

  /** Sends one batch and records the outcome; false when the loop should stop and back off. */
  private async sendOne(batch: AuditBatch): Promise<boolean> {
    const summary = { batch_id: batch.batch_id, first_seq: batch.first_seq, last_seq: batch.last_seq };
    try {
      const ack = await this.upload(batch);
      this.outbox.markSent(batch.last_seq, this.destination);
      this.gapRecoveries = 0;
      this.failures = 0;
      this.lastError = undefined;
      this.lastSuccessAt = new Date();
      this.notify('shipped', { ...summary, records: batch.records.length }, ack);
      return true;
    } catch (error) {
      const err = asError(error);
      if (err instanceof AuditChainGapError) return this.recoverFromGap(batch, err);
      const tooLarge = err instanceof AuditSinkError && err.status === 413;
      // Before any drop: a batch refused for its size is split, whoever the receiver; only a record
      // refused on its own can be final.
      if (tooLarge && batch.records.length > 1) {
        this.shrinkBatches(batch);
      } else if (err instanceof AuditSinkError && err.disposition === 'drop') {
        const why = tooLarge ? 'audit record too large for a secondary exporter even on its own; skipping it' : 'audit batch permanently rejected by a secondary exporter; skipping it';
        this.log?.error(why, { destination: this.destination, ...summary, error: err.message });
        this.outbox.markSent(batch.last_seq, this.destination);
        this.notify('batch_dropped', summary, err);
        return true;
      }
      this.retryLater(err, summary);
      return false;
    }
  }

  /** One upload, abandoned after sendTimeoutMs (or by stop()); resolves with the ack of this very batch. */
  private async upload(batch: AuditBatch): Promise<AuditAck> {
    const controller = new AbortController();
    this.inFlight = controller;
    const timeout = setTimeout(() => controller.abort(new Error(`audit upload took longer than ${this.sendTimeoutMs} ms`)), this.sendTimeoutMs);
    try {
      const ack = await this.sink.send(batch, controller.signal);
      if (ack.batch_id !== batch.batch_id) {
        throw new AuditSinkError(`${this.destination} acknowledged batch "${ack.batch_id}" while "${batch.batch_id}" was sent; not marking it sent`);
      }
      if (!ack.duplicate && ack.chain_head !== batch.chain_head) {
        this.log?.warn('audit receiver reports a different chain head than the batch', { batch_id: batch.batch_id, first_seq: batch.first_seq, last_seq: batch.last_seq, ours: batch.chain_head, theirs: ack.chain_head });
      }
      return ack;
    } finally {
      clearTimeout(timeout);
      this.inFlight = undefined;
    }
  }

  /**
   * Edge Control's chain does not continue with `batch` and says where it ends. Resending the same
   * batch can never help, so: send again the records the server lost (its database restored from a
   * backup; they are still here unless pruned) by moving the cursor back before them, so they count as
   * unsent (never pruned, held against the cap) and go in the next batches, persisted and resent after
   * a crash like any other; count as acknowledged what it already holds; or, when
   * it holds another chain (this audit database replaced a damaged one), or lost records pruned here
   * since (restored from an older backup), upload this one as a new chain. True when the refused batch
   * should go again now; false after backing off.
   */
  private async recoverFromGap(batch: AuditBatch, gap: AuditChainGapError): Promise<boolean> {
    const summary = { batch_id: batch.batch_id, first_seq: batch.first_seq, last_seq: batch.last_seq };
    const sentThrough = batch.first_seq - 1;
    this.gapRecoveries += 1;
    if (this.gapRecoveries > MAX_GAP_RECOVERIES) {
      // The server keeps moving the goalposts: wait like for any failure, then start recovering afresh.
      this.gapRecoveries = 0;
      this.retryLater(gap, summary);
      return false;
    }
    try {
      return await withReadOnlyAuditDatabase(this.outbox.path, (db) => {
        // Where the server says the refused batch first differs from its copy: the records before it are there.
        const { heldThrough, ignored } = trustedDiffersAt(batch, gap.serverHead, gap.differsAtSeq);
        const plan: GapRecovery = planGapRecovery(db, {
          deviceId: batch.device_id, serverHead: gap.serverHead, sentThrough, asNewChain: batch.chain_id !== undefined,
          ...(heldThrough === undefined ? {} : { heldThrough }),
        });
        const context = { destination: this.destination, ...summary, server_seq: gap.serverHead.seq, sent_through: sentThrough };
        if (ignored) this.log?.warn(ignored, { ...context, differs_at_seq: gap.differsAtSeq });
        switch (plan.kind) {
          case 'acknowledged':
            this.log?.warn("Edge Control already holds this device's audit chain beyond the ship cursor; counting those records as acknowledged", { ...context, through: plan.throughSeq });
            this.outbox.markSent(plan.throughSeq, this.destination);
            return true;
          case 'new_chain': {
            // Persisted with the cursor (moved back to the oldest stored record when records were lost,
            // so those the server lacks count as unsent again, held against pruning; or on past what the
            // server holds as it is here) in one transaction: every later batch, after a restart too,
            // carries the chain id.
            const chain = this.outbox.startNewChain(plan.fromSeq, this.destination);
            const fields = { ...context, chain_id: chain.chainId, from_seq: chain.fromSeq };
            if (plan.lost) {
              this.log?.error(
                `${plan.why}. Uploading this device's records from seq ${chain.fromSeq} (the oldest it still stores) on as a new chain (${chain.chainId}), kept beside the one Edge Control holds, ` +
                'so auditing goes on and nothing more is lost',
                { ...fields, lost_first_seq: plan.lost.fromSeq, lost_last_seq: plan.lost.throughSeq },
              );
            } else {
              this.log?.warn(`${plan.why}. Uploading this database's records from seq ${chain.fromSeq} on as a new chain (${chain.chainId}), kept beside any Edge Control holds for this device`, fields);
            }
            return true;
          }
          case 'resend':
            // Planned and rewound in the same turn: no commit (and so no pruning) can come between. From
            // here the records are unacknowledged again, so pruning leaves them alone while they go.
            this.log?.warn('Edge Control lacks audit records it had acknowledged (its database was restored from a backup); sending them again', { ...context, first: plan.fromSeq, last: plan.throughSeq });
            this.outbox.rewindCursor(plan.fromSeq - 1, this.destination);
            return true;
          case 'stuck': {
            const stuck = new AuditSinkError(plan.message, { status: gap.status, cause: gap });
            this.log?.error("audit upload stuck on a gap in Edge Control's copy of the chain", { ...context, error: plan.message });
            this.notify('chain_gap', { batch_id: batch.batch_id, server_seq: gap.serverHead.seq, server_hash: gap.serverHead.hash, sent_through: sentThrough }, stuck);
            this.retryLater(stuck, summary);
            return false;
          }
        }
      });
    } catch (error) {
      this.retryLater(asError(error), summary);
      return false;
    }
  }

  /**
   * The receiver (or a proxy in front of it) refused the batch as too large, so it stored none of it:
   * the saved range may be given up without risking a duplicate, and later batches are half the size.
   * Otherwise the same range would be resent forever and the queue would fill behind it.
   */
  private shrinkBatches(batch: AuditBatch): void {
    // About the record text the outbox counts against maxBatchBytes (the envelope adds little).
    const sentBytes = batch.records.reduce((sum, chained) => sum + Buffer.byteLength(JSON.stringify(chained.record), 'utf8'), 0);
    this.batchSize = Math.max(1, Math.min(this.batchSize, Math.floor(batch.records.length / 2)));
    this.maxBatchBytes = Math.max(1, Math.min(this.maxBatchBytes, Math.floor(sentBytes / 2)));
    this.outbox.abandonShipment(this.destination);
    this.log?.warn('audit batch too large for the receiver; sending smaller batches', { destination: this.destination, batch_id: batch.batch_id, records: batch.records.length, batch_size: this.batchSize, max_batch_bytes: this.maxBatchBytes });
  }

  private retryLater(error: Error, batch?: { batch_id: string }): void {
    this.failures += 1;
    const jitter = fullJitterDelayMs(this.failures, this.backoff, this.random);
    const floor = error instanceof AuditSinkError && error.retryAfterMs !== undefined ? Math.min(error.retryAfterMs, this.maxRetryAfterMs) : 0;
    const delay = Math.max(jitter, floor);
    this.lastError = error.message;
    this.state = 'backing_off';
    this.nextAttemptAt = new Date(Date.now() + delay);
    const level = this.failures >= 5 ? 'error' : 'warn';
    this.log?.[level]('audit upload failed; will retry', { destination: this.destination, batch_id: batch?.batch_id, attempt: this.failures, retry_in_ms: delay, error: error.message });
    this.notify('ship_failed', error, this.failures, delay);
    if (!this.stopping) this.schedule(delay);
  }

  /** A throwing listener must not turn an acknowledged batch into a failed one. */
  private notify<K extends keyof AuditShipperEvents>(event: K, ...args: AuditShipperEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: AuditShipperEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.log?.error('audit shipper event listener threw', { event, error: String(error) });
    }
  }

  private safeDepth(): number {
    try {
      return this.outbox.depth(this.destination);
    } catch {
      return 0;
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
