import type { ZodError } from 'zod';
import { describeAuditDestination } from './destination-names.js';

/** What the outbox knows about its capacity when it warns or refuses. */
export interface AuditQueueStatus {
  /**
   * The destination whose unacknowledged records count (see primaryDestination): Edge Control when
   * configured. Null for a rolling local log (no destinations).
   */
  destination: string | null;
  /** Records the primary destination has not acknowledged yet: these are never pruned. */
  unsentRecords: number;
  unsentBytes: number;
  /** Everything stored, sent or not. */
  storedRecords: number;
  storedBytes: number;
  maxRecords: number | null;
  maxBytes: number | null;
  /** unsent / cap, the larger of the two dimensions (0 when there is no cap). */
  fillRatio: number;
  level: 'ok' | 'near_cap' | 'full';
  /**
   * Why the last commit failed (a full disk, an I/O error: "SQLITE_FULL: database or disk is full"),
   * until a commit succeeds again; null while the database can be written. Records cannot be stored
   * meanwhile, whatever the level says.
   */
  unwritable: string | null;
}

/**
 * The outbox is full of records its primary destination (Edge Control) has not acknowledged yet, so
 * accepting another one would mean dropping an unsent record. Nothing was written. The agent decides
 * what this means for the request (fail open: answer without an audit record and tell the user; fail
 * closed: refuse it); the fix is to let that destination take the records so the queue drains, or
 * raise the cap.
 */
export class AuditQueueFullError extends Error {
  readonly code = 'audit_queue_full' as const;
  constructor(readonly status: AuditQueueStatus) {
    const caps = [
      status.maxRecords !== null ? `${status.unsentRecords}/${status.maxRecords} records` : null,
      status.maxBytes !== null ? `${status.unsentBytes}/${status.maxBytes} bytes` : null,
    ].filter(Boolean).join(', ');
    const waitingFor = describeAuditDestination(status.destination ?? 'control');
    super(
      `audit queue is full of records ${waitingFor} has not acknowledged (${caps}); the record was not written. ` +
      `Check that the device can reach ${waitingFor} so the queue drains, or raise the audit queue cap.`,
    );
    this.name = 'AuditQueueFullError';
  }
}

/**
 * One record takes more than the whole cap, so no amount of shipping or pruning makes room for it.
 * Nothing was written and the queue is unchanged (it is not full): only a larger cap helps.
 */
export class AuditRecordTooLargeError extends Error {
  readonly code = 'audit_record_too_large' as const;
  constructor(readonly requestId: string, readonly recordBytes: number, readonly maxBytes: number) {
    super(
      `audit record ${requestId} takes ${recordBytes} bytes, larger than the whole audit queue cap (${maxBytes} bytes), so it can never be stored; ` +
      'nothing was written. Raise audit.maxBytes (the default is 256 MiB; Edge accepts no less than the largest record it writes, about 265 KiB).',
    );
    this.name = 'AuditRecordTooLargeError';
  }
}

/** The caller built a record that does not match the audit contract (src/control/protocol/audit.ts). */
export class AuditRecordInvalidError extends Error {
  readonly code = 'audit_record_invalid' as const;
  constructor(readonly issues: string[]) {
    super(`audit record is invalid: ${issues.join('; ')}. Fix the code that builds the record; nothing was written.`);
    this.name = 'AuditRecordInvalidError';
  }

  static fromZod(error: ZodError): AuditRecordInvalidError {
    return new AuditRecordInvalidError(
      error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(record)'}: ${issue.message}`),
    );
  }
}

/** append() after close(): a shutdown-ordering bug in the caller. */
export class AuditOutboxClosedError extends Error {
  readonly code = 'audit_outbox_closed' as const;
  constructor() {
    super('audit outbox is closed; stop the proxy before closing the outbox so no request goes unaudited.');
    this.name = 'AuditOutboxClosedError';
  }
}

/** The database on disk is not one this build can use (newer schema, missing tables, not an outbox). */
export class AuditDatabaseError extends Error {
  readonly code = 'audit_database_unusable' as const;
  constructor(message: string) {
    super(message);
    this.name = 'AuditDatabaseError';
  }
}
