import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type PolicyDatabase = Database.Database;

/**
 * Opens (creating if needed) the SQLite file that holds the device's policy state: usage counters, fired
 * budget alerts and the shadow-AI registry. WAL with synchronous=NORMAL survives a crash of the agent
 * (the counters must hold across restarts); `:memory:` is for tests.
 */
export function openPolicyDatabase(file: string): PolicyDatabase {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 2000');
  return db;
}
