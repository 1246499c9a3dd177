import type { Logger } from '../../log.js';
import type { PolicyTemplate } from '../protocol/admin.js';
import type { SeenApp, SeenMcpServer } from '../protocol/heartbeat.js';
import type { SignedPolicyBundle } from '../protocol/policy-bundle.js';
import type { BackgroundWork, BackgroundWorkHooks } from './background-index-build.js';

/**
 * Everything the control server persists, behind one interface so a server database (Postgres, …)
 * can replace the SQLite default. Methods are async for that reason even though SQLite is not.
 * Implementations enforce the invariants with constraints (unique credential hash, one record per
 * device and seq, one batch per device and batch id, bundle versions only going up) so that two
 * server instances racing on the same database fail loudly instead of forking a chain.
 */
export interface ControlStore {
  createDevice(device: DeviceRecord): Promise<void>;
  /** Removes a device and its bundles (an enrollment that could not be completed). */
  deleteDevice(deviceId: string): Promise<void>;
  deviceByCredentialHash(credentialHash: string): Promise<DeviceRecord | undefined>;
  listDevices(): Promise<DeviceRecord[]>;
  updateDeviceHeartbeat(deviceId: string, heartbeat: DeviceHeartbeatUpdate): Promise<void>;
  /** Records that the device checks `bundle.device_id` (an agent upgraded since it enrolled). */
  enableBundleBinding(deviceId: string): Promise<void>;
  /** Keeps the optional bundle fields the device announced (BUNDLE_FIELDS_HEADER), replacing what it announced before. */
  setBundleFields(deviceId: string, fields: readonly string[]): Promise<void>;
  /** Raises the device's version floor to `floor` (never lowers it). */
  raisePolicyVersionFloor(deviceId: string, floor: number): Promise<void>;

  latestBundle(deviceId: string): Promise<StoredBundle | undefined>;
  /** Throws when `bundle.version` is not above the device's latest. */
  saveBundle(bundle: StoredBundle): Promise<void>;
  /** The highest bundle version stored for any device; 0 when none. */
  highestBundleVersion(): Promise<number>;

  latestPolicyTemplate(): Promise<StoredPolicyTemplate | undefined>;
  /** Throws when `template.revision` is not above the latest. */
  savePolicyTemplate(template: StoredPolicyTemplate): Promise<void>;

  auditBatch(deviceId: string, batchId: string): Promise<StoredAuditBatch | undefined>;
  auditHead(deviceId: string): Promise<AuditChainHead | undefined>;
  auditHashAt(deviceId: string, seq: number): Promise<string | undefined>;
  /** The hashes stored for `deviceId` (a chain key) from `fromSeq` through `throughSeq`, in seq order (held seqs only). */
  auditHashes(deviceId: string, fromSeq: number, throughSeq: number): Promise<AuditChainHead[]>;
  /**
   * Every chain held for a device (its first chain and its further ones, auditChainKey), the most recently uploaded first.
   * Its cost must grow with the number of chains, not of records: it runs on uploads.
   */
  auditChains(deviceId: string): Promise<StoredAuditChain[]>;
  /** auditHashes for each of `keys` (chain keys) over the same seqs: every key is in the map. */
  auditHashesOfChains(keys: readonly string[], fromSeq: number, throughSeq: number): Promise<Map<string, AuditChainHead[]>>;
  /**
   * Where records with this hash are stored (a chain key and seq), the latest stored first: copies of one history, so few.
   * Indexed; undefined while the lookup is not complete yet (startBackgroundWork builds it): the caller reads each chain instead.
   */
  auditRecordsWithHash(hash: string): Promise<{ key: string; seq: number }[] | undefined>;
  /**
   * `created_at` of the device's latest `limit` events for chains it started (new_chain and fork, coalesced ones
   * included, and enrollment_continued: a continuation also starts a chain key), the newest first.
   */
  recentNewChainTimes(deviceId: string, limit: number): Promise<string[]>;
  /** The device's latest event of the kinds recentNewChainTimes counts (a coalesced event is still open while it is the latest). */
  latestNewChainEvent(deviceId: string): Promise<AuditChainEventRow | undefined>;
  /** The devices enrolled with this installation id (DeviceRecord.installation_id): one per enrollment of the agent. */
  deviceIdsOfInstallation(installationId: string): Promise<string[]>;
  /**
   * Stores a batch and its records in one transaction; `conflict` when a constraint says someone else got there first.
   * `event` (a new chain, a fork, an enrollment's continuation) is stored in the same transaction, so an admin sees
   * it even when the server dies before its log line is written; with `event.updates`, that event is replaced instead
   * (a coalesced event counting one more chain): by this one, under a new id after every other, with its created_at;
   * `conflict` too when that event is no longer stored (another server instance replaced it meanwhile), and nothing is stored.
   */
  insertAuditBatch(batch: StoredAuditBatch, records: NewAuditRecord[], event?: NewAuditChainEvent): Promise<'inserted' | 'conflict'>;
  /** The chain events stored (insertAuditBatch), in arrival order, after the cursor `after`; a device id also selects its chains' events. */
  listAuditChainEvents(query: { deviceId?: string; after: number; limit: number }): Promise<AuditChainEventRow[]>;
  listAuditRecords(query: { deviceId?: string; after: number; limit: number }): Promise<AuditRecordRow[]>;

  /**
   * Work too long for startup (filling a hash lookup over millions of records), started once the server listens and
   * run beside it in short steps, so uploads do not wait for it; undefined when there is none. The server stops it
   * before close(); stopped or killed, it goes on from where it was at the next start.
   */
  startBackgroundWork?(log: Logger, hooks?: BackgroundWorkHooks): BackgroundWork | undefined;

  close(): Promise<void>;
}

export interface Subject {
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
}

export interface DeviceRecord {
  device_id: string;
  /** SHA-256 hex of the device credential; the credential itself is never stored. */
  credential_hash: string;
  enrollment_method: 'oidc' | 'virtual_key';
  subject: Subject;
  /** For virtual-key enrollment: the Bifrost id of the key the device proved it holds. */
  virtual_key_id?: string;
  /** The device checks `bundle.device_id` (it sent BUNDLE_BINDING_HEADER), so its bundles name it. */
  bundle_binding?: boolean;
  /** The optional bundle fields the device understands (it sent BUNDLE_FIELDS_HEADER): its bundles carry only those. */
  bundle_fields?: string[];
  /**
   * A version the device enforced that this server may not have issued (reported at enrollment, or
   * in a heartbeat after the server's database was restored from a backup): its bundles are
   * numbered above it.
   */
  policy_version_floor?: number;
  hostname: string;
  /** The agent's installation id (DeviceDescription.installation_id); its audit records may carry it. */
  installation_id?: string;
  os?: string;
  agent_version?: string;
  enrolled_at: string;
  last_seen_at?: string;
  reported_policy_version?: number;
  apps_seen: SeenApp[];
  mcp_servers_seen: SeenMcpServer[];
}

export interface DeviceHeartbeatUpdate {
  last_seen_at: string;
  agent_version: string;
  os?: string;
  reported_policy_version?: number;
  apps_seen: SeenApp[];
  mcp_servers_seen: SeenMcpServer[];
}

export interface StoredBundle {
  device_id: string;
  version: number;
  etag: string;
  /** Hash of the bundle without version and issue time: equal hash ⇒ nothing to republish. */
  content_hash: string;
  signed: SignedPolicyBundle;
  created_at: string;
}

export interface StoredPolicyTemplate {
  revision: number;
  template: PolicyTemplate;
  updated_at: string;
  /** Hash of the config file's `policy` last applied when this revision was made (admin edits carry it forward). */
  config_hash?: string;
}

export interface AuditChainHead {
  seq: number;
  hash: string;
}

/** A chain held for a device, as auditChains lists it. */
export interface StoredAuditChain {
  /** Where it is stored (auditChainKey): the device id, or "<device>/chain-<chain_id>". */
  key: string;
  first_seq: number;
  head: AuditChainHead;
}

export interface StoredAuditBatch {
  device_id: string;
  batch_id: string;
  /** SHA-256 of the canonical batch, to tell a retry from a different batch reusing the key. */
  digest: string;
  first_seq: number;
  last_seq: number;
  chain_head: string;
  stored: number;
  received_at: string;
}

export interface NewAuditRecord {
  seq: number;
  prev_hash: string;
  hash: string;
  /** The record exactly as received (its hash covers these bytes' canonical form). */
  record_json: string;
}

export interface AuditRecordRow extends NewAuditRecord {
  id: number;
  device_id: string;
  batch_id: string;
  received_at: string;
}

/**
 * Something about a device's audit chains IT should see without reading logs: a new chain (its audit
 * database replaced or reverted, records pruned before Edge Control got them, this server restored from a
 * backup), a fork (a new chain holding other records under seqs an earlier chain holds), an enrollment's
 * continuation of an earlier one's chain.
 */
export interface NewAuditChainEvent {
  kind: 'new_chain' | 'fork' | 'enrollment_continued';
  /** The device id the batch came under. */
  device_id: string;
  /** Where the batch's chain is stored (auditChainKey). */
  chain: string;
  starts_at_seq: number;
  batch_id: string;
  /** The text the server logs for it. */
  message: string;
  /** The log line's fields (JSON object). */
  details: Record<string, unknown>;
  /**
   * The id of the device's coalesced event this one replaces (its created_at stays), instead of a new event. The
   * replacement takes a new id, after every other event: a pager reading with `after` sees the new count.
   */
  updates?: number;
}

export interface AuditChainEventRow extends Omit<NewAuditChainEvent, 'updates'> {
  id: number;
  created_at: string;
}
