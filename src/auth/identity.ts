import type { SessionTokens } from './session-tokens.js';

/** Who is signed in on this device: attached to audit records, attribution headers and the tray. */
export interface Identity {
  /** The provider's stable subject id: the key to use for attribution, never the email. */
  sub: string;
  email?: string;
  name?: string;
  /** From the configured groups claim (default `groups`); empty when the provider sends none. */
  groups: string[];
  issuer: string;
  /** When the current access token expires (ISO 8601), when the provider said; the session renews it before then. */
  expiresAt?: string;
}

/**
 * Builds the identity from the validated ID token claims, overlaid with userinfo: many providers
 * put email, name and groups only in userinfo when the code flow is used.
 */
export function identityFromTokens(tokens: SessionTokens, groupsClaim = 'groups'): Identity {
  const claims: Record<string, unknown> = { ...tokens.idTokenClaims, ...(tokens.userInfo ?? {}) };
  const expiresAt = tokens.accessTokenExpiresAt;
  return {
    sub: String(tokens.idTokenClaims.sub),
    ...optionalString('email', claims.email),
    ...optionalString('name', claims.name ?? joinNames(claims.given_name, claims.family_name) ?? claims.preferred_username),
    groups: groupList(claims[groupsClaim]),
    issuer: tokens.issuer,
    ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
  };
}

function optionalString<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' && value.length > 0 ? ({ [key]: value } as Record<K, string>) : {};
}

function joinNames(given: unknown, family: unknown): string | undefined {
  const parts = [given, family].filter((p): p is string => typeof p === 'string' && p.length > 0);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** Providers send groups as an array of names, occasionally as one string; anything else is ignored. */
function groupList(value: unknown): string[] {
  if (typeof value === 'string') return value.length > 0 ? [value] : [];
  if (!Array.isArray(value)) return [];
  return value.filter((g): g is string => typeof g === 'string' && g.length > 0);
}
