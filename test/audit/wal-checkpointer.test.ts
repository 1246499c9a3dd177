import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditDatabase } from '../../src/audit/database.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { WalCheckpointer } from '../../src/audit/wal-checkpointer.js';
import { createLogger, type Logger } from '../../src/log.js';
import { sampleRecord, tempDbPath } from './support/records.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function outbox(options: Partial<ConstructorParameters<typeof AuditOutbox>[0]> & { path: string }): AuditOutbox {
  const o = new AuditOutbox(options);
  cleanups.push(() => o.close());
  return o;
}

/** The project's logger at warn level, keeping its lines. */
function recordingLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { log: createLogger('warn', (line) => warnings.push(line)), warnings };
}

const walBytes = (dbPath: string) => (fs.existsSync(`${dbPath}-wal`) ? fs.statSync(`${dbPath}-wal`).size : 0);

describe('WAL checkpoints off the event loop', () => {
  it('copies the WAL into the database from a worker thread, and the chain still verifies', async () => {
    const dbPath = tempDbPath('edge-wal-');
    const o = outbox({ path: dbPath, offThreadCheckpoints: true });
    for (let i = 0; i < 600; i++) await o.appendDurable(sampleRecord(i));
    const result = await o.checkpoint();
    expect(result.log).toBeGreaterThan(0);
    expect(result.checkpointed).toBe(result.log);
    // The pages reached the database file itself, not only the WAL: a copy of the file alone holds every
    // record. (Its size is no proof: a background checkpoint may already have grown it during the appends.)
    const fileAlone = `${dbPath}.copy`;
    fs.copyFileSync(dbPath, fileAlone);
    cleanups.push(() => fs.rmSync(fileAlone, { force: true }));
    const copy = new Database(fileAlone, { readonly: true });
    try {
      expect(copy.prepare('SELECT count(*) AS n FROM audit_records').get()).toEqual({ n: 600 });
    } finally {
      copy.close();
    }
    expect(runAuditVerifyCommand({ dbPath }).stdout).toMatch(/^audit chain OK/);
  });

  it("turns off the writer's own automatic checkpoints while the worker runs", () => {
    const dbPath = tempDbPath('edge-wal-');
    const db = openAuditDatabase(dbPath);
    const checkpointer = new WalCheckpointer({ dbPath, db });
    cleanups.push(() => { checkpointer.stop(); db.close(); });
    expect(checkpointer.offThread).toBe(true);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
  });

  it('keeps the WAL bounded under back-to-back commits', async () => {
    const dbPath = tempDbPath('edge-wal-');
    const db = openAuditDatabase(dbPath);
    const checkpointer = new WalCheckpointer({ dbPath, db, commitsPerCheckpoint: 16, maxWalPages: 256 });
    cleanups.push(() => { checkpointer.stop(); db.close(); });
    const insert = db.prepare('INSERT INTO audit_records (seq, record_json, prev_hash, hash, bytes) VALUES (?, ?, ?, ?, ?)');
    const filler = 'x'.repeat(2000);
    await checkpointer.checkpointNow(); // the worker thread is up
    let largest = 0;
    for (let seq = 1; seq <= 8000; seq++) {
      insert.run(seq, `{"n":"${filler}"}`, '0'.repeat(64), '1'.repeat(64), 2000);
      checkpointer.noteCommit();
      // Let the worker's answers in now and then, as an agent's event loop would.
      if (seq % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      largest = Math.max(largest, walBytes(dbPath));
    }
    expect(checkpointer.checkpoints).toBeGreaterThan(10);
    // ~32 MB of pages was written; unchecked, the WAL would hold all of it. How far the file grows while one
    // checkpoint is out depends on the disk: alone it stays near 1–3 MB, but when other test files flush
    // at the same time a checkpoint's fsync can take seconds and the writer (never stalled, by design)
    // went on to 17 and once 38 MB. So the file's extent is only checked against pathological growth,
    // and what bounds the WAL is checked directly: once a checkpoint catches up, the WAL starts over
    // instead of growing, and new commits fill it from its start.
    expect(largest).toBeLessThan(64 * 1024 * 1024);
    const caughtUp = await checkpointer.checkpointNow();
    expect(caughtUp.checkpointed).toBe(caughtUp.log);
    for (let seq = 8001; seq <= 8100; seq++) {
      insert.run(seq, `{"n":"${filler}"}`, '0'.repeat(64), '1'.repeat(64), 2000);
    }
    const after = await checkpointer.checkpointNow();
    // 100 commits of one 2 KB record: a few hundred frames, not the tens of thousands written before.
    expect(after.log).toBeLessThan(1000);
    expect(after.log).toBeGreaterThan(0);
  });

  it('never stalls the writer when a reader holds an old snapshot (the restart is left for later)', async () => {
    const dbPath = tempDbPath('edge-wal-');
    const db = openAuditDatabase(dbPath, { busyTimeoutMs: 5000 });
    const checkpointer = new WalCheckpointer({ dbPath, db, commitsPerCheckpoint: 16, maxWalPages: 50 });
    cleanups.push(() => { checkpointer.stop(); db.close(); });
    const insert = db.prepare('INSERT INTO audit_records (seq, record_json, prev_hash, hash, bytes) VALUES (?, ?, ?, ?, ?)');
    const filler = 'y'.repeat(3000);
    insert.run(1, `{"n":"${filler}"}`, '0'.repeat(64), '1'.repeat(64), 3000);
    await checkpointer.checkpointNow(); // the worker thread is up
    // `audit verify` in another process: a read transaction on the snapshot of that moment.
    const reader = new Database(dbPath, { readonly: true });
    cleanups.push(() => reader.close());
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM audit_records').get();
    let worstStallMs = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      worstStallMs = Math.max(worstStallMs, now - last);
      last = now;
    }, 5);
    try {
      for (let seq = 2; checkpointer.checkpoints < 4 && seq < 3000; seq++) {
        insert.run(seq, `{"n":"${filler}"}`, '0'.repeat(64), '1'.repeat(64), 3000);
        checkpointer.noteCommit();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      clearInterval(tick);
      reader.exec('COMMIT');
    }
    // Past maxWalPages with the reader in the way: the writer tried to restart the WAL and did not wait.
    expect(checkpointer.checkpoints).toBeGreaterThanOrEqual(4);
    expect(worstStallMs).toBeLessThan(1000);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it("falls back to the writer's own checkpoints, with a warning, when the worker cannot run", async () => {
    const dbPath = tempDbPath('edge-wal-');
    const db = openAuditDatabase(dbPath);
    const { log, warnings } = recordingLog();
    const checkpointer = new WalCheckpointer({ dbPath, db, log, workerSource: 'throw new Error("no sqlite here")' });
    cleanups.push(() => { checkpointer.stop(); db.close(); });
    const pending = checkpointer.checkpointNow();
    await expect(pending).rejects.toThrow(/checkpoint worker/);
    expect(checkpointer.offThread).toBe(false);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(warnings.join('\n')).toMatch(/checkpoint worker failed \(no sqlite here\).*own thread again/);
  });

  it('a checkpoint asked for while one is running waits for the next: the running one may predate its commits', async () => {
    const dbPath = tempDbPath('edge-wal-');
    const db = openAuditDatabase(dbPath);
    // A stand-in worker that numbers its checkpoints (log = the how-manieth) and takes 100 ms for the first.
    const numbering = `
      const { parentPort } = require('node:worker_threads');
      let n = 0;
      parentPort.on('message', () => {
        n++;
        const answer = { ok: true, log: n, checkpointed: n, ms: 0 };
        setTimeout(() => parentPort.postMessage(answer), n === 1 ? 100 : 0);
      });`;
    const checkpointer = new WalCheckpointer({ dbPath, db, commitsPerCheckpoint: 1, workerSource: numbering });
    cleanups.push(() => { checkpointer.stop(); db.close(); });
    checkpointer.noteCommit(); // a background checkpoint starts
    const first = checkpointer.checkpointNow(); // asked while it runs, after a commit it may have missed
    const second = checkpointer.checkpointNow();
    expect((await first).log).toBe(2);
    expect((await second).log).toBe(2);
    expect(checkpointer.checkpoints).toBe(2);
    // Nothing running: a request starts its own.
    expect((await checkpointer.checkpointNow()).log).toBe(3);
  });

  it('never keeps the process alive', () => {
    const dbPath = tempDbPath('edge-wal-');
    const outboxModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/audit/outbox.js');
    // The outbox is left open on purpose: the worker thread alone must not hold the process.
    const script = `import { AuditOutbox } from ${JSON.stringify(outboxModule)};
      const o = new AuditOutbox({ path: ${JSON.stringify(dbPath)}, offThreadCheckpoints: true });
      await o.appendDurable({ request_id: 'r1', ts: new Date().toISOString(), device_id: 'd', app: 'a', host: 'h', decision: 'allowed', latency_ms: 1 });
      console.log('written');`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('written');
    expect(run.status).toBe(0);
    const check = new Database(dbPath, { readonly: true });
    cleanups.push(() => check.close());
    expect(check.prepare('SELECT COUNT(*) AS n FROM audit_records').get()).toEqual({ n: 1 });
  });
});
