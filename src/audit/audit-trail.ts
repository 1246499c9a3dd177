import path from 'node:path';
import type { Dispatcher } from 'undici';
import type { Logger } from '../log.js';
import { HttpAuditSink } from './http-sink.js';
import { AuditOutbox, type AuditOutboxOptions } from './outbox.js';
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
  if (options.control) {
    const { url, credential, deviceId, dispatcher } = options.control;
    sinks.push(new HttpAuditSink({ controlUrl: url, credential, ...(deviceId ? { deviceId } : {}), ...(dispatcher ? { dispatcher } : {}) }));
  }
  if (options.otlp) sinks.push(new OtlpLogsSink(options.otlp));
  const destinations = new Set(sinks.map((sink) => sink.destination));
  if (!options.control && (options.awaitEnrollment ?? true)) destinations.add('control');

  const outbox = new AuditOutbox({ offThreadCheckpoints: true, ...options.outbox, path: auditDbPath(options.dataDir), destinations: [...destinations], log: options.log });
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
