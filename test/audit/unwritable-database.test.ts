import { spawn } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { createLogger } from '../../src/log.js';
import { until } from '../support/until.js';
import { FIXTURES } from './support/child.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * A commit that fails (a full disk, an I/O error) is a queue condition. It used to leave the level
 * "ok" with no event: failing closed, every request was forwarded (and billed) and then cut off when
 * its record could not be written; failing open, answered unrecorded with only a log line.
 */

const open: AuditOutbox[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function runUnderFileSizeLimit(dbPath: string, limitKiB: number, worker = 'disk-full-worker.mjs'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `ulimit -f ${limitKiB}; exec "$0" "$1" "$2"`, process.execPath, path.join(FIXTURES, worker), dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('close', () => (stdout.trim() ? resolve(stdout.trim()) : reject(new Error(`the disk-full worker printed nothing; stderr:\n${stderr}`))));
  });
}

/** Makes every COMMIT on `o`'s connection fail until the returned function is called (as SQLITE_FULL would). */
function failCommits(dbPath: string, o: AuditOutbox): () => void {
  const other = new Database(dbPath);
  other.exec(`CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TABLE armed(v); INSERT INTO armed VALUES (1);
    CREATE TRIGGER fail_append AFTER INSERT ON audit_records WHEN (SELECT count(*) FROM armed) > 0 BEGIN INSERT INTO child VALUES (42); END;
    CREATE TRIGGER fail_probe AFTER INSERT ON write_probe WHEN (SELECT count(*) FROM armed) > 0 BEGIN INSERT INTO child VALUES (42); END;`);
  (o as unknown as { db: Database.Database }).db.pragma('foreign_keys = ON');
  return () => {
    other.exec('DELETE FROM armed');
    other.close();
  };
}

describe('an audit database that cannot be written', () => {
  it('a full disk (file size limit) makes the queue unwritable, with the reason and an event', async () => {
    if (process.platform === 'win32') return;
    const dbPath = tempDbPath();
    const seed = new AuditOutbox({ path: dbPath });
    for (let i = 1; i <= 200; i++) seed.append(sampleRecord(i));
    await seed.flush();
    seed.close();

    const report = JSON.parse(await runUnderFileSizeLimit(dbPath, 1024)) as { commitError?: string; status: { level: string; unwritable: string | null }; events: { event: string; reason?: string }[] };
    expect(report.commitError).toMatch(/SQLITE_(IOERR|FULL)/);
    expect(report.status.unwritable).toMatch(/SQLITE_(IOERR|FULL)/);
    expect(report.events.map((e) => e.event)).toEqual(['queue_unwritable']);
    expect(report.events[0]!.reason).toBe(report.status.unwritable);
  }, 60_000);

  it('stays unwritable while the disk is still full: the probe writes as much as the commit that failed', async () => {
    if (process.platform === 'win32') return;
    const report = JSON.parse(await runUnderFileSizeLimit(tempDbPath(), 1024, 'disk-full-probe-worker.mjs')) as { filled: number; letThrough: number; committedAfter: number; events: string[]; unwritable: string | null };
    expect(report.filled).toBeGreaterThan(0);
    expect(report.filled).toBeLessThan(1000);
    // Reported writable while a record of that size cannot be stored would let requests through
    // (failing closed) only to cut them off; it flapped writable/unwritable every probe.
    expect(report).toMatchObject({ letThrough: 0, committedAfter: 0, events: ['unwritable'] });
    expect(report.unwritable).toMatch(/SQLITE_(IOERR|FULL)/);
  }, 60_000);

  it('clears on its own once a probe commit succeeds, without any new record', async () => {
    const dbPath = tempDbPath();
    const lines: string[] = [];
    const o = new AuditOutbox({ path: dbPath, writeProbeMs: 50, log: createLogger('info', (line) => lines.push(line)) });
    open.push(o);
    await o.appendDurable(sampleRecord(1));
    const events: string[] = [];
    o.on('queue_unwritable', () => events.push('unwritable'));
    o.on('queue_writable', () => events.push('writable'));
    const restore = failCommits(dbPath, o);

    await expect(o.appendDurable(sampleRecord(2))).rejects.toThrow(/FOREIGN KEY/);
    await expect(o.appendDurable(sampleRecord(3))).rejects.toThrow(/FOREIGN KEY/);
    expect(o.status().unwritable).toMatch(/FOREIGN KEY/);
    expect(events).toEqual(['unwritable']);
    expect(lines.join('')).toMatch(/the audit database .* cannot be written \(.*FOREIGN KEY.*\).*free disk space/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(o.status().unwritable).toMatch(/FOREIGN KEY/); // still failing: the probe does not clear it

    restore();
    expect(await until(() => o.status().unwritable === null, 5000)).toBe(true);
    expect(events).toEqual(['unwritable', 'writable']);
    await o.appendDurable(sampleRecord(4));
    expect(o.head().seq).toBe(2);
  });

  it('clears at the next commit that succeeds', async () => {
    const dbPath = tempDbPath();
    const o = new AuditOutbox({ path: dbPath, writeProbeMs: 60_000 });
    open.push(o);
    const restore = failCommits(dbPath, o);
    await expect(o.appendDurable(sampleRecord(1))).rejects.toThrow(/FOREIGN KEY/);
    expect(o.status().unwritable).not.toBeNull();
    restore();
    await o.appendDurable(sampleRecord(2));
    expect(o.status().unwritable).toBeNull();
  });
});
