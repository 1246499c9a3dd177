import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import type { HashLookupProgress } from '../../src/control/server/audit-hash-lookup.js';
import type { BackgroundWork } from '../../src/control/server/background-index-build.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { batchFor, chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, captureLogger, startControlFixture, testLogger, waitFor, type ControlFixture } from './support/control-fixture.js';

/**
 * After an upgrade, Edge Control indexed audit records by hash with one CREATE INDEX in a background worker:
 * one transaction holding the write lock for the whole build, so every device's upload meanwhile waited for it
 * (over millions of records, past its busy timeout: a 500, and the device retried). The lookup is now a table
 * filled in short steps from a high-water mark, with new records added by a trigger: uploads wait for one
 * step at most, and a build killed halfway goes on from where it was.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** The compiled server (the global test setup builds dist/ first), run as a process to be killed. */
const SERVE_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/control/server/serve-cli-entry.js');

/** Records enough for a build of many steps: 60 of 5000. */
const RECORDS = 300_000;

/** Filling RECORDS records takes seconds on a loaded machine: no speed is asserted, only order. */
const BIG_FILE_TIMEOUT_MS = 180_000;

/**
 * As a release without the lookup left the file, holding `records` records of 300 other devices (random hashes,
 * a few hundred bytes each like real ones): the next start has all of them to build.
 */
function asPreviousReleaseLeftIt(file: string, records = RECORDS): void {
  const db = new Database(file);
  try {
    db.exec(`
      DROP TRIGGER IF EXISTS audit_record_hashes_on_insert;
      DROP TABLE IF EXISTS audit_record_hashes;
      DROP TABLE IF EXISTS audit_record_hashes_build;
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${records - 1})
      INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at)
        SELECT 'dev_bulk_' || (i % 300), 'bulk-' || (i / 1000), i / 300 + 1, lower(hex(randomblob(32))), lower(hex(randomblob(32))),
          '{"request_id":"' || hex(randomblob(16)) || '","app":"curl","host":"api.openai.com","decision":"allowed"}', '2025-01-01T12:00:00.000Z'
        FROM n;
    `);
  } finally {
    db.close();
  }
}

interface LookupState {
  /** Every record's hash can be looked up: through the lookup table once complete, or through a legacy index. */
  complete: boolean;
  /** Records the build has copied into the lookup table so far. */
  copied: number;
}

function lookupState(reader: Database.Database): LookupState {
  const has = (type: string, name: string) => reader.prepare('SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?').get(type, name) !== undefined;
  // The previous release's index: what it built in one transaction (the test fails on it without the fix).
  if (has('index', 'audit_records_hash')) return { complete: true, copied: 0 };
  if (!has('table', 'audit_record_hashes_build')) return { complete: false, copied: 0 };
  const row = reader.prepare('SELECT copied, complete FROM audit_record_hashes_build').get() as { copied: number; complete: number };
  return { complete: row.complete === 1, copied: row.copied };
}

/** Every record is in the lookup under its own hash, and nothing else is. */
function expectLookupCompleteAndCorrect(file: string): void {
  const db = new Database(file, { readonly: true });
  try {
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const records = count('SELECT COUNT(*) FROM audit_records');
    expect(count('SELECT COUNT(*) FROM audit_record_hashes')).toBe(records);
    expect(count('SELECT COUNT(*) FROM audit_records r WHERE NOT EXISTS (SELECT 1 FROM audit_record_hashes h WHERE h.hash_prefix = substr(r.hash, 1, 16) AND h.record_id = r.id)')).toBe(0);
    expect(lookupState(db)).toMatchObject({ complete: true });
  } finally {
    db.close();
  }
}

describe('the audit hash lookup built after an upgrade', () => {
  it('does not hold up uploads: each is answered while the build goes on around it, and the build ends complete', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: 'inst-up' } });
    await f.server.close();
    asPreviousReleaseLeftIt(file);

    const reader = new Database(file, { readonly: true });
    try {
      const records = chainedRecords(1, 200, GENESIS_HASH, 'inst-up', 'u');
      const answers: { status: number; lookup: LookupState }[] = [];
      let copiedBefore = 0;
      // Sequential, as a device uploads; from the second on, each after the build has taken another step.
      const upload = async (): Promise<void> => {
        copiedBefore = lookupState(reader).copied;
        for (let i = 0; i < 10; i++) {
          if (i > 0) {
            const previous = answers[i - 1]!.lookup.copied;
            await waitFor(() => lookupState(reader).copied > previous, 60_000, 'another step of the build');
          }
          const answer = await postAuditBatch(f.server.url, device.device_credential, batchFor(device.device_id, records.slice(i * 20, i * 20 + 20)));
          const lookup = lookupState(reader);
          answers.push({ status: answer.status, lookup });
          // Waited for the whole build, or failed: the build has no further step to wait for.
          if (lookup.complete || answer.status !== 200) return;
        }
      };
      let uploads: Promise<void> | undefined;
      const log = captureLogger();
      f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, {
        log: log.log,
        backgroundWork: {
          // The uploads start with the build, and the build may end only once they are answered: so each answer's
          // lookup state tells whether the upload waited for the whole build (it did with the one CREATE INDEX).
          beforeBuild: async () => { uploads = upload(); },
          beforeStep: async (at) => { if (at.copied >= at.total! / 2) await uploads?.catch(() => undefined); },
        },
      });
      await waitFor(() => uploads !== undefined, 60_000, 'the build to start');
      await uploads;
      // Answered before the build finished, every one, while it went on between them.
      expect(answers.filter((a) => a.lookup.complete || a.status !== 200)).toEqual([]);
      expect(answers).toHaveLength(10);
      expect(answers[9]!.lookup.copied).toBeGreaterThan(copiedBefore);

      await f.server.backgroundWorkDone();
      expectLookupCompleteAndCorrect(file);
      expect(log.lines.filter((line) => /INFO +building the hash lookup audit_record_hashes in the background; until it is complete/.test(line))).toHaveLength(1);
      expect(log.lines.filter((line) => /INFO +built the hash lookup audit_record_hashes in \d+ ms/.test(line))).toHaveLength(1);
    } finally {
      reader.close();
    }
  }, BIG_FILE_TIMEOUT_MS);

  it('killed halfway (SIGKILL of the server), goes on at the next start from where it was and ends complete and correct', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    asPreviousReleaseLeftIt(file);
    const configFile = path.join(f.dir, 'control.json');
    fs.writeFileSync(configFile, JSON.stringify({ ...f.config, listen: { port: 0 } }));

    const reader = new Database(file, { readonly: true });
    const child = spawn(process.execPath, [SERVE_ENTRY, '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    let halfway: LookupState | undefined;
    try {
      // Seen a step in, then held by this connection's write lock (the server's next step waits for it), and killed there.
      await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`the server exited: ${stderr}`);
        const state = lookupState(reader);
        return state.copied > 0 ? state : undefined;
      }, 90_000, 'the first step of the build');
      const holder = new Database(file);
      holder.exec('BEGIN IMMEDIATE');
      halfway = lookupState(holder);
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      holder.exec('ROLLBACK');
      holder.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reader.close();
    }
    const at = halfway!;
    expect(at.copied).toBeGreaterThan(0);
    expect(at.copied).toBeLessThan(RECORDS);
    expect(at.complete).toBe(false);

    // The next start goes on from the mark: its log names where.
    const log = captureLogger();
    const store = new SqliteControlStore(file);
    try {
      expect(await store.auditRecordsWithHash('ab'.repeat(32))).toBeUndefined();
      const seen: HashLookupProgress[] = [];
      const work = store.startBackgroundWork(log.log, { beforeStep: async (progress) => { seen.push(progress); } });
      expect(await work?.done).toBe('built');
      expect(log.lines.filter((line) => line.includes(`building the hash lookup audit_record_hashes in the background (going on after the ${at.copied} records copied before)`))).toHaveLength(1);
      // Resumed, not started over: it sorted only the records after the mark, and copied each record once in all.
      expect(seen[0]).toEqual({ copied: at.copied, total: RECORDS, complete: false });
      expectLookupCompleteAndCorrect(file);
      const done = new Database(file, { readonly: true });
      expect(lookupState(done)).toEqual({ complete: true, copied: RECORDS });
      done.close();
      const sample = new Database(file, { readonly: true });
      const some = sample.prepare('SELECT device_id AS key, seq, hash FROM audit_records WHERE id IN (1, ?, ?)').all(Math.floor(RECORDS / 2), RECORDS) as { key: string; seq: number; hash: string }[];
      sample.close();
      expect(some).toHaveLength(3);
      for (const { key, seq, hash } of some) expect(await store.auditRecordsWithHash(hash)).toEqual([{ key, seq }]);
    } finally {
      await store.close();
    }
  }, BIG_FILE_TIMEOUT_MS);

  it('leaves the server answering while held: a backlog is matched by reading each chain, and a start after a stop builds it', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    const enroll = () => postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: 'inst-b' } });
    const first = await enroll();
    const records = chainedRecords(1, 20, GENESIS_HASH, 'inst-b', 'r');
    expect((await postAuditBatch(f.server.url, first.device_credential, batchFor(first.device_id, records))).status).toBe(200);
    await f.server.close();
    asPreviousReleaseLeftIt(file, 1000);

    // Held before it starts: the server answers, and matches a re-enrolled device's backlog without the lookup.
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const log = captureLogger();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: log.log, backgroundWork: { beforeBuild: () => held } });
    const second = await enroll();
    const resent = await postAuditBatch(f.server.url, second.device_credential, batchFor(second.device_id, records.slice(0, 10)));
    expect(resent.body).toMatchObject({ duplicate: true, chain_head: records[19]!.hash });

    // Stopped before it ran (a restart, a probe's kill): the next start builds it, records stored meanwhile included.
    await f.server.close();
    release();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: log.log });
    await f.server.backgroundWorkDone();
    expectLookupCompleteAndCorrect(file);
    expect(log.lines.filter((line) => /INFO +building the hash lookup audit_record_hashes in the background/.test(line))).toHaveLength(1);
    expect(log.lines.filter((line) => /INFO +built the hash lookup audit_record_hashes in \d+ ms/.test(line))).toHaveLength(1);

    // Once built, a start does no background work, and the backlog is matched through the lookup.
    await f.server.close();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: log.log });
    await f.server.backgroundWorkDone();
    const resentAgain = await postAuditBatch(f.server.url, second.device_credential, batchFor(second.device_id, records.slice(10, 20)));
    expect(resentAgain.body).toMatchObject({ duplicate: true, chain_head: records[19]!.hash });
    expect(log.lines.filter((line) => /building the hash lookup/.test(line))).toHaveLength(1);
  });

  it('is kept complete by a previous release after a rollback, which still opens the file', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    const db = new Database(file);
    // The schema version the previous release understands: it opens the file (it refuses a newer one).
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    // A record stored by the previous release, which knows nothing of the lookup.
    db.prepare('INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run('dev_old', 'b1', 1, GENESIS_HASH, 'ab'.repeat(32), '{}', new Date().toISOString());
    db.close();
    const store = new SqliteControlStore(file);
    try {
      expect(store.startBackgroundWork(testLogger())).toBeUndefined();
      expect(await store.auditRecordsWithHash('ab'.repeat(32))).toEqual([{ key: 'dev_old', seq: 1 }]);
    } finally {
      await store.close();
    }
  });

  it('is not built where the previous release built its index: lookups use that', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    asPreviousReleaseLeftIt(file, 1000);
    const db = new Database(file);
    db.exec('CREATE INDEX audit_records_hash ON audit_records (hash)');
    const held = db.prepare('SELECT device_id AS key, seq, hash FROM audit_records WHERE id = 7').get() as { key: string; seq: number; hash: string };
    db.close();
    const store = new SqliteControlStore(file);
    try {
      expect(store.startBackgroundWork(testLogger())).toBeUndefined();
      expect(await store.auditRecordsWithHash(held.hash)).toEqual([{ key: held.key, seq: held.seq }]);
    } finally {
      await store.close();
    }
    const after = new Database(file, { readonly: true });
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'audit_record_hashes%'").pluck().all()).toEqual([]);
    after.close();
  });

  it('is dropped, trigger and all, where a rolled-back previous release built its index after the lookup was made', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    // This release made the lookup (and its trigger); the previous one, rolled back to, then built its index.
    const db = new Database(file);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'audit_record_hashes%' ORDER BY name").pluck().all())
      .toEqual(['audit_record_hashes', 'audit_record_hashes_build', 'audit_record_hashes_on_insert']);
    db.exec('CREATE INDEX audit_records_hash ON audit_records (hash)');
    db.close();
    const store = new SqliteControlStore(file);
    try {
      expect(store.startBackgroundWork(testLogger())).toBeUndefined();
      const writer = new Database(file);
      writer.prepare('INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run('dev_new', 'b1', 1, GENESIS_HASH, 'cd'.repeat(32), '{}', new Date().toISOString());
      writer.close();
      expect(await store.auditRecordsWithHash('cd'.repeat(32))).toEqual([{ key: 'dev_new', seq: 1 }]);
    } finally {
      await store.close();
    }
    // Nothing reads the table any more: no trigger writing each new record into it, and no table.
    const after = new Database(file, { readonly: true });
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'audit_record_hashes%'").pluck().all()).toEqual([]);
    after.close();
  });

  it('finds only the record with the whole hash, not another sharing its first 16 hex digits', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    const prefix = 'ab'.repeat(8);
    const first = prefix + '11'.repeat(24);
    const second = prefix + '22'.repeat(24);
    const db = new Database(file);
    const insert = db.prepare('INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run('dev_a', 'b1', 1, GENESIS_HASH, first, '{}', new Date().toISOString());
    insert.run('dev_b', 'b1', 1, GENESIS_HASH, second, '{}', new Date().toISOString());
    expect(db.prepare('SELECT COUNT(*) FROM audit_record_hashes WHERE hash_prefix = ?').pluck().get(prefix)).toBe(2);
    db.close();
    const store = new SqliteControlStore(file);
    try {
      expect(store.startBackgroundWork(testLogger())).toBeUndefined();
      expect(await store.auditRecordsWithHash(first)).toEqual([{ key: 'dev_a', seq: 1 }]);
      expect(await store.auditRecordsWithHash(second)).toEqual([{ key: 'dev_b', seq: 1 }]);
      expect(await store.auditRecordsWithHash(prefix + '33'.repeat(24))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('stopped while it sorts, stops after the range of records under way, and the next start builds it', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    // More records than one range of the sort: a server stopping meanwhile waits for a range, not the whole sort.
    asPreviousReleaseLeftIt(file, 120_000);
    const store = new SqliteControlStore(file);
    try {
      let ranges = 0;
      let steps = 0;
      let stopping: Promise<void> | undefined;
      const work: BackgroundWork = store.startBackgroundWork(testLogger(), {
        beforeSortRange: async () => { ranges += 1; stopping ??= work.stop(); },
        beforeStep: async () => { steps += 1; },
      })!;
      expect(await work.done).toBe('stopped');
      await stopping;
      expect({ ranges, steps }).toEqual({ ranges: 1, steps: 0 });
    } finally {
      await store.close();
    }
    const reader = new Database(file, { readonly: true });
    expect(lookupState(reader)).toEqual({ complete: false, copied: 0 });
    reader.close();

    const next = new SqliteControlStore(file);
    try {
      expect(await next.startBackgroundWork(testLogger())?.done).toBe('built');
    } finally {
      await next.close();
    }
    expectLookupCompleteAndCorrect(file);
  }, BIG_FILE_TIMEOUT_MS);

  it('built by two server instances on one file at once, is complete from the moment one finishes and counts each record once', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const file = f.config.storage!.sqlite_path!;
    await f.server.close();
    // Several steps' worth: the second build sorts from where the first is, then goes through keys the first copies meanwhile.
    const records = 30_000;
    asPreviousReleaseLeftIt(file, records);
    const first = new SqliteControlStore(file);
    const second = new SqliteControlStore(file);
    const reader = new Database(file, { readonly: true });
    const build = () => reader.prepare('SELECT copied_prefix, copied_id, copied, complete FROM audit_record_hashes_build').get() as
      { copied_prefix: string; copied_id: number; copied: number; complete: number };
    try {
      let releaseFirst!: () => void;
      const firstHeld = new Promise<void>((resolve) => { releaseFirst = resolve; });
      let startSecond!: () => void;
      const secondMayStart = new Promise<void>((resolve) => { startSecond = resolve; });
      // The first is held after a step until the second has sorted what is left from the first's mark.
      const a = first.startBackgroundWork(testLogger(), {
        beforeStep: async (at) => { if (at.copied > 0 && at.copied < records) { startSecond(); await firstHeld; } },
      })!;
      let firstDone: Promise<'built' | 'stopped' | 'failed'> | undefined;
      const afterFirst: { complete: number; copied: number }[] = [];
      const b = second.startBackgroundWork(testLogger(), {
        beforeBuild: () => secondMayStart,
        // Sorted: the first now completes, and every step of the second comes after that.
        beforeStep: async () => {
          if (!firstDone) { releaseFirst(); firstDone = a.done; expect(await firstDone).toBe('built'); }
          const row = build();
          afterFirst.push({ complete: row.complete, copied: row.copied });
        },
      })!;
      expect(await b.done).toBe('built');
      expect(await a.done).toBe('built');
      // Once complete it stays complete, whatever steps the second takes after.
      expect(afterFirst.filter((row) => row.complete !== 1)).toEqual([]);
      const ended = build();
      const lastKey = reader.prepare('SELECT substr(hash, 1, 16) AS copied_prefix, id AS copied_id FROM audit_records ORDER BY 1 DESC, 2 DESC LIMIT 1').get();
      expect(ended).toEqual({ ...(lastKey as object), copied: records, complete: 1 });
    } finally {
      reader.close();
      await first.close();
      await second.close();
    }
    expectLookupCompleteAndCorrect(file);
  }, BIG_FILE_TIMEOUT_MS);
});
