import fs from 'node:fs/promises';
import { afterEach } from 'vitest';
import { HttpAuditSink } from '../../../src/audit/http-sink.js';
import { AuditOutbox, type AuditOutboxOptions } from '../../../src/audit/outbox.js';
import { AuditShipper } from '../../../src/audit/shipper.js';
import type { EnrollmentResponse } from '../../../src/control/protocol/enrollment.js';
import type { Logger } from '../../../src/log.js';
import { startControlServer } from '../../../src/control/server/control-server.js';
import { captureLogger, startControlFixture, type ControlFixture } from '../../control/support/control-fixture.js';
import { sampleRecord } from './records.js';

/** A record as Edge Control's admin audit query returns it. */
export interface StoredRow { device_id: string; seq: number; batch_id: string; prev_hash: string; record: { request_id: string } }

/**
 * What Edge Control stores, every page of it, in arrival order; given a device id, that chain only (the query by a
 * device id also returns the chains it started later, `<device>/chain-<id>`).
 */
export async function storedAtServer(f: ControlFixture, deviceId?: string): Promise<StoredRow[]> {
  const out: StoredRow[] = [];
  for (let after = 0; ;) {
    const filter = deviceId === undefined ? '' : `device_id=${encodeURIComponent(deviceId)}&`;
    const body = (await f.admin('GET', `/api/edge/v1/admin/audit?${filter}limit=1000&after=${after}`)).json as { records: StoredRow[]; next_after?: number };
    out.push(...body.records.filter((row) => deviceId === undefined || row.device_id === deviceId));
    if (body.next_after === undefined) return out;
    after = body.next_after;
  }
}

/** Waits until `condition` holds, checking every few milliseconds; fails saying `what` did not happen in time. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Copies a SQLite database with its WAL and shared-memory files (a snapshot, as a VM snapshot or backup takes it). */
export async function copyDatabase(from: string, to: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) {
    await fs.rm(to + suffix, { force: true });
    await fs.copyFile(from + suffix, to + suffix).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/**
 * Edge Control per test: registers an afterEach that stops what the test started (its `cleanups`, the last
 * first), then the fixture `startControl` started.
 */
export function controlPerTest(): { startControl(): Promise<ControlFixture>; cleanups: Array<() => unknown> } {
  let fixture: ControlFixture | undefined;
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await fixture?.close();
    fixture = undefined;
  });
  return { cleanups, startControl: async () => (fixture = await startControlFixture()) };
}

/**
 * Stops `f`'s Edge Control and starts it again on the same port with its log captured (returned). In between,
 * `database` may back its SQLite database up to `<db>.backup`, or restore that backup (the server then lacks
 * what it took since).
 */
export async function restartControl(f: ControlFixture, database?: 'back up' | 'restore'): Promise<string[]> {
  const db = f.config.storage!.sqlite_path!;
  const port = f.server.port;
  await f.server.close();
  if (database === 'back up') await copyDatabase(db, `${db}.backup`);
  if (database === 'restore') await copyDatabase(`${db}.backup`, db);
  const serverLog = captureLogger();
  f.server = await startControlServer({ ...f.config, listen: { port } }, { log: serverLog.log });
  return serverLog.lines;
}

/** A device's audit outbox and, when it is enrolled, its shipper to Edge Control; and what they reported. */
export interface ChainRun {
  outbox: AuditOutbox;
  /** Every chain_gap the shipper raised: the gap, and the error that says so. */
  gaps: Array<{ gap: { server_seq: number; sent_through: number }; error: Error }>;
  /** The message of every failed upload. */
  failures: string[];
  /** The queue's warnings: `near_cap`, `full`. */
  levels: string[];
  /** Writes records `from` to `to` durably, request ids `<tag>-<seq>`. */
  append(from: number, to: number, tag?: string): Promise<void>;
  /** Stops the shipper and closes the outbox; again is a no-op (the test's cleanups call it too). */
  stop(): Promise<void>;
}

export interface ChainRunOptions {
  batchSize: number;
  backoff: { baseMs: number; maxMs: number };
  /** The shipper's logger (the outbox's comes with its options). */
  log?: Logger;
  /** The device id the records carry (the agent writes its installation id); default the enrolled one. */
  recordDeviceId?: string;
  /** Upload under the enrolled device id whatever the records carry, as the agent's sink does. */
  uploadAsEnrolled?: boolean;
  /** Records written before the shipper starts, so that its first batch holds them all. */
  before?: { count: number; tag: string };
}

/**
 * Opens the outbox and, given an enrollment, starts shipping it to `f`'s Edge Control; registers its stop with
 * `cleanups`. Without an enrollment, the outbox only keeps records (Edge Control not configured).
 */
export async function startChainRun(f: ControlFixture, device: EnrollmentResponse | undefined, outboxOptions: AuditOutboxOptions, options: ChainRunOptions, cleanups: Array<() => unknown>): Promise<ChainRun> {
  const outbox = new AuditOutbox(outboxOptions);
  const recordDeviceId = options.recordDeviceId ?? device?.device_id;
  if (recordDeviceId === undefined) throw new Error('a device that is not enrolled needs options.recordDeviceId');
  const append = async (from: number, to: number, tag = 'r') => {
    for (let i = from; i <= to; i++) await outbox.appendDurable(sampleRecord(i, { device_id: recordDeviceId, request_id: `${tag}-${i}` }));
  };
  const shipper = device === undefined ? undefined : new AuditShipper({
    outbox,
    sink: new HttpAuditSink({ controlUrl: f.server.url, credential: device.device_credential, ...(options.uploadAsEnrolled ? { deviceId: () => device.device_id } : {}) }),
    backoff: options.backoff,
    batchSize: options.batchSize,
    log: options.log,
  });
  const run: ChainRun = { outbox, gaps: [], failures: [], levels: [], append, stop: async () => {} };
  shipper?.on('chain_gap', (gap, error) => run.gaps.push({ gap, error }));
  shipper?.on('ship_failed', (error) => run.failures.push(error.message));
  outbox.on('queue_near_cap', () => run.levels.push('near_cap'));
  outbox.on('queue_full', () => run.levels.push('full'));
  let stopped = false;
  run.stop = async () => {
    if (stopped) return;
    stopped = true;
    await shipper?.stop();
    outbox.close();
  };
  cleanups.push(run.stop);
  if (options.before) await append(1, options.before.count, options.before.tag);
  shipper?.start();
  return run;
}
