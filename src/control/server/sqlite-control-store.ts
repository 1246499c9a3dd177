import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PolicyTemplateSchema } from '../protocol/admin.js';
import { SignedPolicyBundleSchema } from '../protocol/policy-bundle.js';
import type { Logger } from '../../log.js';
import { buildHashLookupInBackground, type BackgroundWork, type BackgroundWorkHooks } from './background-index-build.js';
import { prepareHashLookup, recordsWithHashQuery } from './audit-hash-lookup.js';
import type {
  AuditChainEventRow, AuditChainHead, AuditRecordRow, ControlStore, DeviceHeartbeatUpdate, DeviceRecord, NewAuditChainEvent, NewAuditRecord,
  StoredAuditBatch, StoredAuditChain, StoredBundle, StoredPolicyTemplate, Subject,
} from './control-store.js';

/** Schema version in `PRAGMA user_version`; bump with a migration step when tables change. */
const SCHEMA_VERSION = 2;

const MIGRATION_1 = `
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  credential_hash TEXT NOT NULL UNIQUE,
  enrollment_method TEXT NOT NULL CHECK (enrollment_method IN ('oidc', 'virtual_key')),
  subject_json TEXT NOT NULL,
  virtual_key_id TEXT,
  policy_version_floor INTEGER,
  hostname TEXT NOT NULL,
  installation_id TEXT,
  os TEXT,
  agent_version TEXT,
  enrolled_at TEXT NOT NULL,
  last_seen_at TEXT,
  reported_policy_version INTEGER,
  apps_seen_json TEXT NOT NULL DEFAULT '[]',
  mcp_servers_seen_json TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE policy_bundles (
  device_id TEXT NOT NULL REFERENCES devices(device_id),
  version INTEGER NOT NULL,
  etag TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  signed_json TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (device_id, version)
);
CREATE TABLE policy_templates (
  revision INTEGER PRIMARY KEY,
  template_json TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  config_hash TEXT
);
CREATE TABLE audit_batches (
  device_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  chain_head TEXT NOT NULL,
  stored INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (device_id, batch_id)
);
CREATE TABLE audit_records (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  record_json TEXT NOT NULL,
  received_at TEXT NOT NULL,
  UNIQUE (device_id, seq)
);
`;

/** Devices that check `bundle.device_id` get bundles naming them (see DeviceRecord.bundle_binding). */
const MIGRATION_2 = 'ALTER TABLE devices ADD COLUMN bundle_binding INTEGER NOT NULL DEFAULT 0';

/**
 * The optional bundle fields each device announced, a JSON array (see DeviceRecord.bundle_fields); NULL: none.
 * Additive and added whenever missing, without raising `user_version`, as AUDIT_CHAIN_EVENTS: a server rolled back
 * to the previous release still opens the file, and its inserts name their columns.
 */
function addBundleFieldsColumn(db: Database.Database): void {
  const columns = db.prepare('SELECT name FROM pragma_table_info(\'devices\')').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'bundle_fields_json')) db.exec('ALTER TABLE devices ADD COLUMN bundle_fields_json TEXT');
}

/**
 * Chain events (ControlStore.insertAuditBatch). Additive and created whenever missing, without raising
 * `user_version`: a server rolled back to the previous release still opens the file (it refuses a newer
 * version) and just does not read the table.
 */
const AUDIT_CHAIN_EVENTS = `
CREATE TABLE IF NOT EXISTS audit_chain_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  device_id TEXT NOT NULL,
  chain TEXT NOT NULL,
  starts_at_seq INTEGER NOT NULL,
  batch_id TEXT NOT NULL,
  message TEXT NOT NULL,
  details_json TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_chain_events_device ON audit_chain_events (device_id, id);
`;

interface DeviceRow {
  device_id: string;
  credential_hash: string;
  enrollment_method: 'oidc' | 'virtual_key';
  subject_json: string;
  virtual_key_id: string | null;
  policy_version_floor: number | null;
  bundle_binding: number;
  bundle_fields_json: string | null;
  hostname: string;
  installation_id: string | null;
  os: string | null;
  agent_version: string | null;
  enrolled_at: string;
  last_seen_at: string | null;
  reported_policy_version: number | null;
  apps_seen_json: string;
  mcp_servers_seen_json: string;
}

interface BundleRow {
  device_id: string;
  version: number;
  etag: string;
  content_hash: string;
  signed_json: string;
  created_at: string;
}

/**
 * The default ControlStore: one SQLite file in WAL mode. The file is created owner-only because it
 * holds credential hashes and audit content.
 */
export class SqliteControlStore implements ControlStore {
  private readonly db: Database.Database;
  /** How auditRecordsWithHash finds records: set once it can (audit-hash-lookup.ts), then kept. */
  private hashLookup: string | undefined;

  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`control database schema version ${version} is newer than this server understands (${SCHEMA_VERSION}); upgrade bifrost-edge`);
    }
    this.db.transaction(() => {
      if (version < 1) this.db.exec(MIGRATION_1);
      if (version < 2) this.db.exec(MIGRATION_2);
      if (version < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      this.db.exec(AUDIT_CHAIN_EVENTS);
      addBundleFieldsColumn(this.db);
      prepareHashLookup(this.db);
    })();
  }

  startBackgroundWork(log: Logger, hooks?: BackgroundWorkHooks): BackgroundWork | undefined {
    if (this.hashLookupQuery()) return undefined;
    return buildHashLookupInBackground(this.file, log, hooks);
  }

  private hashLookupQuery(): string | undefined {
    this.hashLookup ??= recordsWithHashQuery(this.db);
    return this.hashLookup;
  }

  async createDevice(device: DeviceRecord): Promise<void> {
    this.db.prepare(`INSERT INTO devices (device_id, credential_hash, enrollment_method, subject_json, virtual_key_id, policy_version_floor, bundle_binding, bundle_fields_json,
        hostname, installation_id, os, agent_version, enrolled_at, last_seen_at, reported_policy_version, apps_seen_json, mcp_servers_seen_json)
      VALUES (@device_id, @credential_hash, @enrollment_method, @subject_json, @virtual_key_id, @policy_version_floor, @bundle_binding, @bundle_fields_json,
        @hostname, @installation_id, @os, @agent_version, @enrolled_at, @last_seen_at, @reported_policy_version, @apps_seen_json, @mcp_servers_seen_json)`).run({
      device_id: device.device_id,
      credential_hash: device.credential_hash,
      enrollment_method: device.enrollment_method,
      subject_json: JSON.stringify(device.subject),
      virtual_key_id: device.virtual_key_id ?? null,
      policy_version_floor: device.policy_version_floor ?? null,
      bundle_binding: device.bundle_binding === true ? 1 : 0,
      bundle_fields_json: device.bundle_fields ? JSON.stringify(device.bundle_fields) : null,
      hostname: device.hostname,
      installation_id: device.installation_id ?? null,
      os: device.os ?? null,
      agent_version: device.agent_version ?? null,
      enrolled_at: device.enrolled_at,
      last_seen_at: device.last_seen_at ?? null,
      reported_policy_version: device.reported_policy_version ?? null,
      apps_seen_json: JSON.stringify(device.apps_seen),
      mcp_servers_seen_json: JSON.stringify(device.mcp_servers_seen),
    });
  }

  async deleteDevice(deviceId: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM policy_bundles WHERE device_id = ?').run(deviceId);
      this.db.prepare('DELETE FROM devices WHERE device_id = ?').run(deviceId);
    })();
  }

  async deviceByCredentialHash(credentialHash: string): Promise<DeviceRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM devices WHERE credential_hash = ?').get(credentialHash) as DeviceRow | undefined;
    return row ? toDevice(row) : undefined;
  }

  async listDevices(): Promise<DeviceRecord[]> {
    const rows = this.db.prepare('SELECT * FROM devices ORDER BY enrolled_at, device_id').all() as DeviceRow[];
    return rows.map(toDevice);
  }

  async updateDeviceHeartbeat(deviceId: string, heartbeat: DeviceHeartbeatUpdate): Promise<void> {
    this.db.prepare(`UPDATE devices SET last_seen_at = @last_seen_at, agent_version = @agent_version, os = COALESCE(@os, os),
        reported_policy_version = @reported_policy_version, apps_seen_json = @apps_seen_json, mcp_servers_seen_json = @mcp_servers_seen_json
      WHERE device_id = @device_id`).run({
      device_id: deviceId,
      last_seen_at: heartbeat.last_seen_at,
      agent_version: heartbeat.agent_version,
      os: heartbeat.os ?? null,
      reported_policy_version: heartbeat.reported_policy_version ?? null,
      apps_seen_json: JSON.stringify(heartbeat.apps_seen),
      mcp_servers_seen_json: JSON.stringify(heartbeat.mcp_servers_seen),
    });
  }

  async enableBundleBinding(deviceId: string): Promise<void> {
    this.db.prepare('UPDATE devices SET bundle_binding = 1 WHERE device_id = ?').run(deviceId);
  }

  async setBundleFields(deviceId: string, fields: readonly string[]): Promise<void> {
    this.db.prepare('UPDATE devices SET bundle_fields_json = ? WHERE device_id = ?').run(JSON.stringify(fields), deviceId);
  }

  async raisePolicyVersionFloor(deviceId: string, floor: number): Promise<void> {
    this.db.prepare('UPDATE devices SET policy_version_floor = MAX(COALESCE(policy_version_floor, 0), ?) WHERE device_id = ?').run(floor, deviceId);
  }

  async latestBundle(deviceId: string): Promise<StoredBundle | undefined> {
    const row = this.db.prepare('SELECT * FROM policy_bundles WHERE device_id = ? ORDER BY version DESC LIMIT 1').get(deviceId) as BundleRow | undefined;
    if (!row) return undefined;
    return {
      device_id: row.device_id,
      version: row.version,
      etag: row.etag,
      content_hash: row.content_hash,
      signed: SignedPolicyBundleSchema.parse(JSON.parse(row.signed_json)),
      created_at: row.created_at,
    };
  }

  async saveBundle(bundle: StoredBundle): Promise<void> {
    this.db.transaction(() => {
      const latest = this.db.prepare('SELECT MAX(version) AS v FROM policy_bundles WHERE device_id = ?').get(bundle.device_id) as { v: number | null };
      if (latest.v !== null && bundle.version <= latest.v) {
        throw new Error(`bundle version ${bundle.version} for device ${bundle.device_id} is not above the stored ${latest.v}`);
      }
      this.db.prepare(`INSERT INTO policy_bundles (device_id, version, etag, content_hash, signed_json, created_at)
        VALUES (?, ?, ?, ?, ?, ?)`).run(bundle.device_id, bundle.version, bundle.etag, bundle.content_hash, JSON.stringify(bundle.signed), bundle.created_at);
    })();
  }

  async highestBundleVersion(): Promise<number> {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM policy_bundles').get() as { v: number | null };
    return row.v ?? 0;
  }

  async latestPolicyTemplate(): Promise<StoredPolicyTemplate | undefined> {
    const row = this.db.prepare('SELECT * FROM policy_templates ORDER BY revision DESC LIMIT 1').get() as
      { revision: number; template_json: string; updated_at: string; config_hash: string | null } | undefined;
    if (!row) return undefined;
    const out: StoredPolicyTemplate = { revision: row.revision, template: PolicyTemplateSchema.parse(JSON.parse(row.template_json)), updated_at: row.updated_at };
    if (row.config_hash !== null) out.config_hash = row.config_hash;
    return out;
  }

  async savePolicyTemplate(template: StoredPolicyTemplate): Promise<void> {
    this.db.transaction(() => {
      const latest = this.db.prepare('SELECT MAX(revision) AS r FROM policy_templates').get() as { r: number | null };
      if (latest.r !== null && template.revision <= latest.r) {
        throw new Error(`policy template revision ${template.revision} is not above the stored ${latest.r}`);
      }
      this.db.prepare('INSERT INTO policy_templates (revision, template_json, updated_at, config_hash) VALUES (?, ?, ?, ?)')
        .run(template.revision, JSON.stringify(template.template), template.updated_at, template.config_hash ?? null);
    })();
  }

  async auditBatch(deviceId: string, batchId: string): Promise<StoredAuditBatch | undefined> {
    return this.db.prepare('SELECT * FROM audit_batches WHERE device_id = ? AND batch_id = ?').get(deviceId, batchId) as StoredAuditBatch | undefined;
  }

  async auditHead(deviceId: string): Promise<AuditChainHead | undefined> {
    return this.db.prepare('SELECT seq, hash FROM audit_records WHERE device_id = ? ORDER BY seq DESC LIMIT 1').get(deviceId) as AuditChainHead | undefined;
  }

  async auditHashAt(deviceId: string, seq: number): Promise<string | undefined> {
    const row = this.db.prepare('SELECT hash FROM audit_records WHERE device_id = ? AND seq = ?').get(deviceId, seq) as { hash: string } | undefined;
    return row?.hash;
  }

  async auditHashes(deviceId: string, fromSeq: number, throughSeq: number): Promise<AuditChainHead[]> {
    return this.db.prepare('SELECT seq, hash FROM audit_records WHERE device_id = ? AND seq BETWEEN ? AND ? ORDER BY seq').all(deviceId, fromSeq, throughSeq) as AuditChainHead[];
  }

  async auditChains(deviceId: string): Promise<StoredAuditChain[]> {
    // Further chains are stored as "<device>/chain-<id>": a range on the key ('.' follows '-'). Each key is
    // found by seeking past the one before, and each chain's ends by its (device_id, seq) index: a few index
    // lookups per chain, never a pass over the chains' records (a chain may hold millions).
    const nextKey = this.db.prepare('SELECT device_id FROM audit_records WHERE device_id > ? AND device_id < ? ORDER BY device_id LIMIT 1').pluck();
    const hasKey = this.db.prepare('SELECT 1 FROM audit_records WHERE device_id = ? LIMIT 1').pluck();
    const firstSeq = this.db.prepare('SELECT seq FROM audit_records WHERE device_id = ? ORDER BY seq LIMIT 1').pluck();
    const head = this.db.prepare('SELECT id, seq, hash FROM audit_records WHERE device_id = ? ORDER BY seq DESC LIMIT 1');
    const keys = hasKey.get(deviceId) === undefined ? [] : [deviceId];
    const end = `${deviceId}/chain.`;
    for (let key = nextKey.get(`${deviceId}/chain-`, end) as string | undefined; key !== undefined; key = nextKey.get(key, end) as string | undefined) keys.push(key);
    const chains = keys.map((key) => {
      const last = head.get(key) as { id: number; seq: number; hash: string };
      // A chain's head is the last record uploaded to it: its id orders the chains by their latest upload.
      return { lastId: last.id, chain: { key, first_seq: firstSeq.get(key) as number, head: { seq: last.seq, hash: last.hash } } };
    });
    return chains.sort((a, b) => b.lastId - a.lastId).map((c) => c.chain);
  }

  async auditHashesOfChains(keys: readonly string[], fromSeq: number, throughSeq: number): Promise<Map<string, AuditChainHead[]>> {
    const byKey = new Map<string, AuditChainHead[]>(keys.map((key) => [key, []]));
    if (keys.length === 0) return byKey;
    // One statement; SQLite seeks the (device_id, seq) index once per key.
    const rows = this.db.prepare(`SELECT device_id AS key, seq, hash FROM audit_records
      WHERE device_id IN (SELECT value FROM json_each(?)) AND seq BETWEEN ? AND ? ORDER BY device_id, seq`)
      .all(JSON.stringify(keys), fromSeq, throughSeq) as { key: string; seq: number; hash: string }[];
    for (const { key, seq, hash } of rows) byKey.get(key)?.push({ seq, hash });
    return byKey;
  }

  async auditRecordsWithHash(hash: string): Promise<{ key: string; seq: number }[] | undefined> {
    // Until the lookup is complete this would read every record: the caller reads each chain instead.
    const query = this.hashLookupQuery();
    return query === undefined ? undefined : this.db.prepare(query).all({ hash }) as { key: string; seq: number }[];
  }

  async recentNewChainTimes(deviceId: string, limit: number): Promise<string[]> {
    return this.db.prepare(`SELECT created_at FROM audit_chain_events WHERE device_id = ? AND kind IN (${NEW_CHAIN_KINDS}) ORDER BY id DESC LIMIT ?`)
      .pluck().all(deviceId, limit) as string[];
  }

  async latestNewChainEvent(deviceId: string): Promise<AuditChainEventRow | undefined> {
    const row = this.db.prepare(`SELECT * FROM audit_chain_events WHERE device_id = ? AND kind IN (${NEW_CHAIN_KINDS}) ORDER BY id DESC LIMIT 1`).get(deviceId) as EventRow | undefined;
    return row && toEvent(row);
  }

  async deviceIdsOfInstallation(installationId: string): Promise<string[]> {
    return (this.db.prepare('SELECT device_id FROM devices WHERE installation_id = ? ORDER BY enrolled_at').all(installationId) as { device_id: string }[]).map((row) => row.device_id);
  }

  async insertAuditBatch(batch: StoredAuditBatch, records: NewAuditRecord[], event?: NewAuditChainEvent): Promise<'inserted' | 'conflict'> {
    const insertBatch = this.db.prepare(`INSERT INTO audit_batches (device_id, batch_id, digest, first_seq, last_seq, chain_head, stored, received_at)
      VALUES (@device_id, @batch_id, @digest, @first_seq, @last_seq, @chain_head, @stored, @received_at)`);
    const insertRecord = this.db.prepare(`INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    try {
      this.db.transaction(() => {
        insertBatch.run(batch);
        for (const r of records) insertRecord.run(batch.device_id, batch.batch_id, r.seq, r.prev_hash, r.hash, r.record_json, batch.received_at);
        if (event?.updates !== undefined) {
          // Moved to the end under a new id, not rewritten in place: an admin paging with `after` past it reads the new count.
          const replaced = this.db.prepare(`INSERT INTO audit_chain_events (kind, device_id, chain, starts_at_seq, batch_id, message, details_json, created_at)
            SELECT ?, ?, ?, ?, ?, ?, ?, created_at FROM audit_chain_events WHERE id = ?`)
            .run(event.kind, event.device_id, event.chain, event.starts_at_seq, event.batch_id, event.message, JSON.stringify(event.details), event.updates);
          // Gone: another server instance on this file replaced it since it was read. Stored anyway, this batch's chain
          // would be counted nowhere; rolled back instead, so the route decides again from the event as it is now.
          if (replaced.changes === 0) throw new ReplacedMeanwhile();
          this.db.prepare('DELETE FROM audit_chain_events WHERE id = ?').run(event.updates);
        } else if (event) {
          this.db.prepare(`INSERT INTO audit_chain_events (kind, device_id, chain, starts_at_seq, batch_id, message, details_json, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(event.kind, event.device_id, event.chain, event.starts_at_seq, event.batch_id, event.message, JSON.stringify(event.details), batch.received_at);
        }
      })();
      return 'inserted';
    } catch (err) {
      if (err instanceof ReplacedMeanwhile || (err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) return 'conflict';
      throw err;
    }
  }

  /**
   * A device id selects the device's records and those of the chains it started later (`<device>/chain-<id>`: a
   * replaced or reverted database), so an administrator following one device sees all of them; a chain's own id
   * selects that chain.
   */
  async listAuditRecords(query: { deviceId?: string; after: number; limit: number }): Promise<AuditRecordRow[]> {
    if (query.deviceId === undefined) {
      return this.db.prepare('SELECT * FROM audit_records WHERE id > ? ORDER BY id LIMIT ?').all(query.after, query.limit) as AuditRecordRow[];
    }
    // The device's chains sort between `<device>/chain-` and `<device>/chain.` ('.' follows '-'): a range, not LIKE.
    return this.db.prepare(`SELECT * FROM audit_records WHERE (device_id = ? OR (device_id >= ? AND device_id < ?)) AND id > ? ORDER BY id LIMIT ?`)
      .all(query.deviceId, `${query.deviceId}/chain-`, `${query.deviceId}/chain.`, query.after, query.limit) as AuditRecordRow[];
  }

  async listAuditChainEvents(query: { deviceId?: string; after: number; limit: number }): Promise<AuditChainEventRow[]> {
    const rows = (query.deviceId === undefined
      ? this.db.prepare('SELECT * FROM audit_chain_events WHERE id > ? ORDER BY id LIMIT ?').all(query.after, query.limit)
      : this.db.prepare('SELECT * FROM audit_chain_events WHERE device_id = ? AND id > ? ORDER BY id LIMIT ?').all(query.deviceId, query.after, query.limit)) as EventRow[];
    return rows.map(toEvent);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Rolls back insertAuditBatch when the event it replaces is no longer stored (answered 'conflict'). */
class ReplacedMeanwhile extends Error {}

/** The event kinds for chains a device started (ControlStore.recentNewChainTimes). */
const NEW_CHAIN_KINDS = "'new_chain', 'fork', 'enrollment_continued'";

type EventRow = Omit<AuditChainEventRow, 'details'> & { details_json: string };

function toEvent({ details_json, ...row }: EventRow): AuditChainEventRow {
  return { ...row, details: JSON.parse(details_json) as Record<string, unknown> };
}

function toDevice(row: DeviceRow): DeviceRecord {
  const device: DeviceRecord = {
    device_id: row.device_id,
    credential_hash: row.credential_hash,
    enrollment_method: row.enrollment_method,
    subject: JSON.parse(row.subject_json) as Subject,
    hostname: row.hostname,
    enrolled_at: row.enrolled_at,
    apps_seen: JSON.parse(row.apps_seen_json) as DeviceRecord['apps_seen'],
    mcp_servers_seen: JSON.parse(row.mcp_servers_seen_json) as DeviceRecord['mcp_servers_seen'],
  };
  if (row.virtual_key_id !== null) device.virtual_key_id = row.virtual_key_id;
  if (row.policy_version_floor !== null) device.policy_version_floor = row.policy_version_floor;
  if (row.bundle_binding === 1) device.bundle_binding = true;
  if (row.bundle_fields_json !== null) device.bundle_fields = JSON.parse(row.bundle_fields_json) as string[];
  if (row.os !== null) device.os = row.os;
  if (row.installation_id !== null) device.installation_id = row.installation_id;
  if (row.agent_version !== null) device.agent_version = row.agent_version;
  if (row.last_seen_at !== null) device.last_seen_at = row.last_seen_at;
  if (row.reported_policy_version !== null) device.reported_policy_version = row.reported_policy_version;
  return device;
}
