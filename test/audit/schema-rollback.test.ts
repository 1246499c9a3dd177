import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { chainHash, recordJson } from '../../src/audit/chain.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { rowBytes } from '../../src/audit/capacity.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { AuditRecordSchema } from '../../src/control/protocol/audit.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * An MDM rollback to the previous release must find an audit database it can open: that release (the
 * last one with audit schema v1) refuses a file whose schema_migrations level is above 1, and the agent
 * does not start without its audit trail. And after it appended records, this build must carry on
 * with them as if it had written them.
 */
const open: { close(): void }[] = [];
afterEach(() => {
  for (const item of open.splice(0)) item.close();
});

/**
 * What the previous release does to the file, step for step (src/audit/database.ts and outbox.ts at
 * 5be6efd): its schema check on open, its chained insert, its acknowledgement. Not this build's code,
 * which is what is under test.
 */
class PreviousReleaseOutbox {
  private readonly db: Database.Database;

  constructor(dbPath: string) {
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = WAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = (this.db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }).version ?? 0;
    if (current > 1) {
      this.db.close();
      throw new Error(`audit database has schema v${current}, newer than this build (v1); upgrade Edge or move the file aside.`);
    }
    open.push(this);
  }

  append(i: number): void {
    const last = this.db.prepare('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    const checkpoint = this.db.prepare('SELECT pruned_through_seq AS seq, pruned_head_hash AS hash FROM chain_checkpoint WHERE id = 1').get() as { seq: number; hash: string };
    const head = last ?? checkpoint;
    const json = recordJson(AuditRecordSchema.parse(sampleRecord(i, { request_id: `previous-${i}` })));
    this.db.prepare('INSERT INTO audit_records (seq, record_json, prev_hash, hash, bytes) VALUES (?, ?, ?, ?, ?)')
      .run(head.seq + 1, json, head.hash, chainHash(head.hash, json), rowBytes(Buffer.byteLength(json)));
  }

  markSent(seq: number, destination = 'control'): void {
    const { hash } = this.db.prepare('SELECT hash FROM audit_records WHERE seq = ?').get(seq) as { hash: string };
    this.db.prepare('UPDATE ship_cursors SET sent_through_seq = ?, sent_head_hash = ?, inflight_first_seq = NULL, inflight_last_seq = NULL WHERE destination = ?').run(seq, hash, destination);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function coreSchemaLevel(dbPath: string): number | null {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }).version;
  } finally {
    db.close();
  }
}

describe('rolling back to the previous release after this build opened the audit database', () => {
  it('the previous release opens a database this build created, appends to its chain, and this build carries on with it', async () => {
    const dbPath = tempDbPath('edge-rollback-');
    let outbox = new AuditOutbox({ path: dbPath });
    for (let i = 1; i <= 5; i++) await outbox.appendDurable(sampleRecord(i));
    outbox.markSent(3);
    outbox.close();
    expect(coreSchemaLevel(dbPath)).toBe(1);

    const previous = new PreviousReleaseOutbox(dbPath);
    for (let i = 6; i <= 8; i++) previous.append(i);
    previous.markSent(6);
    previous.close();

    outbox = new AuditOutbox({ path: dbPath });
    open.push(outbox);
    expect(outbox.head().seq).toBe(8);
    expect(outbox.depth('control')).toBe(2);
    expect(outbox.nextShipment(10).map((r) => r.record.request_id)).toEqual(['previous-7', 'previous-8']);
    expect((await outbox.appendDurable(sampleRecord(9))).seq).toBe(9);
    outbox.close();
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
    expect(coreSchemaLevel(dbPath)).toBe(1);
  });

  it('the further chain this build uploads the database as is still its chain after the previous release appended to it', async () => {
    const dbPath = tempDbPath('edge-rollback-chain-');
    let outbox = new AuditOutbox({ path: dbPath });
    for (let i = 1; i <= 4; i++) await outbox.appendDurable(sampleRecord(i));
    const chain = outbox.startNewChain(1);
    outbox.markSent(2);
    outbox.close();

    const previous = new PreviousReleaseOutbox(dbPath);
    for (let i = 5; i <= 6; i++) previous.append(i);
    previous.close();

    outbox = new AuditOutbox({ path: dbPath });
    open.push(outbox);
    expect(outbox.uploadChain()).toEqual(chain);
    expect(outbox.nextShipment(10).map((r) => r.seq)).toEqual([3, 4, 5, 6]);
  });

  it('a database an earlier build of this version marked schema v2 is opened once by this build, and then the previous release opens it', async () => {
    const dbPath = tempDbPath('edge-rollback-v2-');
    const outbox = new AuditOutbox({ path: dbPath });
    await outbox.appendDurable(sampleRecord(1));
    outbox.close();
    // What that build wrote: its chain-identity migration counted in schema_migrations.
    const db = new Database(dbPath);
    db.prepare('DELETE FROM schema_additions WHERE version = 2').run();
    db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (2, 'chain identity', '2025-01-01T00:00:00.000Z')").run();
    db.close();
    expect(() => new PreviousReleaseOutbox(dbPath)).toThrow(/schema v2, newer than this build \(v1\)/);
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);

    new AuditOutbox({ path: dbPath }).close();
    expect(coreSchemaLevel(dbPath)).toBe(1);
    const previous = new PreviousReleaseOutbox(dbPath);
    previous.append(2);
    previous.close();
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });
});
