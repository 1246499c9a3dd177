import { authDirectory } from './create-token-store.js';
import { chooseProtectedTokenStore, secretRecord, type ProtectedStoreOptions, type UnusableBackend } from './protected-token-store.js';
import type { SessionTokens } from './session-tokens.js';
import { RESET_SAVED_SIGN_IN, TokenStoreError, type TokenStore, type TokenStoreDescription } from './token-store.js';
import { VIRTUAL_KEY_PREFIX } from './virtual-key-shape.js';

/** A virtual key a person signed in with (`bifrost-edge login --virtual-key`), and the Edge Control it is for. */
export interface SavedVirtualKey {
  virtualKey: string;
  /** The Edge Control server the key was offered to; the agent never sends it to another one. */
  controlUrl: string;
  /** ISO time of the sign-in. */
  savedAt: string;
}

/** Keeps the sign-in virtual key at rest, with the same protection as the OIDC tokens. */
export interface VirtualKeyStore {
  /** The saved key, or undefined when none; throws TokenStoreError when it cannot be read. */
  load(): Promise<SavedVirtualKey | undefined>;
  /** Whether a key is saved, without reading it (see TokenStore.hasSaved). */
  hasSaved(): Promise<boolean>;
  save(key: Omit<SavedVirtualKey, 'savedAt'>): Promise<void>;
  /** Deletes it (and its file key); safe to call when empty. */
  clear(): Promise<void>;
  describe(): TokenStoreDescription;
}

/** Marks a token-store record as a sign-in virtual key, not an OIDC session or a device credential. */
export const VIRTUAL_KEY_TOKEN_TYPE = 'bifrost-edge-virtual-key';

/** SessionTokens requires a client id; a virtual key has none, and this says so. */
const CLIENT_ID = 'bifrost-edge-virtual-key-sign-in';

const RESET_SAVED_KEY = 'Run `bifrost-edge logout` to delete it, then `bifrost-edge login --virtual-key`.';

export const VIRTUAL_KEY_FILE_WARNING = 'Your virtual key is stored in an encrypted file whose key is in another file in the same folder. This protects against casual disclosure (a copied file, a backup), not against another program running as your user account, which can read both. Use an OS keyring (GNOME Keyring / KWallet with secret-tool) for stronger protection.';

export interface CreateVirtualKeyStoreOptions extends ProtectedStoreOptions {
  dataDir: string;
}

/**
 * The strongest protected store for the sign-in virtual key (OS keychain or Secret Service holding
 * the file key, else an encrypted file with a warning), with files (`<dataDir>/auth/virtual-key.*`)
 * and keychain items of its own, so it never overwrites the OIDC session or the device credential.
 */
export async function createVirtualKeyStore(options: CreateVirtualKeyStoreOptions): Promise<VirtualKeyStore> {
  const { dataDir, ...backends } = options;
  const choice = await chooseProtectedTokenStore({
    dir: authDirectory(dataDir),
    stem: 'virtual-key',
    keychainAccount: `virtual-key:${dataDir}`,
    secretServiceAttributes: { application: 'bifrost-edge', purpose: 'virtual-key-key', 'data-dir': dataDir },
    what: 'the virtual key',
    keyFileWarning: VIRTUAL_KEY_FILE_WARNING,
  }, backends);
  return choice.kind === 'store' ? new TokenStoreVirtualKeyStore(choice.store) : new UnusableVirtualKeyStore(choice.unusable);
}

/**
 * The key travels in src/auth's token-store record (`issuer` = control URL, `accessToken` = the key,
 * a token type of its own), so it gets the stores' encryption and integrity checks; a record of
 * another type is refused rather than sent anywhere as a key.
 */
export class TokenStoreVirtualKeyStore implements VirtualKeyStore {
  constructor(private readonly store: TokenStore) {}

  describe(): TokenStoreDescription {
    return this.store.describe();
  }

  hasSaved(): Promise<boolean> {
    return this.store.hasSaved();
  }

  async load(): Promise<SavedVirtualKey | undefined> {
    let record: SessionTokens | undefined;
    try {
      record = await this.store.load();
    } catch (err) {
      throw translate(err);
    }
    if (!record) return undefined;
    if (record.tokenType !== VIRTUAL_KEY_TOKEN_TYPE || !record.accessToken.startsWith(VIRTUAL_KEY_PREFIX)) {
      throw new TokenStoreError('corrupt', `${this.store.describe().location} does not hold a virtual key. ${RESET_SAVED_KEY}`);
    }
    return { virtualKey: record.accessToken, controlUrl: record.issuer, savedAt: new Date(record.receivedAt).toISOString() };
  }

  async save(key: Omit<SavedVirtualKey, 'savedAt'>): Promise<void> {
    const record = secretRecord({ issuer: key.controlUrl, clientId: CLIENT_ID, value: key.virtualKey, tokenType: VIRTUAL_KEY_TOKEN_TYPE, what: 'a Bifrost virtual key' });
    try {
      await this.store.save(record);
    } catch (err) {
      throw translate(err);
    }
  }

  async clear(): Promise<void> {
    try {
      await this.store.clear();
    } catch (err) {
      throw translate(err);
    }
  }
}

/** A backend that holds the key but does not answer now (keyring locked): every call says why. */
class UnusableVirtualKeyStore implements VirtualKeyStore {
  constructor(private readonly unusable: UnusableBackend) {}

  describe(): TokenStoreDescription {
    return { backend: this.unusable.backend, location: this.unusable.location };
  }

  /** Locked: whatever is there cannot be used now, so nothing is announced. */
  async hasSaved(): Promise<boolean> {
    return false;
  }

  async load(): Promise<never> {
    throw new TokenStoreError('unavailable', `Cannot read the saved virtual key in ${this.unusable.location}: ${this.unusable.problem}`);
  }

  async save(): Promise<never> {
    throw new TokenStoreError('unavailable', `Cannot save the virtual key in ${this.unusable.location}: ${this.unusable.problem}`);
  }

  async clear(): Promise<never> {
    throw new TokenStoreError('unavailable', `Cannot delete the saved virtual key in ${this.unusable.location}: ${this.unusable.problem}`);
  }
}

/** The token stores' advice is about the OIDC sign-in; say what to do about the key instead. */
function translate(err: unknown): Error {
  if (!(err instanceof TokenStoreError)) return err as Error;
  return new TokenStoreError(err.code, err.message.replace(RESET_SAVED_SIGN_IN, RESET_SAVED_KEY), { cause: err });
}
