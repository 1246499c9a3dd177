import { chooseProtectedTokenStore, protectedFileNames, type ProtectedSecretLayout } from '../../auth/protected-token-store.js';
import type { CommandRunner } from '../../auth/run-command.js';
import type { SafeStorageLike } from '../../auth/safe-storage-token-store.js';
import { DeviceCredentialStoreError, type DeviceCredentialStore, type DeviceCredentialStoreDescription } from './device-credential-store.js';
import { DEVICE_CREDENTIAL_KEY_FILE_WARNING, TokenStoreCredentialStore } from './token-store-credential-store.js';

export interface CreateDeviceCredentialStoreOptions {
  /** The sync client's state folder (`<dataDir>/control`); the credential's files go there. */
  stateDir: string;
  /** Electron's safeStorage, from the Electron main process only. */
  safeStorage?: SafeStorageLike;
  platform?: NodeJS.Platform;
  /** Runs `security` / `secret-tool`; replaceable in tests. */
  runCommand?: CommandRunner;
}

const STEM = 'device-credential';

/** File names in the state folder, one per backend, so switching backends never reads another's data. */
export const CREDENTIAL_FILES = protectedFileNames(STEM);

/**
 * The strongest protected store this machine offers for the device credential (see
 * chooseProtectedTokenStore: Electron safeStorage, an OS keychain holding the file key, else an
 * encrypted file with a warning), with files and keychain items of its own so the credential and
 * the sign-in never overwrite each other.
 *
 * A backend that already holds a credential but does not answer now (keyring locked at boot) gives
 * a store whose every call says why, and so a re-enrollment, never a silent switch to a weaker store.
 */
export async function createDeviceCredentialStore(options: CreateDeviceCredentialStoreOptions): Promise<DeviceCredentialStore> {
  const layout: ProtectedSecretLayout = {
    dir: options.stateDir,
    stem: STEM,
    keychainAccount: `device-credential:${options.stateDir}`,
    secretServiceAttributes: { application: 'bifrost-edge', purpose: 'device-credential-key', 'state-dir': options.stateDir },
    what: 'the credential',
    keyFileWarning: DEVICE_CREDENTIAL_KEY_FILE_WARNING,
  };
  const choice = await chooseProtectedTokenStore(layout, {
    ...(options.safeStorage ? { safeStorage: options.safeStorage } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
    ...(options.runCommand ? { runCommand: options.runCommand } : {}),
  });
  if (choice.kind === 'unusable') {
    return new UnavailableCredentialStore({ backend: choice.unusable.backend, location: choice.unusable.location }, choice.unusable.problem);
  }
  return new TokenStoreCredentialStore(choice.store);
}

/** A backend that holds the credential but cannot be used in this run: every call says why. */
class UnavailableCredentialStore implements DeviceCredentialStore {
  constructor(private readonly description: DeviceCredentialStoreDescription, private readonly problem: string) {}

  describe(): DeviceCredentialStoreDescription {
    return this.description;
  }

  async load(): Promise<never> {
    throw new DeviceCredentialStoreError('unavailable', `cannot read the device credential in ${this.description.location}: ${this.problem}`);
  }

  async save(): Promise<never> {
    throw new DeviceCredentialStoreError('unavailable', `cannot write the device credential in ${this.description.location}: ${this.problem}`);
  }

  async clear(): Promise<void> {
    // Nothing can be deleted through an unusable backend; the next enrollment overwrites it.
  }
}
