import * as client from 'openid-client';
import type { AuthConfig } from './auth-config.js';
import { AuthError, SIGN_IN_AGAIN } from './auth-error.js';
import { toAuthError } from './oidc-errors.js';
import type { SessionTokens } from './session-tokens.js';
import { sessionTokensFromResponse } from './token-response.js';

export interface RefreshOptions {
  now?: () => number;
  onUserInfoError?: (error: unknown) => void;
}

/**
 * Renews the session with the refresh token. The provider may rotate the refresh token (then the
 * old one is dead and the new one must be saved) and may reissue the ID token, which openid-client
 * validates like the first one.
 */
export async function refreshSessionTokens(provider: client.Configuration, config: AuthConfig, current: SessionTokens, options: RefreshOptions = {}): Promise<SessionTokens> {
  if (!current.refreshToken) {
    throw new AuthError('session_expired', `Your Bifrost Edge sign-in can't be renewed: the identity provider (${config.issuer}) issued no refresh token. ${SIGN_IN_AGAIN} If this happens every hour, ask IT to allow offline_access for the Bifrost Edge app.`);
  }
  try {
    const response = await client.refreshTokenGrant(provider, current.refreshToken, config.resource ? { resource: config.resource } : undefined);
    return await sessionTokensFromResponse(response, { provider, issuer: config.issuer, clientId: config.clientId, previous: current, ...options });
  } catch (error) {
    throw toAuthError(error, 'refresh', config.issuer);
  }
}

export type RevocationOutcome =
  | { status: 'revoked' }
  /** The provider has no revocation endpoint: the tokens stay valid until they expire. */
  | { status: 'not_supported' }
  | { status: 'failed'; error: AuthError };

/**
 * Revokes the refresh token, then the access token (RFC 7009). The refresh token goes first: it is
 * the long-lived one, and most providers revoke the whole grant with it.
 */
export async function revokeSessionTokens(provider: client.Configuration, tokens: SessionTokens, issuer: string): Promise<RevocationOutcome> {
  if (!provider.serverMetadata().revocation_endpoint) return { status: 'not_supported' };
  try {
    if (tokens.refreshToken) await client.tokenRevocation(provider, tokens.refreshToken, { token_type_hint: 'refresh_token' });
    await client.tokenRevocation(provider, tokens.accessToken, { token_type_hint: 'access_token' });
    return { status: 'revoked' };
  } catch (error) {
    return { status: 'failed', error: toAuthError(error, 'revocation', issuer) };
  }
}
