import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { batchFor, chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { countingStore } from './support/counting-store.js';
import { ADA_KEY, startControlFixture, tempDir, testLogger, type ControlFixture } from './support/control-fixture.js';

/**
 * A batch the server holds no chain for (a re-enrolled device's, under its new id) was checked against every
 * chain of every earlier enrollment of its installation by listing them (a GROUP BY over all their records,
 * synchronous: a million-record chain blocked the server for a third of a second, once per batch). Now it is
 * looked up by its first record's hash (and the hash it links to), through an index on the hash that is added
 * without raising the schema version, so the previous release still opens the file.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const INSTALLATION = 'inst-backlog';

describe('a batch for a chain the server holds nothing of', () => {
  it('is looked up by hash: a re-enrolled device resending its backlog lists no chain', async () => {
    const calls = new Map<string, number>();
    fixture = await startControlFixture({ store: (config) => countingStore(new SqliteControlStore(config.storage!.sqlite_path!), calls) });
    const url = fixture.server.url;
    // The index is built after the server listens (audit-hash-index-background.test.ts covers the time before).
    await fixture.server.backgroundWorkDone();
    const enroll = () => postEnrollment(url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: INSTALLATION } });
    const first = await enroll();
    const records = chainedRecords(1, 100, GENESIS_HASH, INSTALLATION, 'r');
    expect((await postAuditBatch(url, first.device_credential, batchFor(first.device_id, records))).status).toBe(200);

    const second = await enroll();
    calls.clear();
    for (let i = 0; i < 10; i++) {
      const answer = await postAuditBatch(url, second.device_credential, batchFor(second.device_id, records.slice(i * 10, i * 10 + 10)));
      expect(answer.body).toMatchObject({ duplicate: true, chain_head: records[99]!.hash });
    }
    // One hash lookup per batch (its first record is held), no listing of chains (each a pass over their records before).
    expect({ auditChains: calls.get('auditChains') ?? 0, auditRecordsWithHash: calls.get('auditRecordsWithHash') ?? 0 }).toEqual({ auditChains: 0, auditRecordsWithHash: 10 });
  });

  it('finds records by hash through an index the previous release opens and keeps up to date', async () => {
    const dir = await tempDir('hash-index');
    const file = path.join(dir, 'control.db');
    try {
      const created = new SqliteControlStore(file);
      expect(await created.startBackgroundWork(testLogger())?.done).toBe('built');
      await created.close();
      const db = new Database(file);
      // The schema version the previous release understands: it opens the file (it refuses a newer one).
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      const plan = db.prepare('EXPLAIN QUERY PLAN SELECT device_id, seq FROM audit_records WHERE hash = ?').all('x') as { detail: string }[];
      expect(plan.map((row) => row.detail)).toEqual(['SEARCH audit_records USING INDEX audit_records_hash (hash=?)']);
      // A record stored by the previous release (which knows nothing of the index) after a rollback.
      db.prepare('INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run('dev_old', 'b1', 1, GENESIS_HASH, 'ab'.repeat(32), '{}', new Date().toISOString());
      db.close();
      const store = new SqliteControlStore(file);
      expect(await store.auditRecordsWithHash('ab'.repeat(32))).toEqual([{ key: 'dev_old', seq: 1 }]);
      await store.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
