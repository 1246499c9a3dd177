/**
 * Why a sign-in step failed, as a stable code the CLI, tray and tests can branch on. The message is
 * for a person: what went wrong and what to do next. Neither ever contains a token.
 */
export type AuthErrorCode =
  /** The issuer is plain http:// on a network address. */
  | 'insecure_issuer'
  /** Discovery failed: provider unreachable, not an OpenID provider, or bad metadata. */
  | 'discovery_failed'
  /** The provider's metadata (or a token) names a different issuer than configured: possible mix-up. */
  | 'issuer_mismatch'
  /** The browser came back with a `state` that this sign-in did not send. */
  | 'state_mismatch'
  /** The provider answered the authorization request with an error (user cancelled, client not allowed, ...). */
  | 'provider_error'
  /** The provider refused the authorization code: already used, expired, or issued to someone else. */
  | 'code_rejected'
  /** The ID token failed validation (signature, audience, nonce, ...). */
  | 'id_token_invalid'
  /** The ID token's `exp` is already past. */
  | 'id_token_expired'
  /** No browser came back before the sign-in timeout. */
  | 'login_timeout'
  /** The sign-in was cancelled by the caller (window closed, Ctrl-C). */
  | 'login_cancelled'
  /** The provider could not be reached or answered with something unusable. */
  | 'provider_unreachable'
  /** The provider refused the refresh token: revoked, expired, or rotated away. Sign in again. */
  | 'refresh_rejected'
  /** Nobody is signed in on this device. */
  | 'not_signed_in'
  /** The tokens expired and can't be refreshed: sign in again. */
  | 'session_expired';

export class AuthError extends Error {
  readonly code: AuthErrorCode;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthError';
    this.code = code;
  }
}

export function isAuthError(error: unknown, code?: AuthErrorCode): error is AuthError {
  return error instanceof AuthError && (code === undefined || error.code === code);
}

/** The command employees run to start over; one place so every message says the same thing. */
export const SIGN_IN_AGAIN = 'Sign in again (tray menu → Sign in, or `bifrost-edge login`).';
