import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDirectory, writeFileAtomically } from '../ca/private-files.js';
import type { SessionTokens } from './session-tokens.js';
import { fileExists } from '../util/file-exists.js';
import { savedFileVersion } from './saved-file-version.js';
import { parseStoredSession, readSavedSignInFile, RESET_SAVED_SIGN_IN, serializeSession, TokenStoreError, type TokenStore, type TokenStoreDescription } from './token-store.js';

/**
 * The part of Electron's `safeStorage` this store uses. The Electron main process passes the real
 * module; this folder never imports Electron, so the agent and CLI run without it.
 */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only: 'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown'. */
  getSelectedStorageBackend?(): string;
}

const EnvelopeSchema = z.strictObject({
  format: z.literal('bifrost-edge-session'),
  version: z.literal(1),
  protection: z.literal('electron-safe-storage'),
  data: z.base64(),
});

/**
 * Why safeStorage can't protect tokens here, or undefined when it can. On Linux without a keyring
 * Electron falls back to `basic_text`: "encryption" with a hard-coded password, i.e. plain text.
 */
export function safeStorageProblem(safeStorage: SafeStorageLike, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'linux' && safeStorage.getSelectedStorageBackend?.() === 'basic_text') {
    return 'Electron safeStorage has no keyring on this Linux desktop (backend "basic_text"), so it would store tokens with a hard-coded password, which is no protection. Install and unlock GNOME Keyring or KWallet (or start the app with --password-store=gnome-libsecret), then restart Bifrost Edge.';
  }
  if (!safeStorage.isEncryptionAvailable()) {
    return 'Electron safeStorage reports that encryption is not available (no OS keychain, or it was asked before the app was ready). Make sure the OS keychain is unlocked, then restart Bifrost Edge.';
  }
  return undefined;
}

export interface SafeStorageTokenStoreOptions {
  file: string;
  safeStorage: SafeStorageLike;
  platform?: NodeJS.Platform;
}

/** Session file encrypted with the OS keychain through Electron (Keychain on macOS, DPAPI on Windows, libsecret/KWallet on Linux). */
export class SafeStorageTokenStore implements TokenStore {
  private readonly file: string;
  private readonly safeStorage: SafeStorageLike;
  private readonly platform: NodeJS.Platform;

  /** Throws TokenStoreError('unavailable') when safeStorage can't really protect secrets (see safeStorageProblem). */
  constructor(options: SafeStorageTokenStoreOptions) {
    this.file = options.file;
    this.safeStorage = options.safeStorage;
    this.platform = options.platform ?? process.platform;
    this.assertUsable();
  }

  describe(): TokenStoreDescription {
    return { backend: 'electron-safe-storage', location: `${this.file} (key in the OS keychain via Electron safeStorage)` };
  }

  hasSaved(): Promise<boolean> {
    return fileExists(this.file);
  }

  savedVersion(): Promise<string | undefined> {
    return savedFileVersion(this.file);
  }

  async load(): Promise<SessionTokens | undefined> {
    const text = await readSavedSignInFile(this.file);
    if (text === undefined) return undefined;
    this.assertUsable();
    let envelope: z.output<typeof EnvelopeSchema>;
    try {
      envelope = EnvelopeSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new TokenStoreError('corrupt', `The saved sign-in ${this.file} is damaged or from an unknown version of Bifrost Edge. ${RESET_SAVED_SIGN_IN}`, { cause: error });
    }
    let plain: string;
    try {
      plain = this.safeStorage.decryptString(Buffer.from(envelope.data, 'base64'));
    } catch (error) {
      throw new TokenStoreError('corrupt', `The saved sign-in ${this.file} could not be decrypted by the OS keychain: it was modified, or the keychain entry for Bifrost Edge was reset. ${RESET_SAVED_SIGN_IN}`, { cause: error });
    }
    return parseStoredSession(plain, this.file);
  }

  async save(tokens: SessionTokens): Promise<void> {
    this.assertUsable();
    await ensurePrivateDirectory(path.dirname(this.file));
    const data = this.safeStorage.encryptString(serializeSession(tokens));
    const envelope = { format: 'bifrost-edge-session', version: 1, protection: 'electron-safe-storage', data: data.toString('base64') };
    try {
      await writeFileAtomically(this.file, `${JSON.stringify(envelope)}\n`, 0o600);
    } catch (error) {
      throw new TokenStoreError('io', `Could not save the sign-in to ${this.file}: ${(error as Error).message}. Check that the data directory is writable.`, { cause: error });
    }
  }

  async clear(): Promise<void> {
    await unlink(this.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw new TokenStoreError('io', `Could not delete the saved sign-in ${this.file}: ${error.message}. Delete it by hand.`, { cause: error });
    });
  }

  private assertUsable(): void {
    const problem = safeStorageProblem(this.safeStorage, this.platform);
    if (problem) throw new TokenStoreError('unavailable', problem);
  }
}
