import { execFile } from 'node:child_process';
import { EDGE_BIN } from './edge-process.js';

/** One line of `bifrost-edge audit tail --json`: the record's place in the chain, and the record. */
export interface TailedRow<R> {
  seq: number;
  record: R;
}

/**
 * The agent's audit rows in `dataDir`, oldest first, as `bifrost-edge audit tail --json` prints them (the
 * newest `limit`): what an administrator reads, through the real command.
 */
export function auditRowsOf<R = Record<string, unknown>>(dataDir: string, limit = 1000): Promise<Array<TailedRow<R>>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [EDGE_BIN, 'audit', 'tail', '--json', '--limit', String(limit), '--data-dir', dataDir], (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`audit tail failed: ${stderr || err.message}`));
        return;
      }
      resolve(stdout.trim().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as TailedRow<R>));
    });
  });
}

/** The records of auditRowsOf, without their places. */
export async function auditRecordsOf<R = Record<string, unknown>>(dataDir: string, limit = 1000): Promise<R[]> {
  return (await auditRowsOf<R>(dataDir, limit)).map((row) => row.record);
}

/**
 * The records `select` picks, once there are at least `count` of them (a record is written a moment after
 * its exchange ends); fails after `timeoutMs` with the ones it found.
 */
export async function auditRecordsOnceThere<R = Record<string, unknown>>(dataDir: string, select: (record: R) => boolean, count = 1, timeoutMs = 5000): Promise<R[]> {
  const deadline = Date.now() + timeoutMs;
  let records: R[] = [];
  while (Date.now() < deadline) {
    records = (await auditRecordsOf<R>(dataDir)).filter(select);
    if (records.length >= count) return records;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${records.length} audit records selected, expected ${count}: ${JSON.stringify(records)}`);
}
