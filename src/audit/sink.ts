import type { AuditAck, AuditBatch } from '../control/protocol/audit.js';

/**
 * Somewhere audit batches go: Edge Control (the audit trail of record) or an OpenTelemetry collector.
 * `send` resolves only when the receiver has durably taken the batch; anything else throws
 * AuditSinkError, and the batch stays in the outbox.
 */
export interface AuditSink {
  /** The outbox ship cursor this sink advances ('control', 'otlp'). */
  readonly destination: string;
  send(batch: AuditBatch, signal: AbortSignal): Promise<AuditSinkAck>;
}

/** The receiver's acknowledgement, which the shipper hands on in its `shipped` event. */
export interface AuditSinkAck extends AuditAck {
  /**
   * Records the receiver took the batch without (an OTLP partial success), and why in its words. Final:
   * the batch counts as sent, so they are never resent. Absent when it took every record.
   */
  rejected?: { records: number; message: string };
}

export interface AuditSinkErrorDetails {
  /** HTTP status, when the receiver answered. */
  status?: number;
  /** The receiver's Retry-After, honoured as a lower bound on the next delay. */
  retryAfterMs?: number;
  /**
   * retry (default): keep the batch and try again after a backoff.
   * drop: the receiver will never accept this batch (e.g. an OTLP collector's 400); the shipper logs
   * it and moves on. Only secondary exporters may use this — Edge Control batches are always retried.
   */
  disposition?: 'retry' | 'drop';
  cause?: unknown;
}

export class AuditSinkError extends Error {
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly disposition: 'retry' | 'drop';

  constructor(message: string, details: AuditSinkErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AuditSinkError';
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.disposition = details.disposition ?? 'retry';
  }
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
