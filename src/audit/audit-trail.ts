import path from 'node:path';
import Database from 'better-sqlite3';
import type { Dispatcher } from 'undici';
import type { Logger } from '../log.js';
import { isDamagedDatabaseError } from './database.js';
import { AuditDatabaseError } from './errors.js';
import { HttpAuditSink } from './http-sink.js';
import { AuditOutbox, type AuditOutboxOptions } from './outbox.js';
import { RecordFieldGate } from './record-fields.js';
import { OtlpLogsSink, type OtlpLogsSinkOptions } from './otlp-sink.js';
import { AuditShipper, type AuditShipperOptions } from './shipper.js';
import type { AuditSink } from './sink.js';

/** Where the outbox lives inside the agent's data directory (what `audit verify` / `audit tail` open). */
export function auditDbPath(dataDir: string): string {
  return path.join(dataDir, 'audit.db');
}

export interface AuditTrailOptions {
  dataDir: string;
  /** Outbox tuning: cap, durability, near-cap ratio. */
  outbox?: Omit<AuditOutboxOptions, 'path' | 'destinations' | 'log'>;
  /** Edge Control upload; omit before the device is enrolled (records then wait, up to the cap). */
  control?: { url: string; credential: string | (() => string | Promise<string>); deviceId?: () => string | Promise<string>; dispatcher?: Dispatcher };
  /** Optional copy to an OpenTelemetry collector. */
  otlp?: OtlpLogsSinkOptions;
  shipping?: Pick<AuditShipperOptions, 'batchSize' | 'maxBatchBytes' | 'backoff' | 'lingerMs' | 'sendTimeoutMs'>;
  /**
   * Keep the 'control' cursor even without a control URL, so records written before enrollment are
   * uploaded once it exists. Default true; false makes the outbox a rolling local log.
   */
  awaitEnrollment?: boolean;
  log?: Logger;
}

export interface AuditTrail {
  outbox: AuditOutbox;
  shippers: AuditShipper[];
  /** Stops the shippers (waiting for uploads in flight), then commits and closes the outbox. */
  close(): Promise<void>;
}

/**
 * Composition of the audit pieces for the agent: one outbox at `<dataDir>/audit.db` with one cursor
 * per configured destination, and one shipper per sink, started.
 */
export function openAuditTrail(options: AuditTrailOptions): AuditTrail {
  const sinks: AuditSink[] = [];
  const readByControl = options.control !== undefined || (options.awaitEnrollment ?? true);
  // Every record may reach Edge Control: newer fields wait until it says it takes them.
  const recordFields = readByControl ? new RecordFieldGate() : undefined;
  if (options.control) {
    const { url, credential, deviceId, dispatcher } = options.control;
    const onRecordFields = (header: string | string[] | undefined) => recordFields?.announce(header);
    sinks.push(new HttpAuditSink({ controlUrl: url, credential, ...(deviceId ? { deviceId } : {}), ...(dispatcher ? { dispatcher } : {}), onRecordFields }));
  }
  // The sink reports what a collector rejected (a partial success) only through a logger.
  if (options.otlp) sinks.push(new OtlpLogsSink({ ...(options.log ? { log: options.log } : {}), ...options.otlp }));
  const destinations = new Set(sinks.map((sink) => sink.destination));
  if (!options.control && (options.awaitEnrollment ?? true)) destinations.add('control');

  const outbox = openOutbox({
    offThreadCheckpoints: true, ...options.outbox, path: auditDbPath(options.dataDir), destinations: [...destinations], log: options.log,
    ...(recordFields ? { recordFields } : {}),
  });
  const shippers = sinks.map((sink) => new AuditShipper({ ...options.shipping, outbox, sink, log: options.log }));
  for (const shipper of shippers) shipper.start();
  return {
    outbox,
    shippers,
    async close() {
      await Promise.all(shippers.map((shipper) => shipper.stop()));
      outbox.close();
    },
  };
}

/**
 * The agent does not start without its audit trail, and SQLite's own message ("database disk image is
 * malformed") names neither the file nor a way out. A damaged file is never replaced here: the records
 * in it are evidence, so a person moves it aside.
 */
function openOutbox(options: AuditOutboxOptions): AuditOutbox {
  try {
    return new AuditOutbox(options);
  } catch (error) {
    if (!(error instanceof Database.SqliteError)) throw error;
    const dbPath = options.path;
    if (isDamagedDatabaseError(error)) {
      const name = path.basename(dbPath);
      throw new AuditDatabaseError(
        `the audit database ${dbPath} is damaged (${error.message}), so Edge cannot record requests and does not start. ` +
        `Stop Edge, move ${dbPath} and the ${name}-wal and ${name}-shm files beside it (if any) to another folder and keep them ` +
        'for investigation: the audit records in them are evidence (records already uploaded to Edge Control are safe there). ' +
        'Then start Edge again: it creates a new audit database. Its hash chain starts afresh at seq 1: Edge Control keeps the ' +
        'chain it already holds for this device unchanged and stores the new one beside it (shown in its audit view as device ' +
        '"<device id>/chain-<chain id>"), and logs that this device started a new audit chain.',
      );
    }
    throw new AuditDatabaseError(
      `could not open the audit database ${dbPath} (${error.message}); check that it is a file this user can read and write, ` +
      'on a local disk with free space, then start Edge again.',
    );
  }
}
