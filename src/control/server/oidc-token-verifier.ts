import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Subject } from './control-store.js';
import type { OidcIssuerConfig } from './config.js';
import { ControlHttpError } from './http-io.js';

const DiscoverySchema = z.looseObject({ issuer: z.string(), jwks_uri: z.string().url(), userinfo_endpoint: z.string().url().optional() });
type Discovery = z.infer<typeof DiscoverySchema>;

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * Verifies OIDC ID tokens and JWT access tokens presented at enrollment: signature against the
 * issuer's published JWKS, issuer, audience, expiry (with the configured clock tolerance) and an
 * asymmetric algorithm. Every refusal is a 401 whose type says what was wrong and whose message
 * says what to do, without echoing the token.
 */
export class OidcTokenVerifier {
  private readonly keySets = new Map<string, Promise<KeySet>>();
  private readonly discoveries = new Map<string, Promise<Discovery>>();

  constructor(private readonly issuers: readonly OidcIssuerConfig[], private readonly timeoutMs = 10_000) {}

  get enabled(): boolean {
    return this.issuers.length > 0;
  }

  /**
   * The subject a token proves. `accessToken` (from the same sign-in) lets the userinfo endpoint fill in
   * email, name and groups the token lacks; userinfo must name the same `sub`, or it is refused.
   */
  async verify(token: string, accessToken?: string): Promise<Subject> {
    const { header, claims } = decodeUnverified(token);
    if (header.alg === 'none') {
      throw refuse('token_unsigned', 'the token is unsigned (alg "none"); Edge Control only accepts tokens signed by your identity provider; sign in again');
    }
    const issuer = this.issuers.find((i) => i.issuer === claims.iss);
    if (!issuer) {
      const trusted = this.issuers.map((i) => i.issuer).join(', ') || 'none configured';
      throw refuse('token_issuer_untrusted', `the token was issued by ${JSON.stringify(claims.iss ?? null)}, which this control server does not trust (trusted issuers: ${trusted}); sign in with your organisation's identity provider`);
    }
    const keys = await this.keySetFor(issuer);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience: issuer.audience,
        algorithms: issuer.algorithms,
        clockTolerance: issuer.clock_tolerance_seconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw describeVerificationFailure(err, issuer, claims);
    }
    const subject = subjectFrom(payload, issuer);
    if (accessToken !== undefined && issuer.userinfo === 'when_missing' && lacksProfileClaims(subject)) {
      return this.completeFromUserinfo(subject, issuer, accessToken);
    }
    return subject;
  }

  private async completeFromUserinfo(subject: Subject, issuer: OidcIssuerConfig, accessToken: string): Promise<Subject> {
    const endpoint = issuer.userinfo_endpoint ?? (await this.discover(issuer)).userinfo_endpoint;
    if (!endpoint) return subject;
    let res: Response;
    try {
      res = await fetch(endpoint, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new ControlHttpError(503, 'identity_provider_unreachable', `cannot read ${endpoint} for this user's email and groups (${(err as Error).message}); try again shortly`);
    }
    if (res.status === 401 || res.status === 403) {
      throw refuse('token_expired', `${issuer.issuer}'s userinfo endpoint refused the access token sent with the ID token (HTTP ${res.status}); sign in again`);
    }
    if (!res.ok) {
      throw new ControlHttpError(503, 'identity_provider_unreachable', `${endpoint} answered HTTP ${res.status} when asked for this user's email and groups; try again shortly`);
    }
    // Userinfo may also come back as a signed JWT (application/jwt); only plain JSON is read here.
    const claims = await res.json().catch(() => undefined) as Record<string, unknown> | undefined;
    if (!claims || typeof claims !== 'object') {
      throw new ControlHttpError(503, 'identity_provider_unreachable', `${endpoint} did not answer with JSON claims; configure the provider to return plain JSON userinfo, or set oidc.issuers[].userinfo to "never"`);
    }
    // OIDC Core 5.3.2: a userinfo answer for another subject must not be used (token substitution).
    if (claims.sub !== subject.sub) {
      throw refuse('token_malformed', 'the access token sent with the ID token belongs to another user (userinfo names a different subject); sign in again');
    }
    const extra = subjectFrom({ ...claims, sub: subject.sub }, issuer);
    return {
      ...subject,
      ...(subject.email === undefined && extra.email !== undefined ? { email: extra.email } : {}),
      ...(subject.name === undefined && extra.name !== undefined ? { name: extra.name } : {}),
      groups: subject.groups.length > 0 ? subject.groups : extra.groups,
    };
  }

  private keySetFor(issuer: OidcIssuerConfig): Promise<KeySet> {
    let keySet = this.keySets.get(issuer.issuer);
    if (!keySet) {
      keySet = this.resolveJwksUri(issuer).then((uri) => createRemoteJWKSet(new URL(uri), { timeoutDuration: this.timeoutMs }));
      // A failed discovery is retried on the next enrollment rather than cached forever.
      keySet.catch(() => this.keySets.delete(issuer.issuer));
      this.keySets.set(issuer.issuer, keySet);
    }
    return keySet;
  }

  private async resolveJwksUri(issuer: OidcIssuerConfig): Promise<string> {
    if (issuer.jwks_uri) return issuer.jwks_uri;
    return (await this.discover(issuer)).jwks_uri;
  }

  private discover(issuer: OidcIssuerConfig): Promise<Discovery> {
    let discovery = this.discoveries.get(issuer.issuer);
    if (!discovery) {
      discovery = this.readDiscovery(issuer);
      discovery.catch(() => this.discoveries.delete(issuer.issuer));
      this.discoveries.set(issuer.issuer, discovery);
    }
    return discovery;
  }

  private async readDiscovery(issuer: OidcIssuerConfig): Promise<Discovery> {
    const url = `${issuer.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let body: unknown;
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (err) {
      throw new ControlHttpError(503, 'identity_provider_unreachable', `cannot read ${url} (${(err as Error).message}); the identity provider may be down, try again shortly, or set oidc.issuers[].jwks_uri`);
    }
    const doc = DiscoverySchema.safeParse(body);
    if (!doc.success) throw new ControlHttpError(503, 'identity_provider_unreachable', `${url} has no jwks_uri; set oidc.issuers[].jwks_uri in the control server config`);
    if (doc.data.issuer !== issuer.issuer) {
      throw new ControlHttpError(503, 'identity_provider_unreachable', `${url} names issuer ${doc.data.issuer}, not ${issuer.issuer}; fix oidc.issuers[].issuer to match exactly`);
    }
    return doc.data;
  }
}

/**
 * OIDC's `email_verified` speaks about the standard `email` claim only: that one must be verified
 * (some providers send the flag as the string "true"), unless the admin trusts the provider's
 * addresses. A custom claim such as `upn` is set by the directory, not by the user.
 */
function emailIsTrusted(claims: JWTPayload, issuer: OidcIssuerConfig): boolean {
  if (issuer.email_claim !== 'email' || issuer.trust_unverified_email) return true;
  return claims['email_verified'] === true || claims['email_verified'] === 'true';
}

function lacksProfileClaims(subject: Subject): boolean {
  return subject.email === undefined || subject.groups.length === 0;
}

function refuse(type: ConstructorParameters<typeof ControlHttpError>[1], message: string): ControlHttpError {
  return new ControlHttpError(401, type, message, { 'www-authenticate': `Bearer error="invalid_token"` });
}

function decodeUnverified(token: string): { header: { alg?: string }; claims: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch {
    throw refuse('token_malformed', 'the token is not a JWT (three base64url parts with a JSON header and claims); send the ID token or a JWT access token from your identity provider');
  }
}

function describeVerificationFailure(err: unknown, issuer: OidcIssuerConfig, claims: JWTPayload): ControlHttpError {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED': {
      const at = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'an unknown time';
      return refuse('token_expired', `the token expired at ${at}; sign in again to get a fresh one`);
    }
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (err as { claim?: string }).claim;
      if (claim === 'aud') {
        const wanted = Array.isArray(issuer.audience) ? issuer.audience.join(' or ') : issuer.audience;
        return refuse('token_audience_mismatch', `the token is for audience ${JSON.stringify(claims.aud ?? null)}, but this control server accepts ${wanted}; request a token for that audience`);
      }
      if (claim === 'nbf') return refuse('token_expired', 'the token is not valid yet (nbf is in the future); check the device clock');
      return refuse('token_malformed', `the token's ${claim ?? 'claims'} claim is invalid (${(err as Error).message}); sign in again`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return refuse('token_signature_invalid', `the token's signing algorithm is not accepted (allowed: ${issuer.algorithms.join(', ')}); the identity provider must sign with an asymmetric key`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refuse('token_signature_invalid', `the token's signature does not verify with ${issuer.issuer}'s published keys; it was not issued by that identity provider (or was altered)`);
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refuse('token_signature_invalid', `no key published by ${issuer.issuer} matches the token's key id; it was not signed by that identity provider (if keys were just rotated, sign in again)`);
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return new ControlHttpError(503, 'identity_provider_unreachable', `cannot read ${issuer.issuer}'s signing keys (${(err as Error).message}); try again shortly`);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return refuse('token_malformed', `the token is malformed (${(err as Error).message}); send the ID token or a JWT access token from your identity provider`);
    default:
      if (err instanceof ControlHttpError) return err;
      return new ControlHttpError(503, 'identity_provider_unreachable', `cannot verify the token against ${issuer.issuer} (${(err as Error).message ?? String(err)}); try again shortly`);
  }
}

function subjectFrom(payload: JWTPayload, issuer: OidcIssuerConfig): Subject {
  const subject: Subject = { sub: String(payload.sub), groups: [] };
  const email = payload[issuer.email_claim];
  if (typeof email === 'string' && email !== '' && emailIsTrusted(payload, issuer)) subject.email = email;
  const name = payload[issuer.name_claim];
  if (typeof name === 'string' && name !== '') subject.name = name;
  const groups = payload[issuer.groups_claim];
  if (Array.isArray(groups)) subject.groups = groups.filter((g): g is string => typeof g === 'string');
  else if (typeof groups === 'string' && groups !== '') subject.groups = groups.split(/[\s,]+/).filter(Boolean);
  return subject;
}
