import type Database from 'better-sqlite3';

/**
 * Where a record with a given hash is stored (ControlStore.auditRecordsWithHash): a headless batch is looked up
 * where its first record (or the one it links to) is stored, instead of reading every chain of every enrollment.
 *
 * A table of (hash prefix, record id) rather than an index on audit_records: an index over millions of records is
 * one CREATE INDEX, one transaction holding the write lock for seconds, and every device's upload waited behind it
 * (then failed with a 500 and retried). The table is filled instead by BackgroundWork (background-index-build.ts):
 * it sorts the records' keys beside the database (a read, which never blocks a writer; in ranges of ids, so a
 * stop waits for one range), then copies them in key
 * order in short transactions, each advancing a high-water mark, so a build stopped or killed halfway goes on from
 * there at the next start. In key order each step appends to the table's last pages instead of rewriting pages all
 * over it (copied in id order, the steps slowed down as the table grew: 35 s for 300,000 records).
 *
 * Records stored after the table was made reach it through a trigger, not through the server's code, so a server
 * rolled back to a previous release (which knows nothing of it) keeps it complete too. Added without raising
 * `user_version`, like the chain events: the previous release still opens the file. The first 16 hex digits of a
 * hash (64 bits) tell records apart well enough for a lookup, which compares the whole hash in audit_records.
 */
export const HASH_LOOKUP_TABLE = 'audit_record_hashes';

/** The index the previous release built on audit_records (hash) in one transaction: used instead when a database has it. */
const LEGACY_HASH_INDEX = 'audit_records_hash';

/**
 * Run in the migration's transaction, so no record falls between the mark and the trigger: records up to
 * `last_id` (the highest id when the table was made) are the build's, later ones the trigger's. Creating
 * it is cheap at any size (MAX(id) is one seek); an empty database has nothing to build. `copied_prefix` and
 * `copied_id`: the furthest key the build copied (in key order).
 */
const HASH_LOOKUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${HASH_LOOKUP_TABLE} (
  hash_prefix TEXT NOT NULL,
  record_id INTEGER NOT NULL,
  PRIMARY KEY (hash_prefix, record_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_record_hashes_build (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_id INTEGER NOT NULL,
  copied_prefix TEXT NOT NULL DEFAULT '',
  copied_id INTEGER NOT NULL DEFAULT 0,
  copied INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_record_hashes_on_insert AFTER INSERT ON audit_records BEGIN
  INSERT OR IGNORE INTO ${HASH_LOOKUP_TABLE} (hash_prefix, record_id) VALUES (substr(NEW.hash, 1, 16), NEW.id);
END;
INSERT OR IGNORE INTO audit_record_hashes_build (id, last_id, complete) SELECT 1, COALESCE(MAX(id), 0), MAX(id) IS NULL FROM audit_records;
`;

/** How far the build is: `copied` records of the `last_id` first ones are in the table. */
export interface HashLookupProgress {
  copied: number;
  /** How many the build copies in all (known once it has sorted them: else undefined). */
  total?: number;
  complete: boolean;
}

/**
 * Makes the table (when the database has no legacy index); a no-op once made. Call inside the migration's transaction.
 * Where the legacy index exists the table goes, with its trigger and progress: a server rolled back to the previous
 * release after the table was made builds that index, lookups use it from then on, and the trigger would go on
 * adding every record to a table nothing reads.
 */
export function prepareHashLookup(db: Database.Database): void {
  db.exec(hasLegacyHashIndex(db) ? DROP_HASH_LOOKUP : HASH_LOOKUP_SCHEMA);
}

const DROP_HASH_LOOKUP = `
DROP TRIGGER IF EXISTS audit_record_hashes_on_insert;
DROP TABLE IF EXISTS ${HASH_LOOKUP_TABLE};
DROP TABLE IF EXISTS audit_record_hashes_build;
`;

function hasLegacyHashIndex(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?").get(LEGACY_HASH_INDEX) !== undefined;
}

/** undefined when the database has no table (it has the legacy index instead). */
function hashLookupComplete(db: Database.Database): boolean | undefined {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_record_hashes_build'").get() === undefined) return undefined;
  return db.prepare('SELECT complete FROM audit_record_hashes_build WHERE id = 1').pluck().get() === 1;
}

/**
 * The query finding records by hash (its parameter: `@hash`), or undefined while there is none yet: the legacy index
 * where a previous release built it (a server rolled back to it builds it too), else the table once complete.
 */
export function recordsWithHashQuery(db: Database.Database): string | undefined {
  if (hasLegacyHashIndex(db)) return RECORDS_WITH_HASH_BY_LEGACY_INDEX;
  return hashLookupComplete(db) === true ? RECORDS_WITH_HASH : undefined;
}

/**
 * The SQL of the build, run by BackgroundWork's worker on its own connection. `sortChunk`: the keys still to copy
 * of one range of record ids, into a TEMP table of that connection kept in key order (reading the database,
 * writing nothing of it); in ranges, so a server stopping meanwhile waits for one range, not a sort of every record.
 * `step`, in an IMMEDIATE transaction (it waits for the write lock like any writer instead of failing on a stale
 * snapshot): the next keys after the step's cursor (`stepEnd`: the last of them), and the mark moved past them.
 */
export const HASH_LOOKUP_BUILD_SQL = {
  progress: 'SELECT last_id, copied_prefix, copied_id, copied, complete FROM audit_record_hashes_build WHERE id = 1',
  sortInto: `CREATE TEMP TABLE IF NOT EXISTS sorted_hashes (hash_prefix TEXT NOT NULL, record_id INTEGER NOT NULL,
    PRIMARY KEY (hash_prefix, record_id)) WITHOUT ROWID`,
  sortChunk: `INSERT OR IGNORE INTO temp.sorted_hashes (hash_prefix, record_id)
    SELECT substr(hash, 1, 16) AS hash_prefix, id AS record_id FROM audit_records
    WHERE id > @from_id AND id <= @to_id AND (substr(hash, 1, 16), id) > (@copied_prefix, @copied_id)
    ORDER BY hash_prefix, record_id`,
  sorted: 'SELECT COUNT(*) FROM temp.sorted_hashes',
  stepEnd: `SELECT hash_prefix, record_id FROM (SELECT hash_prefix, record_id FROM temp.sorted_hashes
    WHERE (hash_prefix, record_id) > (@prefix, @id) ORDER BY hash_prefix, record_id LIMIT @keys) ORDER BY hash_prefix DESC, record_id DESC LIMIT 1`,
  copy: `INSERT OR IGNORE INTO ${HASH_LOOKUP_TABLE} (hash_prefix, record_id) SELECT hash_prefix, record_id FROM temp.sorted_hashes
    WHERE (hash_prefix, record_id) > (@prefix, @id) AND (hash_prefix, record_id) <= (@to_prefix, @to_id) ORDER BY hash_prefix, record_id`,
  moreAfter: 'SELECT 1 FROM temp.sorted_hashes WHERE (hash_prefix, record_id) > (@prefix, @id) LIMIT 1',
  // Forwards only, and never back to incomplete: two server instances on one file may build at once, the one that
  // started later going through keys the other has copied (a row value compares the key as the ORDER BY sorts it).
  advance: `UPDATE audit_record_hashes_build SET
    copied_prefix = CASE WHEN (@prefix, @id) > (copied_prefix, copied_id) THEN @prefix ELSE copied_prefix END,
    copied_id = CASE WHEN (@prefix, @id) > (copied_prefix, copied_id) THEN @id ELSE copied_id END,
    copied = copied + @copied, complete = MAX(complete, @complete) WHERE id = 1`,
} as const;

/** Records with `hash`, the latest stored first: the table finds candidates by prefix, audit_records holds the whole hash. */
const RECORDS_WITH_HASH = `SELECT r.device_id AS key, r.seq FROM ${HASH_LOOKUP_TABLE} h JOIN audit_records r ON r.id = h.record_id
  WHERE h.hash_prefix = substr(@hash, 1, 16) AND r.hash = @hash ORDER BY h.record_id DESC`;

/** The same through the legacy index. */
const RECORDS_WITH_HASH_BY_LEGACY_INDEX = 'SELECT device_id AS key, seq FROM audit_records WHERE hash = @hash ORDER BY id DESC';
