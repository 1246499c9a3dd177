import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../../src/audit/audit-trail.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { createLogger } from '../../src/log.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { sampleRecord, tempDbPath } from './support/records.js';
import { until } from '../support/until.js';

/**
 * A destination known to the outbox (it has a ship cursor) but not configured in this run: the agent
 * started once with a config without `control`, or the OTLP endpoint was briefly missing. Its cursor
 * must survive, so that when it comes back it continues exactly where its receiver's chain ends.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function storedSeqs(dbPath: string): number[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT seq FROM audit_records ORDER BY seq').all() as { seq: number }[]).map((row) => row.seq);
  } finally {
    db.close();
  }
}

function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('info', (line) => lines.push(line)), lines };
}

describe('a ship cursor whose destination is not configured in this run', () => {
  it('survives a run without Edge Control: the next upload continues the server chain (no 409)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-trail-'));
    const server = new AuditControlServer();
    await server.start();
    cleanups.push(() => server.stop());
    const control = { url: server.url, credential: server.credential };
    const shipping = { backoff: { baseMs: 10, maxMs: 20 } };

    const enrolled = openAuditTrail({ dataDir, control, shipping });
    for (let i = 1; i <= 3; i++) await enrolled.outbox.appendDurable(sampleRecord(i));
    expect(await until(() => enrolled.outbox.depth('control') === 0)).toBe(true);
    await enrolled.close();

    // The same data dir run once with a config without `control` (agent-services: awaitEnrollment false).
    const withoutControl = openAuditTrail({ dataDir, awaitEnrollment: false, shipping });
    for (let i = 4; i <= 5; i++) await withoutControl.outbox.appendDurable(sampleRecord(i));
    await withoutControl.close();

    const back = openAuditTrail({ dataDir, control, shipping });
    cleanups.push(() => back.close());
    await back.outbox.appendDurable(sampleRecord(6));
    await until(() => back.outbox.depth('control') === 0, 3000);
    expect(server.requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(server.stored.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.outbox.depth('control')).toBe(0);
  });

  it('keeps its in-flight range, so the resend after it returns has the same batch id', async () => {
    const dbPath = tempDbPath();
    const first = new AuditOutbox({ path: dbPath, destinations: ['control'] });
    for (let i = 1; i <= 5; i++) first.append(sampleRecord(i));
    await first.flush();
    expect(first.nextShipment(3).map((r) => r.seq)).toEqual([1, 2, 3]); // sent, never acknowledged
    first.close();

    const without = new AuditOutbox({ path: dbPath, destinations: [] });
    without.append(sampleRecord(6));
    await without.flush();
    expect(without.destinations()).toEqual([]);
    without.close();

    const back = new AuditOutbox({ path: dbPath, destinations: ['control'] });
    cleanups.push(() => back.close());
    expect(back.depth('control')).toBe(6);
    expect(back.nextShipment(100).map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('does not hold back appends, and loses records it has not acknowledged only to the cap, saying so', async () => {
    const dbPath = tempDbPath();
    const first = new AuditOutbox({ path: dbPath, maxRecords: 10, maxBytes: null, destinations: ['control'] });
    for (let i = 1; i <= 4; i++) first.append(sampleRecord(i));
    await first.flush();
    first.markSent(2);
    first.close();

    const { log, lines } = capturingLogger();
    const without = new AuditOutbox({ path: dbPath, maxRecords: 10, maxBytes: null, destinations: [], log });
    for (let i = 5; i <= 10; i++) await without.appendDurable(sampleRecord(i));
    expect(storedSeqs(dbPath)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // under the cap: nothing pruned
    expect(without.status().level).toBe('ok'); // nobody configured waits for them: appends go on
    expect(lines.filter((line) => line.includes('pruned'))).toEqual([]);

    // Over the cap: the oldest go, including 3 and 4, which Edge Control never acknowledged.
    for (let i = 11; i <= 13; i++) await without.appendDurable(sampleRecord(i));
    expect(storedSeqs(dbPath)[0]).toBeGreaterThan(4);
    const pruned = lines.filter((line) => line.includes('pruned'));
    expect(pruned).toHaveLength(1);
    expect(pruned[0]).toMatch(/WARN/);
    expect(pruned[0]).toContain('"destination":"control"');
    expect(pruned[0]).toContain('"first_seq":3');
    without.close();

    // Configured again: it is told which records it will never receive.
    const again = capturingLogger();
    const back = new AuditOutbox({ path: dbPath, maxRecords: 10, maxBytes: null, destinations: ['control'], log: again.log });
    cleanups.push(() => back.close());
    expect(again.lines.some((line) => /WARN/.test(line) && line.includes('"destination":"control"') && line.includes('"first_seq":3'))).toBe(true);
  });
});
