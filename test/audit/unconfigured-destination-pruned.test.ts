import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { createLogger } from '../../src/log.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * The cap prunes records that a destination known from an earlier run (it has a ship cursor) but not
 * configured now never acknowledged: Edge Control on a device that now runs without it, an OTLP
 * endpoint removed from the config. Pruning a rolling log is normal operation: `audit verify` must
 * not call it tampering, and the loss is worth one warning, not one per prune.
 */

const open: AuditOutbox[] = [];
afterEach(() => {
  for (const outbox of open.splice(0)) outbox.close();
});

function outboxAt(dbPath: string, destinations: string[], log?: ReturnType<typeof createLogger>): AuditOutbox {
  const outbox = new AuditOutbox({ path: dbPath, maxRecords: 10, maxBytes: null, destinations, ...(log ? { log } : {}) });
  open.push(outbox);
  return outbox;
}

function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('info', (line) => lines.push(line)), lines };
}

function verify(dbPath: string): { exitCode: number; stdout: string } {
  return runAuditVerifyCommand({ dbPath });
}

function readDb<T>(dbPath: string, read: (db: Database.Database) => T): T {
  const db = new Database(dbPath);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Edge Control acknowledged records 1-4, then the device ran as a rolling local log through seq 30. */
async function controlKeptThroughRollingLog(): Promise<string> {
  const dbPath = tempDbPath('edge-kept-cursor-');
  const enrolled = outboxAt(dbPath, ['control']);
  for (let i = 1; i <= 4; i++) enrolled.append(sampleRecord(i));
  await enrolled.flush();
  enrolled.markSent(4);
  enrolled.close();
  const rolling = outboxAt(dbPath, []);
  for (let i = 5; i <= 30; i++) await rolling.appendDurable(sampleRecord(i));
  rolling.close();
  return dbPath;
}

describe('pruning past the cursor of a destination not configured in this run', () => {
  it('is not reported as tampering by audit verify (Edge Control no longer configured)', async () => {
    const dbPath = await controlKeptThroughRollingLog();
    const result = verify(dbPath);
    expect(result.stdout).toMatch(/^audit chain OK/);
    expect(result.exitCode).toBe(0);
  });

  it('is not reported as tampering by audit verify (OTLP endpoint removed, Edge Control acknowledging)', async () => {
    const dbPath = tempDbPath('edge-kept-cursor-');
    const both = outboxAt(dbPath, ['control', 'otlp']);
    for (let i = 1; i <= 4; i++) both.append(sampleRecord(i));
    await both.flush();
    both.markSent(4, 'control');
    both.markSent(4, 'otlp');
    both.close();
    const controlOnly = outboxAt(dbPath, ['control']);
    for (let i = 5; i <= 30; i++) {
      await controlOnly.appendDurable(sampleRecord(i));
      controlOnly.markSent(i, 'control');
    }
    controlOnly.close();
    const result = verify(dbPath);
    expect(result.stdout).toMatch(/^audit chain OK/);
    expect(result.exitCode).toBe(0);
  });

  it('still reports records deleted outside Edge afterwards', async () => {
    const dbPath = await controlKeptThroughRollingLog();
    // Someone deletes the oldest stored records and moves the checkpoint over them to hide the gap.
    readDb(dbPath, (db) => {
      const { pruned_through_seq: checkpoint } = db.prepare('SELECT pruned_through_seq FROM chain_checkpoint').get() as { pruned_through_seq: number };
      const target = checkpoint + 3;
      const { hash } = db.prepare('SELECT hash FROM audit_records WHERE seq = ?').get(target) as { hash: string };
      db.prepare('DELETE FROM audit_records WHERE seq <= ?').run(target);
      db.prepare('UPDATE chain_checkpoint SET pruned_through_seq = ?, pruned_head_hash = ?').run(target, hash);
    });
    const result = verify(dbPath);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('"control" only acknowledged through seq');
  });

  it('warns once, not at every prune, and not again in later runs', async () => {
    const dbPath = tempDbPath('edge-kept-cursor-');
    const withOtlp = outboxAt(dbPath, ['otlp']);
    await withOtlp.appendDurable(sampleRecord(0));
    withOtlp.markSent(1, 'otlp');
    withOtlp.close();

    const first = capturingLogger();
    const removed = outboxAt(dbPath, [], first.log);
    for (let i = 1; i <= 300; i++) await removed.appendDurable(sampleRecord(i));
    removed.close();
    const warnings = first.lines.filter((line) => /WARN/.test(line) && line.includes('otlp'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"first_seq":2');

    const later = capturingLogger();
    const stillRemoved = outboxAt(dbPath, [], later.log);
    for (let i = 301; i <= 400; i++) await stillRemoved.appendDurable(sampleRecord(i));
    stillRemoved.close();
    expect(later.lines.filter((line) => /WARN/.test(line))).toEqual([]);
    expect(verify(dbPath).exitCode).toBe(0);
  });

  it('lets Edge Control, configured again, resume at the head as a new chain (its chain cannot continue) and says which records it lost', async () => {
    const dbPath = await controlKeptThroughRollingLog();
    const checkpoint = readDb(dbPath, (db) => (db.prepare('SELECT pruned_through_seq FROM chain_checkpoint').get() as { pruned_through_seq: number }).pruned_through_seq);
    const { log, lines } = capturingLogger();
    const back = outboxAt(dbPath, ['control'], log);
    const lost = lines.filter((line) => /WARN/.test(line) && /were pruned/.test(line) && line.includes('"destination":"control"'));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain('"first_seq":5');
    expect(lost[0]).toContain(`"last_seq":${checkpoint}`);
    // The records written meanwhile are not its backlog: nothing pending, the queue not filled at start.
    expect(back.nextShipment(100)).toEqual([]);
    expect(back.status()).toMatchObject({ unsentRecords: 0, level: 'ok' });
    expect(back.uploadChain()?.fromSeq).toBe(31);
    back.close();

    // Told once: the next run with it configured does not repeat the warning.
    const again = capturingLogger();
    outboxAt(dbPath, ['control'], again.log);
    expect(again.lines.filter((line) => /WARN/.test(line) && /were pruned/.test(line))).toEqual([]);
  });
});
