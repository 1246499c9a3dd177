import * as client from 'openid-client';
import { AuthError, SIGN_IN_AGAIN } from './auth-error.js';
import type { SessionTokens } from './session-tokens.js';

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
  const idToken = response.id_token ?? previous?.idToken;
  const idTokenClaims = (response.claims() as Record<string, unknown> | undefined) ?? previous?.idTokenClaims;
  if (!idToken || !idTokenClaims || typeof idTokenClaims.sub !== 'string') {
    throw new AuthError('id_token_invalid', `The identity provider (${context.issuer}) returned no ID token, so Bifrost Edge can't tell who signed in. Ask IT to allow the "openid" scope for the Bifrost Edge app.`);
  }
  // A refresh must never switch people: the provider answering for someone else is a bug or an attack.
  if (previous && previous.idTokenClaims.sub !== idTokenClaims.sub) {
    throw new AuthError('refresh_rejected', `The identity provider (${context.issuer}) answered a token refresh for a different user (${String(idTokenClaims.sub)} instead of ${String(previous.idTokenClaims.sub)}), so the answer was refused. ${SIGN_IN_AGAIN}`);
  }
  const expiresIn = response.expiresIn();
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const scope = response.scope ?? previous?.scope;
  const userInfo = (await readUserInfo(context, response.access_token, idTokenClaims.sub)) ?? previous?.userInfo;
  return {
    version: 1,
    issuer: context.issuer,
    clientId: context.clientId,
    accessToken: response.access_token,
    tokenType: response.token_type,
    ...(expiresIn !== undefined ? { accessTokenExpiresAt: now + expiresIn * 1000 } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    idToken,
    idTokenClaims,
    ...(userInfo ? { userInfo } : {}),
    ...(scope ? { scope } : {}),
    receivedAt: now,
  };
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
