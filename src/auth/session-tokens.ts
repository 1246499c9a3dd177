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
  /** Epoch milliseconds; absent when the provider did not say (then only the ID token's expiry is known). */
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

/** When the access token stops working: its own lifetime, else the ID token's. */
export function accessTokenExpiresAt(tokens: Pick<SessionTokens, 'accessTokenExpiresAt' | 'idTokenClaims'>): number | undefined {
  return tokens.accessTokenExpiresAt ?? idTokenExpiresAt(tokens);
}
