import { z } from 'zod';
import { isLoopbackHttpUrl } from './loopback.js';

export const DEFAULT_SCOPES = ['openid', 'email', 'profile', 'offline_access'] as const;
export const DEFAULT_LOGIN_TIMEOUT_SECONDS = 300;

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/** https everywhere; plain http only to this machine (test providers, a local IdP), never across a network. */
const issuerUrl = z.string().trim().superRefine((value, ctx) => {
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    ctx.addIssue({ code: 'custom', message: 'must be the identity provider\'s issuer URL, e.g. https://login.example.com/realms/staff' });
    return;
  }
  if (url.protocol === 'http:' && !isLoopbackHttpUrl(url)) {
    ctx.addIssue({ code: 'custom', message: `must use https:// (plain http:// is only accepted for 127.0.0.1/localhost issuers); got ${value}` });
  }
  if (url.search || url.hash) ctx.addIssue({ code: 'custom', message: 'must not contain a query (?…) or fragment (#…): use the issuer exactly as the provider publishes it' });
});

const absoluteUrl = z.string().trim().refine((value) => parseUrl(value) !== undefined, { message: 'must be an absolute URL, e.g. https://edge-control.example.com' });

/** Scopes as a JSON array or one space-separated string (the form IdP consoles show them in). */
const scopes = z
  .union([z.array(z.string().min(1)), z.string()])
  .transform((value) => [...new Set((Array.isArray(value) ? value : value.split(/\s+/)).map((s) => s.trim()).filter(Boolean))])
  .refine((list) => list.includes('openid'), { message: 'must include "openid": Bifrost Edge needs an ID token to know who signed in' });

/**
 * Sign-in settings. IT sets them in the managed configuration (MDM profile / config file), never the
 * employee: they decide which identity provider vouches for people on this device.
 */
export const AuthConfigSchema = z.strictObject({
  /** Issuer identifier, exactly as in the provider's discovery document (`issuer`). */
  issuer: issuerUrl,
  /** Client id of the native/public application registered at the provider (no client secret: a laptop can't keep one). */
  clientId: z.string().trim().min(1, { message: 'must be the client id of the native app registered at the identity provider' }),
  scopes: scopes.default([...DEFAULT_SCOPES]),
  /** `audience` authorization parameter (Auth0-style providers) for access tokens meant for Edge Control. */
  audience: z.string().trim().min(1).optional(),
  /** RFC 8707 resource indicator sent on every token request, for providers that scope access tokens that way. */
  resource: absoluteUrl.optional(),
  /**
   * `prompt` authorization parameter. Strict OpenID providers grant `offline_access` (and so a refresh
   * token) only with "consent"; most enterprise IdPs don't need it, and some forbid user consent.
   */
  prompt: z.string().trim().regex(/^(none|login|consent|select_account)( (none|login|consent|select_account))*$/, { message: 'must be one or more of none, login, consent, select_account (space-separated)' }).optional(),
  /** ID token / userinfo claim that carries group memberships. */
  groupsClaim: z.string().trim().min(1).default('groups'),
  /** How long `login` waits for the browser to come back before giving up. */
  loginTimeoutSeconds: z.number().int().min(10).max(3600).default(DEFAULT_LOGIN_TIMEOUT_SECONDS),
});

export type AuthConfigInput = z.input<typeof AuthConfigSchema>;
export type AuthConfig = z.output<typeof AuthConfigSchema>;

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/**
 * Validates sign-in settings from `source` (a file name, "managed configuration", ...). The error
 * lists every wrong field with what to put there, so IT fixes the profile in one round.
 */
export function parseAuthConfig(input: unknown, source = 'managed configuration'): AuthConfig {
  if (input === undefined || input === null) {
    throw new AuthConfigError(`sign-in is not configured (no "auth" section in the ${source}). Ask IT to set auth.issuer and auth.clientId.`);
  }
  const result = AuthConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const field = ['auth', ...issue.path.map(String)].join('.');
    const message = issue.code === 'unrecognized_keys'
      ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; remove them or check their spelling`
      : issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? 'is required' : issue.message;
    return `- ${field}: ${message}`;
  });
  throw new AuthConfigError(`invalid sign-in configuration in the ${source}:\n${lines.join('\n')}`);
}
