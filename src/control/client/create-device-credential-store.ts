import fs from 'node:fs/promises';
import path from 'node:path';
import { KEYCHAIN_SERVICE } from '../../auth/create-token-store.js';
import { EncryptedFileTokenStore } from '../../auth/encrypted-file-token-store.js';
import { KeyFileSource, MacKeychainKeySource, SecretServiceKeySource, type EncryptionKeySource } from '../../auth/encryption-keys.js';
import { runCommand, type CommandRunner } from '../../auth/run-command.js';
import { SafeStorageTokenStore, safeStorageProblem, type SafeStorageLike } from '../../auth/safe-storage-token-store.js';
import { DeviceCredentialStoreError, type DeviceCredentialStore, type DeviceCredentialStoreDescription } from './device-credential-store.js';
import { TokenStoreCredentialStore } from './token-store-credential-store.js';

export interface CreateDeviceCredentialStoreOptions {
  /** The sync client's state folder (`<dataDir>/control`); the credential's files go there. */
  stateDir: string;
  /** Electron's safeStorage, from the Electron main process only. */
  safeStorage?: SafeStorageLike;
  platform?: NodeJS.Platform;
  /** Runs `security` / `secret-tool`; replaceable in tests. */
  runCommand?: CommandRunner;
}

/** File names in the state folder, one per backend, so switching backends never reads another's data. */
export const CREDENTIAL_FILES = {
  safeStorage: 'device-credential.safe-storage.json',
  macosKeychain: 'device-credential.keychain.json',
  secretService: 'device-credential.secret-service.json',
  keyFile: 'device-credential.enc.json',
} as const;

/**
 * The strongest protected store this machine offers for the device credential, in the order
 * src/auth uses for sign-in tokens (Electron safeStorage; the macOS keychain or Secret Service
 * holding an AES-256-GCM key; else an encrypted file with its key beside it, with a warning), with
 * files and keychain items of its own so the credential and the sign-in never overwrite each other.
 *
 * A backend that already holds a credential is kept even when it does not answer now: a keyring
 * locked at boot must give a clear error (and a re-enrollment), never a silent switch to the weaker
 * key-file store. `describe().notes` says why stronger backends were skipped.
 */
export async function createDeviceCredentialStore(options: CreateDeviceCredentialStoreOptions): Promise<DeviceCredentialStore> {
  const platform = options.platform ?? process.platform;
  const run = options.runCommand ?? runCommand;
  const file = (name: string): string => path.join(options.stateDir, name);
  const notes: string[] = [];

  if (options.safeStorage) {
    const problem = safeStorageProblem(options.safeStorage, platform);
    const location = file(CREDENTIAL_FILES.safeStorage);
    if (!problem) return new TokenStoreCredentialStore(new SafeStorageTokenStore({ file: location, safeStorage: options.safeStorage, platform }));
    if (await exists(location)) return new UnavailableCredentialStore({ backend: 'electron-safe-storage', location }, problem);
    notes.push(`Electron safeStorage not used: ${problem}`);
  }

  const keychain = osKeychain(platform, run, options.stateDir);
  if (keychain) {
    const location = file(keychain.file);
    const problem = await keychain.source.probe();
    if (!problem || (await exists(location))) {
      return new TokenStoreCredentialStore(new EncryptedFileTokenStore({ file: location, keySource: keychain.source, notes }));
    }
    notes.push(`${keychain.name} not used: ${problem}`);
  } else {
    notes.push('Windows Credential Manager is not used by the command-line agent; the Bifrost Edge app protects the credential with DPAPI through safeStorage');
  }

  return new TokenStoreCredentialStore(new EncryptedFileTokenStore({
    file: file(CREDENTIAL_FILES.keyFile), keySource: new KeyFileSource(file('device-credential.key')), notes,
  }));
}

interface OsKeychain {
  name: string;
  file: string;
  source: EncryptionKeySource & { probe(): Promise<string | undefined> };
}

/** The OS keychain that can hold the file key on this platform, if any (not on Windows without Electron). */
function osKeychain(platform: NodeJS.Platform, run: CommandRunner, stateDir: string): OsKeychain | undefined {
  if (platform === 'darwin') {
    return { name: 'macOS keychain', file: CREDENTIAL_FILES.macosKeychain, source: new MacKeychainKeySource(run, KEYCHAIN_SERVICE, `device-credential:${stateDir}`) };
  }
  if (platform === 'win32') return undefined;
  return {
    name: 'Secret Service keyring',
    file: CREDENTIAL_FILES.secretService,
    source: new SecretServiceKeySource(run, { application: 'bifrost-edge', purpose: 'device-credential-key', 'state-dir': stateDir }),
  };
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

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}
