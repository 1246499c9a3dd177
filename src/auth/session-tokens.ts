import { z } from 'zod';

const Claims = z.record(z.string(), z.unknown());

/**
 * Everything a signed-in device keeps about its session, and the one format token stores persist.
 * Claims were validated by openid-client when the tokens arrived (signature, issuer, audience, nonce,
 * expiry); they are kept so the identity is known offline without re-parsing tokens.
 */
export const SessionTokensSchema = z.strictObject({
  version: z.literal(1),
  /** Issuer and client the tokens belong to: a session for another IdP/app is never reused. */
  issuer: z.string().min(1),
  clientId: z.string().min(1),
  accessToken: z.string().min(1),
  tokenType: z.string().min(1),
  /**
   * When the access token expires (epoch ms): from `expires_in`, else from the `exp` of the ID token that
   * came in the same response. Absent when the provider said neither; the session then renews every
   * few minutes. Never an older ID token's `exp`: that instant says nothing about a renewed access token.
   */
  accessTokenExpiresAt: z.number().int().optional(),
  refreshToken: z.string().min(1).optional(),
  idToken: z.string().min(1),
  /** Validated ID token claims (`sub`, `iss`, `aud`, `exp`, ...). */
  idTokenClaims: Claims,
  /** Claims from the userinfo endpoint (email, name, groups, ...), when the provider has one. */
  userInfo: Claims.optional(),
  scope: z.string().optional(),
  /** When these tokens were received (epoch ms), used to schedule the refresh and to prefer the newest copy. */
  receivedAt: z.number().int(),
});

export type SessionTokens = z.output<typeof SessionTokensSchema>;

/** Seconds-since-epoch `exp` of the ID token, as epoch milliseconds. */
export function idTokenExpiresAt(tokens: Pick<SessionTokens, 'idTokenClaims'>): number | undefined {
  const exp = tokens.idTokenClaims.exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}
