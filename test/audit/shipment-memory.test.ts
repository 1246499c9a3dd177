import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox, DEFAULT_SHIPMENT_BYTES } from '../../src/audit/outbox.js';
import { FIXTURES } from './support/child.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * A shipment stops reading rows at its byte budget. It used to load `limit` (500) whole rows and cut
 * the shipment afterwards: with records holding a full prompt (128 KiB), 64 MiB read to send 4 MiB.
 * The child builds the shipment under a heap limit far below what 500 such rows take.
 */

const open: AuditOutbox[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function nextShipmentInChild(dbPath: string, limit: number, heapMiB: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [`--max-old-space-size=${heapMiB}`, path.join(FIXTURES, 'next-shipment.mjs'), dbPath, String(limit)], (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('AuditOutbox.nextShipment memory', () => {
  it('reads rows only up to the byte budget, not the whole record limit', async () => {
    const dbPath = tempDbPath();
    const o = new AuditOutbox({ path: dbPath });
    open.push(o);
    const prompt = 'p'.repeat(128 * 1024);
    for (let i = 1; i <= 500; i++) o.append(sampleRecord(i, { content: { mode: 'full', text: prompt, truncated: true } }));
    await o.flush();
    o.close();

    // 500 rows of 128 KiB are 64 MiB of strings; the 4 MiB shipment and Node itself fit in 40 MiB.
    const result = await nextShipmentInChild(dbPath, 500, 40);
    expect(result.stderr.split('\n').filter((line) => /heap out of memory/.test(line))).toEqual([]);
    expect(result.code).toBe(0);
    const shipment = JSON.parse(result.stdout.trim()) as { records: number; textBytes: number };
    expect(shipment.records).toBeGreaterThan(1);
    expect(shipment.records).toBeLessThan(500);
    expect(shipment.textBytes).toBeLessThanOrEqual(DEFAULT_SHIPMENT_BYTES);
  }, 60_000);
});
