import * as client from 'openid-client';
import { AuthError, SIGN_IN_AGAIN } from './auth-error.js';
import { idTokenExpiresAt, type SessionTokens } from './session-tokens.js';

type TokenEndpointResponse = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

export interface ResponseContext {
  provider: client.Configuration;
  issuer: string;
  clientId: string;
  /** The session being refreshed; absent for a fresh sign-in. */
  previous?: SessionTokens;
  now?: () => number;
  /** Told (never thrown) when userinfo can't be read: the ID token alone still identifies the user. */
  onUserInfoError?: (error: unknown) => void;
}

/**
 * Turns a token endpoint response (already validated by openid-client) into SessionTokens, carrying
 * over what a refresh response may omit: a refresh token the provider did not rotate, an ID token
 * it did not reissue.
 */
export async function sessionTokensFromResponse(response: TokenEndpointResponse, context: ResponseContext): Promise<SessionTokens> {
  const { previous } = context;
  const now = (context.now ?? Date.now)();
  const issuedIdTokenClaims = response.claims() as Record<string, unknown> | undefined;
  const idToken = response.id_token ?? previous?.idToken;
  const idTokenClaims = issuedIdTokenClaims ?? previous?.idTokenClaims;
  if (!idToken || !idTokenClaims || typeof idTokenClaims.sub !== 'string') {
    throw new AuthError('id_token_invalid', `The identity provider (${context.issuer}) returned no ID token, so Bifrost Edge can't tell who signed in. Ask IT to allow the "openid" scope for the Bifrost Edge app.`);
  }
  // A refresh must never switch people: the provider answering for someone else is a bug or an attack.
  if (previous && previous.idTokenClaims.sub !== idTokenClaims.sub) {
    throw new AuthError('refresh_rejected', `The identity provider (${context.issuer}) answered a token refresh for a different user (${String(idTokenClaims.sub)} instead of ${String(previous.idTokenClaims.sub)}), so the answer was refused. ${SIGN_IN_AGAIN}`);
  }
  const accessTokenExpiresAt = accessTokenExpiry(response.expiresIn(), issuedIdTokenClaims, now);
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const scope = response.scope ?? previous?.scope;
  const userInfo = (await readUserInfo(context, response.access_token, idTokenClaims.sub)) ?? previous?.userInfo;
  return {
    version: 1,
    issuer: context.issuer,
    clientId: context.clientId,
    accessToken: response.access_token,
    tokenType: response.token_type,
    ...(accessTokenExpiresAt !== undefined ? { accessTokenExpiresAt } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    idToken,
    idTokenClaims,
    ...(userInfo ? { userInfo } : {}),
    ...(scope ? { scope } : {}),
    receivedAt: now,
  };
}

/**
 * When the access token just received expires: its `expires_in`, else the expiry of an ID token issued
 * with it (the provider's only hint). A carried-over ID token's expiry is no hint at all: renewing
 * against it would schedule every refresh for the same instant, and then loop.
 */
function accessTokenExpiry(expiresInSeconds: number | undefined, issuedIdTokenClaims: Record<string, unknown> | undefined, now: number): number | undefined {
  if (expiresInSeconds !== undefined) return now + expiresInSeconds * 1000;
  return issuedIdTokenClaims ? idTokenExpiresAt({ idTokenClaims: issuedIdTokenClaims }) : undefined;
}

async function readUserInfo(context: ResponseContext, accessToken: string, sub: string): Promise<Record<string, unknown> | undefined> {
  if (!context.provider.serverMetadata().userinfo_endpoint) return undefined;
  try {
    // openid-client checks that userinfo's `sub` is the ID token's, so claims can't be swapped in.
    return { ...(await client.fetchUserInfo(context.provider, accessToken, sub)) };
  } catch (error) {
    context.onUserInfoError?.(error);
    return undefined;
  }
}
