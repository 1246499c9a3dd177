import type { AuthSession } from '../../auth/session.js';
import type { VirtualKeyStore } from '../../auth/virtual-key-store.js';
import type { EnrollmentCredential } from './policy-sync-client.js';

export interface EnrollmentCredentialSourceOptions {
  /** `control.url`: a saved virtual key is only ever sent to the server it was saved for. */
  controlUrl: string;
  /** `control.enrollment`: what IT chose for this device. */
  enrollment: 'oidc' | 'virtual_key';
  /** `gateway.virtualKey`, for `control.enrollment: "virtual_key"`. */
  configuredVirtualKey?: string;
  /** The OIDC session, when sign-in is configured. */
  session?: Pick<AuthSession, 'getIdentity' | 'getIdToken' | 'getAccessToken'> & { adoptSavedSignIn?(): Promise<unknown> };
  /** Where `bifrost-edge login --virtual-key` keeps the key a person signed in with. */
  signInKeys?: Pick<VirtualKeyStore, 'load'>;
}

/**
 * What the device enrolls with, decided afresh at every enrollment attempt, so a sign-in made while
 * the agent runs (`bifrost-edge login` or `login --virtual-key` in another process) is used at the next one:
 *   - `virtual_key` enrollment: the configured key, else a signed-in one;
 *   - `oidc` enrollment: the OIDC session, else a signed-in virtual key (people without an account
 *     at the identity provider; Edge Control refuses it unless the admin allows it).
 * Throws, with what to do, when there is nothing to enroll with; the sync client logs it and retries.
 */
export function enrollmentCredentialSource(options: EnrollmentCredentialSourceOptions): () => Promise<EnrollmentCredential> {
  return async () => {
    if (options.enrollment === 'virtual_key' && options.configuredVirtualKey) {
      return { method: 'virtual_key', virtual_key: options.configuredVirtualKey };
    }
    const session = options.session;
    // `bifrost-edge login` in another process may have saved a sign-in since the agent started.
    if (options.enrollment === 'oidc' && session && !session.getIdentity()) await session.adoptSavedSignIn?.();
    if (options.enrollment === 'oidc' && session?.getIdentity()) {
      // The access token rides along so Edge Control can read email and groups from userinfo when the
      // provider keeps them out of ID tokens (many do).
      const token = await session.getIdToken();
      return { method: 'oidc', token, access_token: await session.getAccessToken() };
    }
    const saved = await options.signInKeys?.load();
    if (saved && saved.controlUrl === options.controlUrl) return { method: 'virtual_key', virtual_key: saved.virtualKey };
    if (saved) {
      throw new Error(`the virtual key you signed in with is for Edge Control at ${saved.controlUrl}, but this device now uses ${options.controlUrl}; run \`bifrost-edge login --virtual-key\` again`);
    }
    if (options.enrollment === 'virtual_key') {
      throw new Error('control.enrollment is "virtual_key" but gateway.virtualKey is not set; set it, or sign in with `bifrost-edge login --virtual-key`');
    }
    throw new Error('not signed in yet: run `bifrost-edge login` (or `bifrost-edge login --virtual-key` with a key from your admin) to enroll this device');
  };
}
