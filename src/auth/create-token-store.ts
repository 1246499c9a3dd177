import path from 'node:path';
import { KEY_FILE_WARNING } from './encrypted-file-token-store.js';
import { chooseProtectedTokenStore, KEYCHAIN_SERVICE, type UnusableBackend } from './protected-token-store.js';
import type { CommandRunner } from './run-command.js';
import type { SafeStorageLike } from './safe-storage-token-store.js';
import { TokenStoreError, type TokenStore, type TokenStoreDescription } from './token-store.js';
import { fileExists } from '../util/file-exists.js';
import { savedFileVersion } from './saved-file-version.js';

export { KEYCHAIN_SERVICE };

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
 *
 * A backend that already holds a sign-in is kept even when it does not answer now (keyring locked at
 * boot, no D-Bus in an SSH session): reading, saving and deleting then fail with "unlock your keyring",
 * never a silent switch to the key-file store, which would report "not signed in" while the real
 * session waits on disk to come back (see chooseProtectedTokenStore).
 */
export async function createTokenStore(options: CreateTokenStoreOptions): Promise<TokenStore> {
  const { dataDir, ...backends } = options;
  const choice = await chooseProtectedTokenStore({
    dir: authDirectory(dataDir),
    stem: 'session',
    keychainAccount: dataDir,
    secretServiceAttributes: { application: 'bifrost-edge', purpose: 'session-key', 'data-dir': dataDir },
    what: 'sign-in tokens',
    keyFileWarning: KEY_FILE_WARNING,
  }, backends);
  return choice.kind === 'store' ? choice.store : new UnusableTokenStore(choice.unusable);
}

/** A backend that holds the saved sign-in but cannot be used in this run: every change says why. */
class UnusableTokenStore implements TokenStore {
  constructor(private readonly unusable: UnusableBackend) {}

  describe(): TokenStoreDescription {
    return { backend: this.unusable.backend, location: this.unusable.location };
  }

  /** Saved, only unreadable for now: not signed out. */
  hasSaved(): Promise<boolean> {
    return fileExists(this.unusable.location);
  }

  savedVersion(): Promise<string | undefined> {
    return savedFileVersion(this.unusable.location);
  }

  async load(): Promise<never> {
    throw new TokenStoreError('unavailable', `Cannot read the saved sign-in in ${this.unusable.location}: ${this.unusable.problem}`);
  }

  async save(): Promise<never> {
    throw new TokenStoreError('unavailable', `Cannot save the sign-in in ${this.unusable.location}: ${this.unusable.problem}`);
  }

  async clear(): Promise<never> {
    throw new TokenStoreError('unavailable', `Cannot delete the saved sign-in in ${this.unusable.location}: ${this.unusable.problem}`);
  }
}
