import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditRecordSchema } from '../../src/control/protocol/audit.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { chainHash, GENESIS_HASH } from '../../src/audit/chain.js';
import { AUDIT_CHAIN_GENESIS_HASH, auditRecordHash } from '../../src/control/protocol/audit-chain.js';
import { AuditOutboxClosedError, AuditRecordInvalidError } from '../../src/audit/errors.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AUDIT_SCHEMA_VERSION } from '../../src/audit/migrations.js';
import { sampleRecord, tempDbPath } from './support/records.js';

const open: AuditOutbox[] = [];
function outbox(options: Partial<ConstructorParameters<typeof AuditOutbox>[0]> & { path: string }): AuditOutbox {
  const o = new AuditOutbox(options);
  open.push(o);
  return o;
}
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function rows(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT seq, record_json, prev_hash, hash FROM audit_records ORDER BY seq').all() as
      { seq: number; record_json: string; prev_hash: string; hash: string }[];
  } finally {
    db.close();
  }
}

describe('chain hash', () => {
  it('is SHA-256 over the hex prev_hash followed by the canonical JSON text', () => {
    const record = AuditRecordSchema.parse(sampleRecord(1));
    const json = canonicalJson(record);
    const expected = createHash('sha256').update(`${GENESIS_HASH}${json}`, 'utf8').digest('hex');
    expect(chainHash(GENESIS_HASH, json)).toBe(expected);
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });

  it('agrees with the shared definition the control server checks against', async () => {
    const dbPath = tempDbPath();
    const o = new AuditOutbox({ path: dbPath });
    await o.appendDurable(sampleRecord(1, { content: { mode: 'full', text: 'naïve ☃ \u2028' }, findings: [{ type: 't', rule_id: 'r', action: 'flag' }] }));
    const [shipped] = o.pending(1);
    o.close();
    expect(GENESIS_HASH).toBe(AUDIT_CHAIN_GENESIS_HASH);
    // The server hashes the record exactly as shipped (defaults already filled in by the outbox).
    expect(shipped!.hash).toBe(auditRecordHash(shipped!.prev_hash, JSON.parse(JSON.stringify(shipped!.record))));
  });
});

describe('AuditOutbox', () => {
  it('chains every record to the previous one, starting from the genesis hash', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath });
    for (let i = 1; i <= 50; i++) {
      if (i % 2 === 0) o.append(sampleRecord(i));
      else await o.appendDurable(sampleRecord(i));
    }
    await o.flush();
    const stored = rows(dbPath);
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    let prev = GENESIS_HASH;
    for (const row of stored) {
      expect(row.prev_hash).toBe(prev);
      // Stored text is the canonical JSON of the validated record (defaults applied).
      expect(row.record_json).toBe(canonicalJson(AuditRecordSchema.parse(JSON.parse(row.record_json))));
      expect(row.hash).toBe(chainHash(prev, row.record_json));
      prev = row.hash;
    }
    expect(o.head()).toEqual({ seq: 50, hash: prev });
  });

  it('stores the record as validated: defaults filled in, content kept as given', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath });
    const digest = createHash('sha256').update('prompt').digest('hex');
    await o.appendDurable(sampleRecord(1, { content: { mode: 'digest', sha256: digest } }));
    await o.appendDurable(sampleRecord(2, { content: { mode: 'full', text: 'hello' } }));
    const [first, second] = rows(dbPath).map((r) => JSON.parse(r.record_json) as Record<string, unknown>);
    expect(first!.findings).toEqual([]);
    expect(first!.content).toEqual({ mode: 'digest', sha256: digest });
    expect(second!.content).toEqual({ mode: 'full', text: 'hello', truncated: false });
  });

  it('continues the same chain after the database is reopened', async () => {
    const dbPath = tempDbPath();
    const first = outbox({ path: dbPath });
    await first.appendDurable(sampleRecord(1));
    const head = (await first.appendDurable(sampleRecord(2)));
    first.close();
    const second = outbox({ path: dbPath });
    expect(second.head()).toEqual({ seq: 2, hash: head.hash });
    const next = await second.appendDurable(sampleRecord(3));
    expect(next.seq).toBe(3);
    expect(rows(dbPath)[2]!.prev_hash).toBe(head.hash);
  });

  it('group-commits concurrent appends into few transactions', async () => {
    const o = outbox({ path: tempDbPath() });
    let commits = 0;
    o.on('committed', () => { commits += 1; });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => o.appendDurable(sampleRecord(i))));
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(results[299]!.request_id).toBe('req-299');
    expect(commits).toBeLessThanOrEqual(2);
  });

  it('flushes a group at once when maxGroupSize records pile up', () => {
    const o = outbox({ path: tempDbPath(), maxGroupSize: 10 });
    for (let i = 0; i < 25; i++) o.append(sampleRecord(i));
    // Two full groups committed synchronously inside append(); five still queued for setImmediate.
    expect(o.head().seq).toBe(20);
  });

  it('refuses invalid records synchronously and writes nothing', async () => {
    const o = outbox({ path: tempDbPath() });
    expect(() => o.append({ ...sampleRecord(1), request_id: '' })).toThrow(AuditRecordInvalidError);
    const bad = { ...sampleRecord(2), decision: 'maybe' } as unknown as Parameters<AuditOutbox['append']>[0];
    await expect(o.appendDurable(bad)).rejects.toMatchObject({ code: 'audit_record_invalid', message: expect.stringContaining('decision') });
    await o.flush();
    expect(o.head().seq).toBe(0);
  });

  it('refuses appends after close, with an error saying what to fix', async () => {
    const o = outbox({ path: tempDbPath() });
    o.close();
    expect(() => o.append(sampleRecord(1))).toThrow(AuditOutboxClosedError);
    await expect(o.appendDurable(sampleRecord(1))).rejects.toThrow(/stop the proxy before closing/);
  });

  it('commits queued records on close', () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath });
    for (let i = 0; i < 5; i++) o.append(sampleRecord(i));
    o.close();
    expect(rows(dbPath)).toHaveLength(5);
  });

  it('uses WAL, the chosen synchronous level, and records its schema version', () => {
    const dbPath = tempDbPath();
    outbox({ path: dbPath, synchronous: 'FULL' });
    const db = new Database(dbPath, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: AUDIT_SCHEMA_VERSION });
    db.close();
  });

  it('a listener that throws does not fail the commit it is told about', async () => {
    const o = outbox({ path: tempDbPath() });
    o.on('committed', () => { throw new Error('listener bug'); });
    await expect(o.appendDurable(sampleRecord(1))).resolves.toMatchObject({ seq: 1 });
  });
});

describe('AuditOutbox shipping state', () => {
  it('pending / markSent / depth follow the acknowledged watermark', async () => {
    const o = outbox({ path: tempDbPath() });
    for (let i = 1; i <= 10; i++) o.append(sampleRecord(i));
    await o.flush();
    expect(o.depth()).toBe(10);
    expect(o.pending(3).map((r) => r.seq)).toEqual([1, 2, 3]);
    o.markSent(4);
    expect(o.depth()).toBe(6);
    expect(o.pending(100).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    o.markSent(2); // an older acknowledgement changes nothing
    expect(o.depth()).toBe(6);
    expect(() => o.markSent(11)).toThrow(/head is 10/);
    const [record] = o.pending(1);
    expect(record).toMatchObject({ seq: 5, record: { request_id: 'req-5' } });
  });

  it('nextShipment resends exactly the unacknowledged range after a restart, whatever the new limit', async () => {
    const dbPath = tempDbPath();
    const first = outbox({ path: dbPath });
    for (let i = 1; i <= 10; i++) first.append(sampleRecord(i));
    await first.flush();
    expect(first.nextShipment(4).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    first.close(); // "crash" before the acknowledgement

    const second = outbox({ path: dbPath });
    for (let i = 11; i <= 20; i++) second.append(sampleRecord(i));
    await second.flush();
    expect(second.nextShipment(500).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    second.markSent(4);
    expect(second.nextShipment(500).map((r) => r.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 5));
  });

  it('a shipment never mixes device ids and stays under the byte budget', async () => {
    const o = outbox({ path: tempDbPath() });
    for (let i = 1; i <= 3; i++) o.append(sampleRecord(i));
    for (let i = 4; i <= 6; i++) o.append(sampleRecord(i, { device_id: 'device-2' }));
    await o.flush();
    expect(o.nextShipment(100).map((r) => r.seq)).toEqual([1, 2, 3]);
    o.markSent(3);
    expect(o.nextShipment(100, 'control', 1).map((r) => r.seq)).toEqual([4]);
  });

  it('keeps one cursor per destination; depth counts what not everyone has', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath, destinations: ['control', 'otlp'] });
    for (let i = 1; i <= 5; i++) o.append(sampleRecord(i));
    await o.flush();
    o.markSent(5, 'control');
    o.markSent(2, 'otlp');
    expect(o.depth('control')).toBe(0);
    expect(o.depth('otlp')).toBe(3);
    expect(o.depth()).toBe(3);
    expect(() => o.pending(1, 'splunk')).toThrow(/not configured/);
    o.close();
    // Dropping a destination releases what only it was waiting for.
    const reopened = outbox({ path: dbPath, destinations: ['control'] });
    expect(reopened.depth()).toBe(0);
    expect(reopened.destinations()).toEqual(['control']);
  });

  it('with no destinations every record counts as sent (a rolling local log)', async () => {
    const o = outbox({ path: tempDbPath(), destinations: [] });
    await o.appendDurable(sampleRecord(1));
    expect(o.depth()).toBe(0);
    expect(o.status().unsentRecords).toBe(0);
  });
});

describe('AuditOutbox when a COMMIT fails after pruning', () => {
  it('keeps its prune bookkeeping matching the disk, so later pruning frees what the cap needs', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath, maxRecords: 10, destinations: ['control'] });
    for (let i = 0; i < 10; i++) await o.appendDurable(sampleRecord(i));
    o.markSent(10);
    // A COMMIT that fails after the prune ran (as SQLITE_FULL would): a deferred foreign key, broken by
    // a trigger on the checkpoint update, fails only at COMMIT, and everything is rolled back.
    const other = new Database(dbPath);
    other.exec(`CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TABLE armed(v); INSERT INTO armed VALUES (1);
      CREATE TRIGGER fail_commit AFTER UPDATE ON chain_checkpoint WHEN (SELECT count(*) FROM armed) > 0 BEGIN INSERT INTO child VALUES (42); END;`);
    (o as unknown as { db: Database.Database }).db.pragma('foreign_keys = ON');
    await expect(o.appendDurable(sampleRecord(10))).rejects.toThrow(/FOREIGN KEY/);
    other.exec('DELETE FROM armed');
    other.close();
    for (let i = 11; i < 14; i++) await o.appendDurable(sampleRecord(i));
    expect(o.status().storedRecords).toBe(rows(dbPath).length);
    expect(rows(dbPath).length).toBeLessThanOrEqual(10);
  });
});

describe('audit database file', () => {
  it('is readable by its owner only (records may hold prompts and e-mail addresses)', async () => {
    if (process.platform === 'win32') return;
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath });
    await o.appendDurable(sampleRecord(1));
    const fs = await import('node:fs');
    expect(fs.statSync(dbPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${dbPath}-wal`).mode & 0o777).toBe(0o600);
  });
});
