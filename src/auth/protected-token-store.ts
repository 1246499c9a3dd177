import path from 'node:path';
import { EncryptedFileTokenStore } from './encrypted-file-token-store.js';
import { KeyFileSource, MacKeychainKeySource, SecretServiceKeySource, type EncryptionKeySource } from './encryption-keys.js';
import { runCommand, type CommandRunner } from './run-command.js';
import { SafeStorageTokenStore, safeStorageProblem, type SafeStorageLike } from './safe-storage-token-store.js';
import type { TokenStore, TokenStoreBackend } from './token-store.js';
import { fileExists } from '../util/file-exists.js';
import type { SessionTokens } from './session-tokens.js';

/** Name under which keychain items are filed. */
export const KEYCHAIN_SERVICE = 'Bifrost Edge';

/**
 * Where one kind of secret lives, apart from every other kind: its own files (one per backend) and
 * its own keychain items, so two secrets never overwrite each other and switching backends never
 * reads another backend's data.
 */
export interface ProtectedSecretLayout {
  /** Folder for the files (0700). */
  dir: string;
  /** File name stem: `<stem>.safe-storage.json`, `<stem>.keychain.json`, `<stem>.secret-service.json`, `<stem>.enc.json` + `<stem>.key`. */
  stem: string;
  /** Account of the macOS login keychain item (service "Bifrost Edge"). */
  keychainAccount: string;
  /** Attributes of the Secret Service item. */
  secretServiceAttributes: Record<string, string>;
  /** What is kept, for notes and warnings: "the device credential", "the virtual key". */
  what: string;
  /** Shown when only the key-file store is left (the key sits next to the data). */
  keyFileWarning: string;
}

export interface ProtectedStoreOptions {
  /** Electron's safeStorage, from the Electron main process only. */
  safeStorage?: SafeStorageLike;
  platform?: NodeJS.Platform;
  /** Runs `security` / `secret-tool`; replaceable in tests. */
  runCommand?: CommandRunner;
}

/** A backend that holds the secret but cannot be used now (keyring locked, no keyring in this session). */
export interface UnusableBackend {
  backend: TokenStoreBackend;
  location: string;
  problem: string;
}

export type ProtectedStoreChoice = { kind: 'store'; store: TokenStore } | { kind: 'unusable'; unusable: UnusableBackend };

/** The file names a layout uses, one per backend. */
export function protectedFileNames(stem: string) {
  return {
    safeStorage: `${stem}.safe-storage.json`,
    macosKeychain: `${stem}.keychain.json`,
    secretService: `${stem}.secret-service.json`,
    keyFile: `${stem}.enc.json`,
    keyFileKey: `${stem}.key`,
  } as const;
}

/**
 * The strongest protected store this machine offers for one secret, in the order src/auth uses for
 * sign-in tokens: Electron safeStorage; the macOS keychain or Secret Service holding an AES-256-GCM
 * key; else an encrypted file with its key beside it (with a warning). `notes` says why stronger
 * backends were skipped.
 *
 * A backend that already holds the secret is kept even when it does not answer now: a keyring locked
 * at boot must give a clear error, never a silent switch to the weaker key-file store (which would
 * look like "nothing saved", or write a second copy with less protection).
 */
export async function chooseProtectedTokenStore(layout: ProtectedSecretLayout, options: ProtectedStoreOptions = {}): Promise<ProtectedStoreChoice> {
  const platform = options.platform ?? process.platform;
  const run = options.runCommand ?? runCommand;
  const names = protectedFileNames(layout.stem);
  const file = (name: string): string => path.join(layout.dir, name);
  const notes: string[] = [];

  if (options.safeStorage) {
    const problem = safeStorageProblem(options.safeStorage, platform);
    const location = file(names.safeStorage);
    if (!problem) return { kind: 'store', store: new SafeStorageTokenStore({ file: location, safeStorage: options.safeStorage, platform }) };
    if (await fileExists(location)) return { kind: 'unusable', unusable: { backend: 'electron-safe-storage', location, problem } };
    notes.push(`Electron safeStorage not used: ${problem}`);
  }

  const keychain = osKeychain(platform, run, layout);
  if (keychain) {
    const location = file(keychain.file);
    const problem = await keychain.source.probe();
    if (!problem || (await fileExists(location))) {
      return { kind: 'store', store: new EncryptedFileTokenStore({ file: location, keySource: keychain.source, notes }) };
    }
    notes.push(`${keychain.name} not used: ${problem}`);
  } else {
    notes.push(`Windows Credential Manager is not used by the command-line agent; the Bifrost Edge app protects ${layout.what} with DPAPI through safeStorage`);
  }

  return {
    kind: 'store',
    store: new EncryptedFileTokenStore({ file: file(names.keyFile), keySource: new KeyFileSource(file(names.keyFileKey)), warning: layout.keyFileWarning, notes }),
  };
}

interface OsKeychain {
  name: string;
  file: string;
  source: EncryptionKeySource & { probe(): Promise<string | undefined> };
}

/** The OS keychain that can hold the file key on this platform, if any (not on Windows without Electron). */
function osKeychain(platform: NodeJS.Platform, run: CommandRunner, layout: ProtectedSecretLayout): OsKeychain | undefined {
  const names = protectedFileNames(layout.stem);
  if (platform === 'darwin') {
    return { name: 'macOS keychain', file: names.macosKeychain, source: new MacKeychainKeySource(run, KEYCHAIN_SERVICE, layout.keychainAccount) };
  }
  if (platform === 'win32') return undefined;
  return { name: 'Secret Service keyring', file: names.secretService, source: new SecretServiceKeySource(run, layout.secretServiceAttributes) };
}

/**
 * A single secret (a virtual key, a device credential) in the sign-in record format the token stores
 * keep, so it gets the same protection without a store of its own. `tokenType` marks what it is, so a
 * store that holds something else is recognised and refused; `idToken` says there is none.
 */
export function secretRecord(secret: { issuer: string; clientId: string; value: string; tokenType: string; what: string }): SessionTokens {
  return {
    version: 1,
    issuer: secret.issuer,
    clientId: secret.clientId,
    accessToken: secret.value,
    tokenType: secret.tokenType,
    idToken: `none: this record holds ${secret.what}`,
    idTokenClaims: {},
    receivedAt: Date.now(),
  };
}
