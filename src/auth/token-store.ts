import { readFile } from 'node:fs/promises';
import { tightenMode } from '../ca/private-files.js';
import { SessionTokensSchema, type SessionTokens } from './session-tokens.js';

/** Where tokens live at rest, so `describe()` can tell the employee and IT how well they are protected. */
export type TokenStoreBackend = 'electron-safe-storage' | 'macos-keychain' | 'secret-service' | 'encrypted-file';

export interface TokenStoreDescription {
  backend: TokenStoreBackend;
  /** Where the data is, for support (a file path, a keychain service name). */
  location: string;
  /** Present when the protection is weaker than an OS keychain: show it to the employee. */
  warning?: string;
  /** Why better backends were not used (e.g. "secret-tool is not installed"). */
  notes?: string[];
}

/**
 * Keeps the signed-in session between runs. Implementations encrypt at rest; `load()` throws a
 * TokenStoreError (never returns garbage) when stored data was tampered with or can't be decrypted.
 */
export interface TokenStore {
  /** The saved session, or undefined when nobody is signed in. */
  load(): Promise<SessionTokens | undefined>;
  /**
   * Whether a session is saved, without decrypting it (no keychain round trip): what a running
   * agent checks every few seconds to notice a sign-out made by another process.
   */
  hasSaved(): Promise<boolean>;
  /**
   * What identifies the saved session without decrypting it (its file's inode, size and modification
   * time), undefined when none is saved: it changes when a sign-in is saved over another, so a
   * running agent waiting for a new sign-in decrypts only what is new.
   */
  savedVersion(): Promise<string | undefined>;
  save(tokens: SessionTokens): Promise<void>;
  /** Deletes the saved session (and its key where the key is per-session). Safe to call when empty. */
  clear(): Promise<void>;
  describe(): TokenStoreDescription;
}

export type TokenStoreErrorCode = 'unavailable' | 'corrupt' | 'io';

export class TokenStoreError extends Error {
  readonly code: TokenStoreErrorCode;

  constructor(code: TokenStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenStoreError';
    this.code = code;
  }
}

export const RESET_SAVED_SIGN_IN = 'Run `bifrost-edge logout` to delete it, then `bifrost-edge login` (or use Sign out / Sign in in the tray menu).';

/**
 * The text of a file-backed store's saved sign-in; undefined when none was saved. A file found readable by
 * others (copied in, or written by an old version) is tightened to the owner before its content is used.
 */
export async function readSavedSignInFile(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenStoreError('io', `Could not read the saved sign-in ${file}: ${(error as Error).message}.`, { cause: error });
  }
  await tightenMode(file, 0o600);
  return text;
}

/** Parses decrypted store content; anything but a valid session is reported as corrupt, with `where`. */
export function parseStoredSession(text: string, where: string): SessionTokens {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenStoreError('corrupt', `The saved sign-in in ${where} is not readable (invalid JSON after decryption). ${RESET_SAVED_SIGN_IN}`, { cause: error });
  }
  const result = SessionTokensSchema.safeParse(json);
  if (!result.success) {
    throw new TokenStoreError('corrupt', `The saved sign-in in ${where} has an unexpected format (written by another version of Bifrost Edge?). ${RESET_SAVED_SIGN_IN}`, { cause: result.error });
  }
  return result.data;
}

export function serializeSession(tokens: SessionTokens): string {
  return JSON.stringify(SessionTokensSchema.parse(tokens));
}
