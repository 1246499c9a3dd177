import { GENESIS_HASH } from './chain.js';

/**
 * Schema changes, applied in order. Append new entries; never edit an applied one, because devices in
 * the field already ran it.
 *
 * Where a migration is recorded decides which builds can still open the file. Every build refuses a
 * database whose `schema_migrations` level is above its own, so a migration recorded there locks out
 * the releases before it, and a rollback (routine under MDM) would leave the agent unable to start.
 * A migration that only adds (new tables, nullable columns) is recorded in `schema_additions` instead:
 * older builds do not look there, open the file, and write it as they always did, ignoring what they
 * do not know; what this build keeps in the additions must stay right whatever such a build appends.
 */
export interface Migration {
  version: number;
  description: string;
  /** Only adds tables or nullable columns that older builds can ignore: recorded in `schema_additions`. */
  additive?: true;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'hash-chained audit records, prune checkpoint, per-destination ship cursors',
    sql: `
      -- One row per record. seq is the chain position (assigned by the outbox, never reused);
      -- record_json is canonicalJson(record), exactly the text that is hashed.
      CREATE TABLE audit_records (
        seq INTEGER PRIMARY KEY,
        record_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        bytes INTEGER NOT NULL
      );
      -- Where the stored chain starts after pruning: the seq and hash of the last pruned record, so the
      -- first stored record can still be checked against its predecessor.
      CREATE TABLE chain_checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        pruned_through_seq INTEGER NOT NULL,
        pruned_head_hash TEXT NOT NULL
      );
      INSERT INTO chain_checkpoint (id, pruned_through_seq, pruned_head_hash) VALUES (1, 0, '${GENESIS_HASH}');
      -- One cursor per destination (Edge Control, an OTLP collector): acknowledged watermark plus the
      -- range of a shipment that was sent but not yet acknowledged, so a resend after a crash is identical.
      CREATE TABLE ship_cursors (
        destination TEXT PRIMARY KEY,
        sent_through_seq INTEGER NOT NULL,
        sent_head_hash TEXT NOT NULL,
        inflight_first_seq INTEGER,
        inflight_last_seq INTEGER
      );
    `,
  },
  {
    version: 2,
    description: 'chain identity: tells this database\'s chain from one an earlier, replaced database wrote',
    additive: true,
    sql: `
      -- Random, fixed when the database is created (or first upgraded). Uploads carry it only once Edge
      -- Control is found to hold a different chain for the device (this database replaced a damaged one),
      -- so the server keeps the new chain beside the old one instead of refusing it.
      CREATE TABLE chain_identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        chain_id TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      INSERT INTO chain_identity (id, chain_id, created_at) VALUES (1, lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
    `,
  },
  {
    version: 3,
    description: 'chain identity: where Edge Control\'s copy of this database\'s chain starts, once it keeps it as a further chain',
    additive: true,
    sql: `
      -- NULL while Edge Control keeps this database's records as the device's first chain (batches
      -- carry no chain_id). Set, with a fresh chain_id, when it must keep them as a further chain (it
      -- holds a different one for the device): from then on every batch carries chain_id, after a
      -- restart too. An older build ignores it: its batches, without chain_id, are refused (409) and
      -- stay queued, so nothing it appends is lost.
      ALTER TABLE chain_identity ADD COLUMN new_chain_from_seq INTEGER;
    `,
  },
  {
    version: 4,
    description: 'write probe: a scratch row that proves a failed commit\'s size can be written again',
    additive: true,
    sql: `
      -- Empty except inside the probe's own transaction (AuditOutbox probeWrite).
      CREATE TABLE write_probe (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        filler BLOB NOT NULL
      );
    `,
  },
];

/**
 * The `schema_migrations` level this build writes and the highest it opens (the last migration that
 * is not additive). Every release so far opens level 1; raise it only for a change older builds could
 * not live with, knowing that a rollback past it then refuses the file.
 */
export const AUDIT_SCHEMA_VERSION = Math.max(...MIGRATIONS.filter((m) => !m.additive).map((m) => m.version));
