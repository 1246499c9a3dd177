/**
 * Notices sign-ins that another process saves or deletes (`bifrost-edge login` / `logout` beside a
 * running agent) by checking every few seconds whether a store holds anything: a file check, no
 * decryption and no keychain round trip. Cheaper and more portable than file-system watching (the
 * stores live in files on some systems and keychains on others).
 */

export interface WatchedStore {
  hasSaved(): Promise<boolean>;
  /** What identifies the saved content without reading it (see TokenStore.savedVersion); optional. */
  savedVersion?(): Promise<string | undefined>;
}

export interface SavedSignInHandlers {
  /** Something is saved where nothing was at the previous check. `version` as for `present`. */
  appeared?: (version: string | undefined) => unknown;
  /**
   * Something is saved (at every such check, after `appeared`): a sign-in saved over another one
   * keeps the file in place, so a process waiting for a new sign-in has to look for itself. `version`
   * identifies what is saved, when the store can tell: a handler that decrypts only when it changed
   * spares the keychain a round trip (and maybe an unlock prompt) every few seconds.
   */
  present?: (version: string | undefined) => unknown;
  /** Nothing is saved (at every such check, so a handler that could not act yet gets another go). */
  absent?: () => unknown;
}

/** How often a running agent looks. */
export const SAVED_SIGN_IN_CHECK_MS = 5_000;

/** Starts watching; returns what stops it. The first check only sets the baseline. */
export function watchSavedSignIn(store: WatchedStore, handlers: SavedSignInHandlers, intervalMs = SAVED_SIGN_IN_CHECK_MS): () => void {
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
      const version = now ? await store.savedVersion?.() : undefined;
      if (now && !before) await handlers.appeared?.(version);
      if (now) await handlers.present?.(version);
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
