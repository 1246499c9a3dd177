import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { chainHash } from '../../src/audit/chain.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { runAuditTailCommand } from '../../src/audit/tail.js';
import { runAuditVerifyCommand, verifyAuditChain } from '../../src/audit/verify.js';
import { openAuditDatabaseReadOnly } from '../../src/audit/database.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/** A closed outbox with 20 records; the first `sentThrough` acknowledged by Edge Control. */
async function auditDb(sentThrough = 0): Promise<string> {
  const dbPath = tempDbPath('edge-verify-');
  const outbox = new AuditOutbox({ path: dbPath });
  for (let i = 1; i <= 20; i++) {
    outbox.append(sampleRecord(i, i === 7 ? { decision: 'blocked', reason: 'model_blocked', status: 403 } : {}));
  }
  await outbox.flush();
  if (sentThrough > 0) outbox.markSent(sentThrough);
  outbox.close();
  return dbPath;
}

function tamper(dbPath: string, edit: (db: Database.Database) => void): void {
  const db = new Database(dbPath);
  edit(db);
  db.close();
}

function verifyJson(dbPath: string) {
  const result = runAuditVerifyCommand({ dbPath, json: true });
  return { exitCode: result.exitCode, ...(JSON.parse(result.stdout) as { ok: boolean; problem?: { kind: string; seq: number; request_id?: string; message: string }; checkedRecords: number }) };
}

describe('audit verify', () => {
  it('accepts an untouched chain', async () => {
    const dbPath = await auditDb(10);
    const text = runAuditVerifyCommand({ dbPath });
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/^audit chain OK: 20 records, seq 1\.\.20; head [0-9a-f]{64}\n$/);
    expect(verifyJson(dbPath)).toMatchObject({ exitCode: 0, ok: true, checkedRecords: 20 });
  });

  it('names the record whose JSON was edited (hash mismatch)', async () => {
    const dbPath = await auditDb();
    tamper(dbPath, (db) => db.prepare("UPDATE audit_records SET record_json = replace(record_json, '\"decision\":\"blocked\"', '\"decision\":\"allowed\"') WHERE seq = 7").run());
    const result = verifyJson(dbPath);
    expect(result).toMatchObject({ exitCode: 1, ok: false, checkedRecords: 6, problem: { kind: 'hash_mismatch', seq: 7, request_id: 'req-7' } });
    const text = runAuditVerifyCommand({ dbPath });
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('audit chain BROKEN: record 7 (request req-7): hash mismatch');
    expect(text.stdout).toContain('first bad record: seq 7, request req-7 (hash_mismatch)');
  });

  it('an edit whose hash was recomputed breaks the next link', async () => {
    const dbPath = await auditDb();
    tamper(dbPath, (db) => {
      const row = db.prepare('SELECT record_json, prev_hash FROM audit_records WHERE seq = 7').get() as { record_json: string; prev_hash: string };
      const edited = canonicalJson({ ...JSON.parse(row.record_json), decision: 'allowed' });
      db.prepare('UPDATE audit_records SET record_json = ?, hash = ? WHERE seq = 7').run(edited, chainHash(row.prev_hash, edited));
    });
    expect(verifyJson(dbPath)).toMatchObject({ ok: false, problem: { kind: 'broken_link', seq: 8, request_id: 'req-8' } });
  });

  it('rewriting the rest of the chain is caught against what was already acknowledged', async () => {
    const dbPath = await auditDb(10);
    tamper(dbPath, (db) => {
      const rows = db.prepare('SELECT seq, record_json, prev_hash FROM audit_records WHERE seq >= 7 ORDER BY seq').all() as { seq: number; record_json: string; prev_hash: string }[];
      let prev = rows[0]!.prev_hash;
      for (const row of rows) {
        const json = row.seq === 7 ? canonicalJson({ ...JSON.parse(row.record_json), decision: 'allowed' }) : row.record_json;
        const hash = chainHash(prev, json);
        db.prepare('UPDATE audit_records SET record_json = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(json, prev, hash, row.seq);
        prev = hash;
      }
    });
    expect(verifyJson(dbPath)).toMatchObject({ ok: false, problem: { kind: 'acknowledged_hash_mismatch', seq: 10 } });
  });

  it('names the record after a deleted row (gap in seq)', async () => {
    const dbPath = await auditDb();
    tamper(dbPath, (db) => db.prepare('DELETE FROM audit_records WHERE seq = 5').run());
    const result = verifyJson(dbPath);
    expect(result).toMatchObject({ ok: false, checkedRecords: 4, problem: { kind: 'seq_gap', seq: 6, request_id: 'req-6' } });
    expect(result.problem!.message).toContain('records 5..5 are missing');
  });

  it('detects deleting the first record', async () => {
    const dbPath = await auditDb();
    tamper(dbPath, (db) => db.prepare('DELETE FROM audit_records WHERE seq = 1').run());
    expect(verifyJson(dbPath)).toMatchObject({ ok: false, checkedRecords: 0, problem: { kind: 'seq_gap', seq: 2 } });
  });

  it('detects reordered records', async () => {
    const dbPath = await auditDb();
    tamper(dbPath, (db) => {
      // Swap rows 3 and 4 wholesale (content, links and hashes), keeping seq in place.
      db.exec(`
        UPDATE audit_records SET seq = -3 WHERE seq = 3;
        UPDATE audit_records SET seq = 3 WHERE seq = 4;
        UPDATE audit_records SET seq = 4 WHERE seq = -3;`);
    });
    expect(verifyJson(dbPath)).toMatchObject({ ok: false, checkedRecords: 2, problem: { kind: 'broken_link', seq: 3, request_id: 'req-4' } });
  });

  it('detects deleting the newest records once they were acknowledged', async () => {
    const dbPath = await auditDb(20);
    tamper(dbPath, (db) => db.prepare('DELETE FROM audit_records WHERE seq > 17').run());
    const result = verifyJson(dbPath);
    expect(result).toMatchObject({ ok: false, problem: { kind: 'acknowledged_record_missing', seq: 20 } });
    expect(result.problem!.message).toContain('records 18..20 were deleted');
  });

  it('detects a forged prune checkpoint hiding unsent records', async () => {
    const dbPath = await auditDb(0);
    tamper(dbPath, (db) => {
      const third = db.prepare('SELECT hash FROM audit_records WHERE seq = 3').get() as { hash: string };
      db.prepare('DELETE FROM audit_records WHERE seq <= 3').run();
      db.prepare('UPDATE chain_checkpoint SET pruned_through_seq = 3, pruned_head_hash = ?').run(third.hash);
    });
    expect(verifyJson(dbPath)).toMatchObject({ ok: false, problem: { kind: 'bad_checkpoint', seq: 3 } });
  });

  it('reports a record that is no longer valid JSON', async () => {
    const dbPath = await auditDb();
    tamper(dbPath, (db) => db.prepare("UPDATE audit_records SET record_json = '{broken' WHERE seq = 12").run());
    expect(verifyJson(dbPath)).toMatchObject({ ok: false, problem: { kind: 'invalid_record', seq: 12 } });
  });

  it('exits 2 with advice when the database is missing or not an audit database', () => {
    const missing = runAuditVerifyCommand({ dbPath: path.join(path.dirname(tempDbPath()), 'nope.db') });
    expect(missing.exitCode).toBe(2);
    expect(missing.stdout).toMatch(/no audit database at .*--data-dir/);
    const other = tempDbPath();
    new Database(other).exec('CREATE TABLE t (x)');
    expect(runAuditVerifyCommand({ dbPath: other, json: true })).toMatchObject({ exitCode: 2, stdout: expect.stringContaining('not a Bifrost Edge audit database') });
    expect(fs.existsSync(other)).toBe(true);
  });

  it('reads a database the agent is still writing to', async () => {
    const dbPath = tempDbPath();
    const outbox = new AuditOutbox({ path: dbPath });
    await outbox.appendDurable(sampleRecord(1));
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
    await outbox.appendDurable(sampleRecord(2));
    expect(verifyJson(dbPath)).toMatchObject({ ok: true, checkedRecords: 2 });
    outbox.close();
  });
});

describe('audit verify beside a running agent', () => {
  it('reads one snapshot: a prune committed between its reads is not mistaken for deleted records', async () => {
    const dbPath = tempDbPath();
    const outbox = new AuditOutbox({ path: dbPath, maxRecords: 20, destinations: ['control'] });
    for (let i = 0; i < 20; i++) await outbox.appendDurable(sampleRecord(i));
    outbox.markSent(20);
    const reader = openAuditDatabaseReadOnly(dbPath);
    try {
      // The agent commits a record (pruning the oldest, at the cap) right after verify read the checkpoint.
      const prepare = reader.prepare.bind(reader);
      let committed = false;
      (reader as { prepare: typeof reader.prepare }).prepare = ((sql: string) => {
        if (!committed && sql.startsWith('SELECT seq, record_json')) {
          committed = true;
          outbox.append(sampleRecord(20));
          outbox.flush();
        }
        return prepare(sql);
      }) as typeof reader.prepare;
      const result = verifyAuditChain(reader);
      expect(committed).toBe(true);
      expect(result).toMatchObject({ ok: true, checkedRecords: 20, lastSeq: 20 });
    } finally {
      reader.close();
      outbox.close();
    }
    // The next run sees the pruned, longer chain, also whole.
    const again = openAuditDatabaseReadOnly(dbPath);
    try {
      expect(verifyAuditChain(again)).toMatchObject({ ok: true, lastSeq: 21 });
    } finally {
      again.close();
    }
  });
});

describe('audit tail', () => {
  it('shows the newest records as aligned lines, oldest first, with their shipping state', async () => {
    const dbPath = await auditDb(18);
    const result = runAuditTailCommand({ dbPath, limit: 3 });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^SEQ\s+TIME\s+DECISION\s+STATUS\s+MS\s+APP\s+HOST\s+MODEL\s+TOKENS\s+REASON\s+FINDINGS\s+SHIPPED$/);
    expect(lines[1]).toMatch(/^18\s+2025-01-01T12:00:00\.018Z\s+allowed\s+200\s+138\s+curl\s+api\.openai\.com\s+openai\/gpt-4o\s+10\/5\s+-\s+-\s+yes$/);
    expect(lines[3]).toMatch(/^20\s.*\sno$/);
  });

  it('prints one JSON object per line with --json', async () => {
    const dbPath = await auditDb(0);
    const result = runAuditTailCommand({ dbPath, limit: 15, json: true });
    const lines = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; shipped: boolean; record: { request_id: string; decision: string } });
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 6));
    expect(lines.find((l) => l.seq === 7)).toMatchObject({ shipped: false, record: { request_id: 'req-7', decision: 'blocked' } });
  });

  it('says so when there are no records, and survives a damaged one', async () => {
    const dbPath = tempDbPath();
    new AuditOutbox({ path: dbPath }).close();
    expect(runAuditTailCommand({ dbPath })).toEqual({ exitCode: 0, stdout: 'no audit records yet\n' });
    const damaged = await auditDb();
    tamper(damaged, (db) => db.prepare("UPDATE audit_records SET record_json = '{}' WHERE seq = 20").run());
    expect(runAuditTailCommand({ dbPath: damaged, limit: 1 }).stdout).toMatch(/^20\s+-\s+-/m);
  });
});
