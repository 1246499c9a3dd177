import { RESET_SAVED_SIGN_IN, TokenStoreError, type TokenStore } from '../../auth/token-store.js';
import { secretRecord } from '../../auth/protected-token-store.js';
import type { SessionTokens } from '../../auth/session-tokens.js';
import {
  DeviceCredentialStoreError, type DeviceCredential, type DeviceCredentialStore, type DeviceCredentialStoreDescription,
} from './device-credential-store.js';

/** Marks a token-store record as a device credential, not an OIDC session. */
export const DEVICE_CREDENTIAL_TOKEN_TYPE = 'bifrost-edge-device-credential';

export const DEVICE_CREDENTIAL_KEY_FILE_WARNING = 'the device credential is stored in an encrypted file whose key is in another file in the same folder: this protects against casual disclosure (a copied file, a backup), not against another program running as this user; install an OS keyring (GNOME Keyring / KWallet with secret-tool) or use the Bifrost Edge app for stronger protection';

/**
 * Keeps the device credential in one of src/auth's token stores (Electron safeStorage, the OS
 * keychain holding an AES-GCM key, or an encrypted file), so it gets the same protection as the
 * OIDC tokens. Those stores persist `SessionTokens`; the credential travels in that shape
 * (`issuer` = control URL, `clientId` = device id, `accessToken` = credential, a token type of its
 * own), and a record of another type is refused rather than sent as a credential.
 *
 * The wrapped store must be one of its own (its own file and keychain item): sharing the OIDC
 * session's store would overwrite the sign-in. createDeviceCredentialStore() builds such stores.
 */
export class TokenStoreCredentialStore implements DeviceCredentialStore {
  constructor(private readonly store: TokenStore) {}

  describe(): DeviceCredentialStoreDescription {
    const d = this.store.describe();
    const out: DeviceCredentialStoreDescription = { backend: d.backend, location: d.location };
    // The store's own warning talks about sign-in tokens; say the same about the credential.
    if (d.warning) out.warning = d.backend === 'encrypted-file' ? DEVICE_CREDENTIAL_KEY_FILE_WARNING : d.warning;
    if (d.notes) out.notes = d.notes;
    return out;
  }

  async load(): Promise<DeviceCredential | undefined> {
    let tokens: SessionTokens | undefined;
    try {
      tokens = await this.store.load();
    } catch (err) {
      throw this.translate(err, 'read');
    }
    if (!tokens) return undefined;
    if (tokens.tokenType !== DEVICE_CREDENTIAL_TOKEN_TYPE) {
      throw new DeviceCredentialStoreError('corrupt', `${this.store.describe().location} holds a ${tokens.tokenType} token, not a device credential (is it shared with the sign-in store?)`);
    }
    return { controlUrl: tokens.issuer, deviceId: tokens.clientId, credential: tokens.accessToken };
  }

  async save(credential: DeviceCredential): Promise<void> {
    const record = secretRecord({ issuer: credential.controlUrl, clientId: credential.deviceId, value: credential.credential, tokenType: DEVICE_CREDENTIAL_TOKEN_TYPE, what: 'an Edge Control device credential' });
    try {
      await this.store.save(record);
    } catch (err) {
      throw this.translate(err, 'write');
    }
  }

  async clear(): Promise<void> {
    try {
      await this.store.clear();
    } catch (err) {
      throw this.translate(err, 'delete');
    }
  }

  /** Token-store errors advise `bifrost-edge logout`, which does not touch the credential: drop that advice. */
  private translate(err: unknown, action: string): Error {
    if (!(err instanceof TokenStoreError)) return err as Error;
    // The token store's message already says where (file, keychain item); name the backend only.
    const detail = err.message.replace(RESET_SAVED_SIGN_IN, '').trim();
    return new DeviceCredentialStoreError(err.code, `cannot ${action} the device credential (${this.store.describe().backend} store): ${detail}`, { cause: err });
  }
}
