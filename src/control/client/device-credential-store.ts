/**
 * Where the device credential (the bearer secret for every Edge Control call) is kept at rest. The
 * sync client asks only this interface; the enrollment record beside it (device id, trusted keys,
 * control URL) stays in enrollment.json. Implementations: a plain 0600 file (the default, as
 * protected as before), and any src/auth token store (OS keychain, Electron safeStorage, encrypted
 * file) through TokenStoreCredentialStore — createDeviceCredentialStore() picks the strongest.
 */

/** The credential with what it belongs to, so a credential for another device or server is never sent. */
export interface DeviceCredential {
  controlUrl: string;
  deviceId: string;
  credential: string;
}

export interface DeviceCredentialStoreDescription {
  /** e.g. `plain-file`, `secret-service`, `macos-keychain`, `electron-safe-storage`, `encrypted-file`. */
  backend: string;
  /** Where it is, for logs and support (a path, a keychain item). */
  location: string;
  /** Present when the protection is weaker than an OS keychain. */
  warning?: string;
  /** Why stronger backends were not used. */
  notes?: string[];
}

export interface DeviceCredentialStore {
  /** The stored credential, or undefined when there is none; throws DeviceCredentialStoreError when it cannot be read. */
  load(): Promise<DeviceCredential | undefined>;
  save(credential: DeviceCredential): Promise<void>;
  /** Deletes it; safe to call when empty. */
  clear(): Promise<void>;
  describe(): DeviceCredentialStoreDescription;
}

/** `unavailable`: the keychain is locked or gone; `corrupt`: the data was altered or is not ours; `io`: the disk failed. */
export type DeviceCredentialStoreErrorCode = 'unavailable' | 'corrupt' | 'io';

export class DeviceCredentialStoreError extends Error {
  constructor(readonly code: DeviceCredentialStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceCredentialStoreError';
  }
}
