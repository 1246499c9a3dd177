import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AuditDatabaseError } from './errors.js';
import { AUDIT_SCHEMA_VERSION, MIGRATIONS } from './migrations.js';

export type AuditDatabase = Database.Database;

export interface OpenAuditDatabaseOptions {
  /**
   * NORMAL (default): in WAL mode a commit survives a crash of the process (SIGKILL, OOM) but the
   * last transactions may be lost on power failure. FULL: fsync on every commit, survives power loss,
   * costs a disk flush per group commit.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a writer waits for another connection's lock (e.g. `audit verify` reading) before failing. */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) the outbox database for writing, in WAL mode, with the schema up to date. */
export function openAuditDatabase(dbPath: string, options: OpenAuditDatabaseOptions = {}): AuditDatabase {
  fs.mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true, mode: 0o700 });
  // Records can hold prompt text and e-mail addresses: owner-only. SQLite gives the -wal and -shm
  // files the main file's permissions, so creating it 0600 covers all three.
  if (!fs.existsSync(dbPath)) fs.closeSync(fs.openSync(dbPath, 'a', 0o600));
  const db = new Database(dbPath);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') {
      throw new AuditDatabaseError(`could not switch ${dbPath} to WAL journaling (got ${String(mode)}); put the data dir on a local disk, not a network share.`);
    }
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens an existing outbox for reading only (`audit verify`, `audit tail`), safe to run while the
 * agent is writing: WAL lets readers see the last committed state without blocking the writer.
 */
export function openAuditDatabaseReadOnly(dbPath: string): AuditDatabase {
  if (!fs.existsSync(dbPath)) {
    throw new AuditDatabaseError(`no audit database at ${dbPath}; check --data-dir points at the agent's data directory.`);
  }
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const version = schemaVersion(db);
    if (version === 0) throw new AuditDatabaseError(`${dbPath} is not a Bifrost Edge audit database (no schema); check the path.`);
    if (version > AUDIT_SCHEMA_VERSION) {
      throw new AuditDatabaseError(`${dbPath} has audit schema v${version}, newer than this build understands (v${AUDIT_SCHEMA_VERSION}); use the Edge version that wrote it.`);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * SQLite's answer for a file whose pages are not a valid database (a disk fault, a half-finished
 * restore), as opposed to one it could not open or lock: no retry helps, the file itself is bad.
 */
export function isDamagedDatabaseError(error: unknown): boolean {
  if (!(error instanceof Database.SqliteError)) return false;
  return error.code.startsWith('SQLITE_CORRUPT') || error.code === 'SQLITE_NOTADB';
}

/** The level in schema_migrations, not counting additive migrations an earlier build recorded there. */
function schemaVersion(db: AuditDatabase): number {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return 0;
  const additive = MIGRATIONS.filter((m) => m.additive).map((m) => m.version);
  const row = db.prepare(`SELECT MAX(version) AS version FROM schema_migrations WHERE version NOT IN (${additive.join(', ')})`).get() as { version: number | null };
  return row.version ?? 0;
}

function migrate(db: AuditDatabase): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  // Older builds never read this table: what is recorded here does not stop them opening the file.
  db.exec('CREATE TABLE IF NOT EXISTS schema_additions (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  // IMMEDIATE so two processes opening a fresh file do not both run migration 1.
  db.transaction(() => {
    moveAdditionsOffSchemaLevel(db);
    const current = schemaVersion(db);
    if (current > AUDIT_SCHEMA_VERSION) {
      throw new AuditDatabaseError(`audit database has schema v${current}, newer than this build (v${AUDIT_SCHEMA_VERSION}); upgrade Edge or move the file aside.`);
    }
    const added = new Set((db.prepare('SELECT version FROM schema_additions').all() as { version: number }[]).map((row) => row.version));
    const recordCore = db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)');
    const recordAddition = db.prepare('INSERT INTO schema_additions (version, description, applied_at) VALUES (?, ?, ?)');
    for (const migration of MIGRATIONS) {
      if (migration.additive ? added.has(migration.version) : migration.version <= current) continue;
      db.exec(migration.sql);
      (migration.additive ? recordAddition : recordCore).run(migration.version, migration.description, new Date().toISOString());
    }
  }).immediate();
}

/**
 * A build before schema_additions existed recorded additive migrations in schema_migrations, where the
 * releases before it read them as a newer schema and refuse the file: moved to where they belong.
 */
function moveAdditionsOffSchemaLevel(db: AuditDatabase): void {
  for (const migration of MIGRATIONS) {
    if (!migration.additive) continue;
    db.prepare('INSERT OR IGNORE INTO schema_additions (version, description, applied_at) SELECT version, description, applied_at FROM schema_migrations WHERE version = ?').run(migration.version);
    db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(migration.version);
  }
}
