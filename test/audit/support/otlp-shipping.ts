import type { AuditAck, AuditRecordInput } from '../../../src/control/protocol/audit.js';
import { AuditOutbox } from '../../../src/audit/outbox.js';
import { OtlpLogsSink } from '../../../src/audit/otlp-sink.js';
import { AuditShipper } from '../../../src/audit/shipper.js';
import type { AuditSinkAck, AuditSinkError } from '../../../src/audit/sink.js';
import { createLogger } from '../../../src/log.js';
import { until } from '../../support/until.js';
import { sampleRecord, tempDbPath } from './records.js';

/** What shipping to an OTLP collector came to. */
export interface OtlpShipment {
  /** Whether the outbox's OTLP cursor reached its end in time. */
  drained: boolean;
  failures: AuditSinkError[];
  /** `first_seq-last_seq` of every batch given up. */
  dropped: string[];
  acks: AuditSinkAck[];
  /** The shipper's and the sink's log lines (one logger, as the agent hands both). */
  lines: string[];
}

/**
 * Writes `records` audit records to a fresh outbox (the i-th made by `record`) and ships them to the
 * OTLP collector at `url` with a short backoff, until the outbox is empty or five seconds pass. The
 * outbox and shipper are closed by the `cleanups` the caller runs after each test.
 */
export async function shipToOtlp(
  url: string,
  records: number,
  cleanups: Array<() => unknown>,
  record: (i: number) => AuditRecordInput = sampleRecord,
): Promise<OtlpShipment> {
  const outbox = new AuditOutbox({ path: tempDbPath(), destinations: ['otlp'] });
  cleanups.push(() => outbox.close());
  for (let i = 1; i <= records; i++) outbox.append(record(i));
  await outbox.flush();
  const lines: string[] = [];
  const log = createLogger('info', (line) => lines.push(line));
  const shipper = new AuditShipper({ outbox, sink: new OtlpLogsSink({ endpoint: url, log }), backoff: { baseMs: 10, maxMs: 20 }, log });
  cleanups.push(() => shipper.stop());
  const shipment: Omit<OtlpShipment, 'drained'> = { failures: [], dropped: [], acks: [], lines };
  shipper.on('ship_failed', (error) => shipment.failures.push(error as AuditSinkError));
  shipper.on('batch_dropped', (batch) => shipment.dropped.push(`${batch.first_seq}-${batch.last_seq}`));
  shipper.on('shipped', (_batch, ack: AuditAck) => shipment.acks.push(ack));
  shipper.start();
  const drained = await until(() => outbox.depth('otlp') === 0);
  return { drained, ...shipment };
}
