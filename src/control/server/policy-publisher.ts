import { createHash } from 'node:crypto';
import { canonicalJson } from '../../util/canonical-json.js';
import type { Logger } from '../../log.js';
import type { PolicyTemplate } from '../protocol/admin.js';
import { announcedBundleFields } from '../protocol/bundle-fields.js';
import { bundleEtag, signBundle } from '../protocol/bundle-signature.js';
import type { VirtualKey } from '../protocol/virtual-key.js';
import { assignVirtualKeys, buildPolicyBundle, bundleContentHash, resolveKeyIds, type AssignedKeys, type Assignments } from './bundle-builder.js';
import type { ControlStore, DeviceRecord, StoredBundle, StoredPolicyTemplate } from './control-store.js';
import type { PolicyStreamHub } from './policy-stream-hub.js';
import type { BundleSigningKeys } from './signing-keyring.js';
import { KeyedSerialQueue } from './keyed-serial-queue.js';

export interface PolicyPublisherOptions {
  store: ControlStore;
  hub: PolicyStreamHub;
  signingKeys: BundleSigningKeys;
  assignments: Assignments;
  /** Gateway URL put in bundles whose template names none. */
  gatewayUrl: string;
  /** The gateway's keys, or undefined while they have never been read. */
  gatewayKeys: () => VirtualKey[] | undefined;
  log: Logger;
  now?: () => Date;
}

/**
 * Turns "something changed" (template edit, gateway keys, a new device, a signing-key rotation step)
 * into signed bundle versions. A device gets a new version only when its bundle's content changed or
 * its latest bundle was signed by a key that no longer signs; the version is its previous one plus
 * one, and every new version is announced on the device's push streams at once.
 */
export class PolicyPublisher {
  private template!: StoredPolicyTemplate;
  private readonly perDevice = new KeyedSerialQueue();
  private readonly reportedMissing = new Set<string>();
  private readonly now: () => Date;

  constructor(private readonly options: PolicyPublisherOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Loads the stored template. The config file's `policy` becomes a new revision when there is none
   * yet or when the config's policy changed since it was last applied; otherwise admin edits stand.
   */
  async init(configTemplate: PolicyTemplate): Promise<void> {
    const stored = await this.options.store.latestPolicyTemplate();
    const configHash = createHash('sha256').update(canonicalJson(configTemplate)).digest('hex');
    if (stored && stored.config_hash === configHash) {
      this.template = stored;
      return;
    }
    if (stored) this.options.log.info('the policy in the config file changed; it replaces the current policy template', { revision: stored.revision + 1 });
    this.template = { revision: (stored?.revision ?? 0) + 1, template: configTemplate, updated_at: this.now().toISOString(), config_hash: configHash };
    await this.options.store.savePolicyTemplate(this.template);
  }

  currentTemplate(): StoredPolicyTemplate {
    return this.template;
  }

  /** Saves an admin edit as the next revision and republishes; returns how many devices got a new version. */
  async updateTemplate(template: PolicyTemplate): Promise<{ template: StoredPolicyTemplate; republished: number }> {
    // Carry the config hash forward: an unchanged config file must not undo this edit at the next start.
    const next: StoredPolicyTemplate = { revision: this.template.revision + 1, template, updated_at: this.now().toISOString() };
    if (this.template.config_hash !== undefined) next.config_hash = this.template.config_hash;
    await this.options.store.savePolicyTemplate(next);
    this.template = next;
    const republished = await this.republishAll('policy template edited');
    return { template: next, republished };
  }

  /**
   * Rebuilds every device's bundle; returns how many got a new version. One device whose bundle
   * cannot be built (or stored) is logged and skipped: it must not keep the others on an old policy.
   */
  async republishAll(reason: string): Promise<number> {
    if (this.options.gatewayKeys() === undefined) return 0;
    let count = 0;
    let failed = 0;
    for (const device of await this.options.store.listDevices()) {
      try {
        const before = await this.options.store.latestBundle(device.device_id);
        const after = await this.publishFor(device);
        if (after && after.version !== before?.version) count++;
      } catch (err) {
        failed++;
        this.options.log.error(`could not publish a new policy bundle for device ${device.device_id} (${(err as Error).message}); that device keeps its previous bundle while the others are updated; fix the cause named here and it gets a new bundle at the next change`, { device_id: device.device_id, subject: device.subject.sub, reason });
      }
    }
    if (count > 0 || failed > 0) this.options.log.info('published new policy bundles', { reason, devices: count, failed, revision: this.template.revision });
    return count;
  }

  /**
   * The device's latest bundle, publishing a new version first when its content changed.
   * Undefined while the gateway's keys have never been read.
   */
  publishFor(device: DeviceRecord): Promise<StoredBundle | undefined> {
    return this.perDevice.run(device.device_id, () => this.publishNow(device));
  }

  private async publishNow(device: DeviceRecord): Promise<StoredBundle | undefined> {
    const gatewayKeys = this.options.gatewayKeys();
    if (gatewayKeys === undefined) return undefined;
    const { store, hub } = this.options;
    const signer = this.options.signingKeys.active();
    const latest = await store.latestBundle(device.device_id);
    // A floor above the latest bundle (raised by a heartbeat after the database was restored from a
    // backup) means the device enforces a newer version than that bundle: it would refuse it.
    const floor = device.policy_version_floor ?? 0;
    const latestUsable = latest !== undefined && latest.version > floor;
    const issuedAt = this.now().toISOString();
    const assigned = this.keysFor(device, gatewayKeys);
    const bundle = buildPolicyBundle({
      template: this.template.template,
      subject: device.subject,
      ...(device.bundle_binding === true ? { deviceId: device.device_id } : {}),
      // Only the optional fields the device announced: an agent that predates one refuses a bundle carrying it.
      fields: announcedBundleFields(device.bundle_fields),
      keys: assigned.keys,
      version: Math.max(latest?.version ?? 0, floor) + 1,
      issuedAt,
      gatewayUrl: this.options.gatewayUrl,
      signingKeys: this.options.signingKeys.trusted(),
    });
    const contentHash = bundleContentHash(bundle);
    // After a promotion, re-sign with the new key even when nothing else changed: devices then prove
    // at once that they accept it, and the previous key can be retired without surprises.
    if (latestUsable && latest.content_hash === contentHash && latest.signed.signature.key_id === signer.keyId) return latest;
    const signed = signBundle(bundle, signer.privateKey);
    const stored: StoredBundle = {
      device_id: device.device_id,
      version: bundle.version,
      etag: bundleEtag(signed.bundle),
      content_hash: contentHash,
      signed,
      created_at: issuedAt,
    };
    await store.saveBundle(stored);
    hub.notify(device.device_id, { version: stored.version, etag: stored.etag });
    return stored;
  }

  private keysFor(device: DeviceRecord, gatewayKeys: readonly VirtualKey[]): AssignedKeys {
    const assigned = device.enrollment_method === 'virtual_key' && device.virtual_key_id !== undefined
      ? resolveKeyIds([device.virtual_key_id], gatewayKeys)
      : assignVirtualKeys(device.subject, this.options.assignments, gatewayKeys);
    for (const id of assigned.missing) {
      const note = `${device.device_id}:${id}`;
      if (this.reportedMissing.has(note)) continue;
      this.reportedMissing.add(note);
      this.options.log.warn('a virtual key assigned to a device does not exist at the gateway; check assignments in the config', { device_id: device.device_id, subject: device.subject.sub, virtual_key_id: id });
    }
    if (assigned.keys.length === 0 && assigned.missing.length === 0) {
      const note = `${device.device_id}:none`;
      if (!this.reportedMissing.has(note)) {
        this.reportedMissing.add(note);
        this.options.log.warn('no virtual key is assigned to this device\'s user; add them to assignments.users or .groups (or set assignments.default)', { device_id: device.device_id, subject: device.subject.sub });
      }
    }
    return assigned;
  }
}
