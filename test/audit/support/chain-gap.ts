import fs from 'node:fs/promises';
import type { ControlFixture } from '../../control/support/control-fixture.js';

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
