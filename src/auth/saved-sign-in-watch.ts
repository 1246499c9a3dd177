/**
 * Notices sign-ins that another process saves or deletes (`bifrost-edge login` / `logout` beside a
 * running agent) by checking every few seconds whether a store holds anything: a file check, no
 * decryption and no keychain round trip. Cheaper and more portable than file-system watching (the
 * stores live in files on some systems and keychains on others).
 */

export interface SavedSignInHandlers {
  /** Something is saved where nothing was at the previous check. */
  appeared?: () => unknown;
  /**
   * Something is saved (at every such check, after `appeared`): a sign-in saved over another one
   * keeps the file in place, so a process waiting for a new sign-in has to look for itself.
   */
  present?: () => unknown;
  /** Nothing is saved (at every such check, so a handler that could not act yet gets another go). */
  absent?: () => unknown;
}

/** How often a running agent looks. */
export const SAVED_SIGN_IN_CHECK_MS = 5_000;

/** Starts watching; returns what stops it. The first check only sets the baseline. */
export function watchSavedSignIn(store: { hasSaved(): Promise<boolean> }, handlers: SavedSignInHandlers, intervalMs = SAVED_SIGN_IN_CHECK_MS): () => void {
  let saved: boolean | undefined;
  let checking = false;
  const check = async () => {
    // A slow store (a busy disk) must not pile checks up.
    if (checking) return;
    checking = true;
    try {
      const now = await store.hasSaved();
      const before = saved;
      saved = now;
      if (before === undefined) return;
      if (now && !before) await handlers.appeared?.();
      if (now) await handlers.present?.();
      if (!now) await handlers.absent?.();
    } finally {
      checking = false;
    }
  };
  void check().catch(() => undefined);
  const timer = setInterval(() => void check().catch(() => undefined), intervalMs);
  // Never what keeps a finished process alive.
  timer.unref();
  return () => clearInterval(timer);
}
