import path from 'node:path';
import type { Logger } from '../../log.js';
import type { DeviceCredential, DeviceCredentialStore } from './device-credential-store.js';
import { ENROLLMENT_FILE, loadEnrollmentState, saveEnrollmentState, type EnrollmentRecord } from './device-state-files.js';

export type RestoredEnrollment =
  | { kind: 'none' }
  | { kind: 'enrolled'; record: EnrollmentRecord; credential: string }
  /**
   * The record is there but its credential cannot be used (store locked or damaged, credential
   * missing or for another device): the device enrolls again. The record's signing keys may still
   * verify the cached policy meanwhile.
   */
  | { kind: 'credential_unusable'; record: EnrollmentRecord };

export interface RestoreOptions {
  stateDir: string;
  controlUrl: string;
  store: DeviceCredentialStore;
  /**
   * Where a credential may sit from before `store` was configured (the default plain file), to move
   * into `store` when `store` has none. Omitted when `store` is that default.
   */
  previousStore?: DeviceCredentialStore;
  log: Logger;
}

/**
 * Reads the saved enrollment and its credential at start. A credential still in enrollment.json
 * (written by an older agent), or in the default plain file from before a protected store was
 * configured, is moved into the store and the plain copy removed; if the store refuses it, the
 * credential is used from the file this time and the move is tried again at the next start (it is
 * no less protected than it was).
 */
export async function restoreEnrollment(options: RestoreOptions): Promise<RestoredEnrollment> {
  const { stateDir, controlUrl, store, log } = options;
  let loaded;
  try {
    loaded = await loadEnrollmentState(stateDir);
  } catch (err) {
    log.warn((err as Error).message);
    return { kind: 'none' };
  }
  if (!loaded) return { kind: 'none' };
  const { record, legacyCredential } = loaded;
  if (record.control_url !== controlUrl) {
    log.info('ignoring a saved enrollment for another control server', { saved: record.control_url, configured: controlUrl });
    return { kind: 'none' };
  }
  const where = store.describe().location;

  if (legacyCredential !== undefined) {
    try {
      await store.save({ controlUrl, deviceId: record.device_id, credential: legacyCredential });
      await saveEnrollmentState(stateDir, record);
      log.info(`moved the device credential out of ${ENROLLMENT_FILE} into protected storage`, { device_id: record.device_id, store: where });
    } catch (err) {
      log.warn(`could not move the device credential out of ${path.join(stateDir, ENROLLMENT_FILE)} into ${where} (${(err as Error).message}); using it from the file for now and trying again at the next start`);
    }
    return { kind: 'enrolled', record, credential: legacyCredential };
  }

  let stored;
  try {
    stored = await store.load();
  } catch (err) {
    const reason = (err as Error).message.replace(/\.+$/, '');
    log.error(`cannot read this device's Edge Control credential: ${reason}. Enrolling the device again, since it never runs without a credential; the cached policy stays enforced meanwhile`, { device_id: record.device_id });
    return { kind: 'credential_unusable', record };
  }
  stored ??= await takeFromPreviousStore(options, record.device_id);
  if (!stored) {
    log.warn(`no Edge Control credential is stored for device ${record.device_id} in ${where}; enrolling again`);
    return { kind: 'credential_unusable', record };
  }
  if (stored.deviceId !== record.device_id || stored.controlUrl !== controlUrl) {
    log.warn(`the stored Edge Control credential belongs to device ${stored.deviceId} at ${stored.controlUrl}, not to device ${record.device_id} at ${controlUrl}; enrolling again`);
    return { kind: 'credential_unusable', record };
  }
  return { kind: 'enrolled', record, credential: stored.credential };
}

/** Moves this device's credential from the previous (plain) store into the configured one. */
async function takeFromPreviousStore(options: RestoreOptions, deviceId: string): Promise<DeviceCredential | undefined> {
  const { previousStore, store, controlUrl, log } = options;
  if (!previousStore) return undefined;
  const previous = await previousStore.load().catch(() => undefined);
  if (!previous || previous.deviceId !== deviceId || previous.controlUrl !== controlUrl) return undefined;
  try {
    await store.save(previous);
    await previousStore.clear();
    log.info('moved the device credential into protected storage', { device_id: deviceId, from: previousStore.describe().location, store: store.describe().location });
  } catch (err) {
    log.warn(`could not move the device credential from ${previousStore.describe().location} into ${store.describe().location} (${(err as Error).message}); using it from there for now and trying again at the next start`);
  }
  return previous;
}
