import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type PolicyDatabase = Database.Database;

/**
 * Opens (creating if needed) the SQLite file that holds the device's policy state: usage counters, fired
 * budget alerts and the shadow-AI registry. WAL with synchronous=NORMAL survives a crash of the agent
 * (the counters must hold across restarts); `:memory:` is for tests.
 */
export function openPolicyDatabase(file: string, options: { onSetAside?: (movedTo: string, error: Error) => void } = {}): PolicyDatabase {
  if (file === ':memory:') return open(file);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    return open(file);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') {
      // SQLite's message ("unable to open database file") does not say which file.
      throw new Error(
        `could not open the policy database ${file} (${(error as Error).message}); check that it is a file this user can ` +
        'read and write, on a local disk with free space, then start Edge again.',
        { cause: error },
      );
    }
    // A damaged file (a disk fault, a half-restored backup) must not keep the agent from starting and
    // governing traffic: it is kept aside for support and counting starts over (the gateway's own
    // limits still hold in gateway mode).
    const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, movedTo + suffix);
    }
    options.onSetAside?.(movedTo, error as Error);
    return open(file);
  }
}

function open(file: string): PolicyDatabase {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 2000');
    // Reading the schema finds a file that is not a database, or a damaged first page.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
