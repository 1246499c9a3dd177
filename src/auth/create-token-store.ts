import path from 'node:path';
import { EncryptedFileTokenStore } from './encrypted-file-token-store.js';
import { KeyFileSource, MacKeychainKeySource, SecretServiceKeySource } from './encryption-keys.js';
import { runCommand, type CommandRunner } from './run-command.js';
import { SafeStorageTokenStore, safeStorageProblem, type SafeStorageLike } from './safe-storage-token-store.js';
import type { TokenStore } from './token-store.js';

/** Name under which keychain items are filed. */
export const KEYCHAIN_SERVICE = 'Bifrost Edge';

/** Session files live here, inside the data directory, in a 0700 folder of their own. */
export function authDirectory(dataDir: string): string {
  return path.join(dataDir, 'auth');
}

export interface CreateTokenStoreOptions {
  dataDir: string;
  /** Electron's safeStorage, passed by the Electron main process only. */
  safeStorage?: SafeStorageLike;
  platform?: NodeJS.Platform;
  /** Runs `security` / `secret-tool`; replaceable to point at another binary. */
  runCommand?: CommandRunner;
}

/**
 * Picks the strongest store this machine offers and says which in `describe()` (with `notes` on
 * why stronger ones were skipped):
 *   1. Electron safeStorage (the desktop app), unless Linux has no keyring ("basic_text");
 *   2. headless: the OS keychain holds the file key — macOS login keychain, Linux Secret Service;
 *   3. otherwise (Windows CLI, servers): an encrypted file with the key in a 0600 file, with a warning.
 * Each backend uses its own file, so switching backends looks like "signed out", never like damage.
 */
export async function createTokenStore(options: CreateTokenStoreOptions): Promise<TokenStore> {
  const platform = options.platform ?? process.platform;
  const run = options.runCommand ?? runCommand;
  const dir = authDirectory(options.dataDir);
  const notes: string[] = [];

  if (options.safeStorage) {
    const problem = safeStorageProblem(options.safeStorage, platform);
    if (!problem) return new SafeStorageTokenStore({ file: path.join(dir, 'session.safe-storage.json'), safeStorage: options.safeStorage, platform });
    notes.push(`Electron safeStorage not used: ${problem}`);
  }

  if (platform === 'darwin') {
    const keychain = new MacKeychainKeySource(run, KEYCHAIN_SERVICE, options.dataDir);
    const problem = await keychain.probe();
    if (!problem) return new EncryptedFileTokenStore({ file: path.join(dir, 'session.keychain.json'), keySource: keychain, notes });
    notes.push(`macOS keychain not used: ${problem}`);
  } else if (platform !== 'win32') {
    const secretService = new SecretServiceKeySource(run, { application: 'bifrost-edge', purpose: 'session-key', 'data-dir': options.dataDir });
    const problem = await secretService.probe();
    if (!problem) return new EncryptedFileTokenStore({ file: path.join(dir, 'session.secret-service.json'), keySource: secretService, notes });
    notes.push(`Secret Service keyring not used: ${problem}`);
  } else {
    notes.push('Windows Credential Manager is not used by the command-line agent; the Bifrost Edge app protects tokens with DPAPI through safeStorage');
  }

  return new EncryptedFileTokenStore({ file: path.join(dir, 'session.enc.json'), keySource: new KeyFileSource(path.join(dir, 'session.key')), notes });
}
