import type { Logger } from '../log.js';
import { watchSavedSignIn, SAVED_SIGN_IN_CHECK_MS } from './saved-sign-in-watch.js';
import type { SessionManager } from './session.js';
import type { TokenStore } from './token-store.js';

/**
 * Keeps a running agent's session in step with `bifrost-edge login` / `logout` run in another process:
 * act for the person who signed in, or stop acting for the one who signed out (the CLI revoked the
 * tokens), within seconds, no restart. Returns what stops it.
 */
export function followSavedSignIn(session: SessionManager, store: TokenStore, log: Logger, intervalMs = SAVED_SIGN_IN_CHECK_MS): () => void {
  // The saved file's version at the last look inside it while stuck: looking again decrypts the same session.
  let lookedAt: string | undefined;
  const adopt = async (version: string | undefined) => {
    if (session.isSignInRequired()) lookedAt = version;
    const identity = await session.adoptSavedSignIn();
    if (identity) log.info('signed in: adopted the sign-in saved by another Bifrost Edge process (bifrost-edge login)', { sub: identity.sub });
  };
  return watchSavedSignIn(store, {
    appeared: adopt,
    // A sign-in saved over one that can no longer be renewed leaves the file in place: look while stuck,
    // each time it changed (an unknown version always counts as changed).
    present: (version) => (session.isSignInRequired() && (version === undefined || version !== lookedAt) ? adopt(version) : undefined),
    absent: () => session.noticeSavedSignOut(),
  }, intervalMs);
}
