import * as client from 'openid-client';
import { AuthError, SIGN_IN_AGAIN } from './auth-error.js';

/** Which exchange with the provider failed: the same low-level error means different things in each. */
export type OidcStep = 'discovery' | 'callback' | 'refresh' | 'revocation' | 'userinfo';

interface ProcessingDetails {
  message: string;
  claim?: string;
  attribute?: string;
  expected?: unknown;
  actual?: unknown;
}

/**
 * Translates openid-client's protocol errors (precise, but written for OAuth implementers) into
 * AuthErrors an employee or IT admin can act on. Unknown errors keep their original text.
 */
export function toAuthError(error: unknown, step: OidcStep, issuer: string): AuthError {
  if (error instanceof AuthError) return error;
  const provider = `the identity provider (${issuer})`;
  const Provider = `The identity provider (${issuer})`;

  if (error instanceof client.AuthorizationResponseError) {
    const detail = describeOAuthError(error.error, error.error_description);
    if (error.error === 'access_denied') {
      return new AuthError('provider_error', `Sign-in was cancelled or denied at ${provider}: ${detail}. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    return new AuthError('provider_error', `${Provider} refused the sign-in request: ${detail}. If this keeps happening, ask IT to check the Bifrost Edge app registration (client id, redirect URI http://127.0.0.1/callback, allowed scopes).`, { cause: error });
  }

  if (error instanceof client.ResponseBodyError) {
    const detail = describeOAuthError(error.error, error.error_description);
    if (error.error === 'invalid_grant' && step === 'callback') {
      return new AuthError('code_rejected', `${Provider} refused the sign-in code (${detail}): it was already used, it expired, or it was issued for another sign-in attempt. Codes work once and only for a minute or so. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    if (step === 'refresh') return refreshRefusal(error.error, detail, error.status, Provider, error);
    if (error.status >= 500) {
      return new AuthError('provider_unreachable', `${Provider} failed with HTTP ${error.status} (${detail}). Try again in a few minutes.`, { cause: error });
    }
    return new AuthError('provider_error', `${Provider} refused the ${stepNoun(step)} (HTTP ${error.status}, ${detail}). Ask IT to check the Bifrost Edge app registration at the provider.`, { cause: error });
  }

  if (error instanceof client.WWWAuthenticateChallengeError && step === 'refresh') {
    const code = error.cause.map((challenge) => challenge.parameters.error).find((value) => value !== undefined) ?? 'no error code';
    return refreshRefusal(code, code, error.status, Provider, error);
  }

  if (error instanceof client.ClientError) {
    const details = processingDetails(error);
    if (error.code === 'OAUTH_HTTP_REQUEST_FORBIDDEN') {
      return new AuthError('insecure_issuer', `${Provider} sent an http:// endpoint; Bifrost Edge only talks to identity providers over https://. Ask IT to check the provider's configuration.`, { cause: error });
    }
    if (error.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' && details.attribute === 'issuer') {
      return new AuthError('issuer_mismatch', `The discovery document at ${issuer} names a different issuer (${String(details.actual ?? 'unknown')}) than the configured one (${issuer}). This can mean a misconfiguration or an attempt to impersonate the identity provider, so sign-in was stopped. Ask IT to set auth.issuer to exactly the "issuer" value the provider publishes.`, { cause: error });
    }
    if (error.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && details.claim === 'iss') {
      return new AuthError('issuer_mismatch', `The ID token was issued by ${String(details.actual ?? 'another issuer')}, not by ${issuer}, so it was refused. Ask IT to check auth.issuer. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    if (error.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' && details.claim === 'exp') {
      return new AuthError('id_token_expired', `The ID token from ${provider} had already expired when it arrived, so it was refused. Check that this computer's date, time and time zone are set automatically. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    if (error.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') {
      return new AuthError('id_token_invalid', `The ID token from ${provider} has an implausible timestamp (${details.message}). Check that this computer's clock is correct. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    if (/"state"/.test(details.message)) {
      return new AuthError('state_mismatch', `The browser returned to Bifrost Edge with a sign-in response that does not belong to this sign-in attempt (state mismatch), so it was refused. This happens with an old or forged link. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    if (error.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' || /ID Token|JWT/i.test(details.message)) {
      return new AuthError('id_token_invalid', `The ID token from ${provider} failed validation (${details.message}), so it was refused. ${SIGN_IN_AGAIN}`, { cause: error });
    }
    if (step === 'discovery' && ['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_INVALID_RESPONSE', 'OAUTH_PARSE_ERROR'].includes(error.code ?? '')) {
      return new AuthError('discovery_failed', `${issuer} does not serve a usable OpenID Connect discovery document (${discoveryUrl(issuer)}: ${details.message}). Ask IT to check auth.issuer.`, { cause: error });
    }
    if (error.code === 'OAUTH_TIMEOUT' || error.code === 'OAUTH_ABORT') {
      return new AuthError('provider_unreachable', `${Provider} did not answer in time during ${stepNoun(step)}. Check your network connection and try again.`, { cause: error });
    }
    if (step === 'refresh') {
      // Not a token response at all (an outage page, a captive portal, a proxy): nothing was decided about this device.
      const status = error.cause instanceof Response ? `HTTP ${error.cause.status}, ` : '';
      return new AuthError('provider_unreachable', `${Provider} answered the token refresh with something that is not a token response (${status}${details.message}): it may be down or overloaded, or a network login page or proxy is in the way. ${RETRIES_BY_ITSELF}`, { cause: error });
    }
    return new AuthError(step === 'discovery' ? 'discovery_failed' : 'provider_error', `${stepNoun(step, true)} with ${provider} failed: ${details.message}.`, { cause: error });
  }

  if ((error instanceof TypeError && error.message === 'fetch failed') || isNetworkError(error)) {
    const reason = networkReason(error);
    return new AuthError('provider_unreachable', `Could not reach ${provider} during ${stepNoun(step)}${reason ? ` (${reason})` : ''}. Check your network connection (and VPN), then try again.`, { cause: error });
  }

  const message = error instanceof Error ? error.message : String(error);
  return new AuthError(step === 'refresh' ? 'provider_unreachable' : 'provider_error', `${stepNoun(step, true)} with ${provider} failed: ${message}.`, { cause: error });
}

/**
 * OAuth errors of a refresh answer that mean this device's grant or app registration no longer allows
 * renewing: only a new sign-in helps. invalid_scope (IT removed a scope Edge asks for) and
 * unsupported_grant_type (refresh tokens no longer allowed) never mend by themselves either.
 */
const REFRESH_REFUSALS: ReadonlySet<string> = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'unsupported_grant_type']);

const RETRIES_BY_ITSELF = 'Bifrost Edge keeps the current sign-in while it lasts and tries again by itself.';

/**
 * A refresh answered with an OAuth error: a refusal for good (sign in again), or anything else (rate
 * limiting, an outage, a request the provider can't serve right now), which is worth retrying.
 */
function refreshRefusal(code: string, detail: string, status: number, Provider: string, cause: unknown): AuthError {
  if (code === 'invalid_grant') {
    return new AuthError('refresh_rejected', `${Provider} no longer accepts this device's sign-in (${detail}): it was revoked, expired, or replaced. ${SIGN_IN_AGAIN}`, { cause });
  }
  if (REFRESH_REFUSALS.has(code)) {
    return new AuthError('refresh_rejected', `${Provider} refused the Bifrost Edge app when renewing the sign-in (HTTP ${status}, ${detail}). ${SIGN_IN_AGAIN} If that fails too, ask IT to check the Bifrost Edge app registration at the provider.`, { cause });
  }
  return new AuthError('provider_unreachable', `${Provider} did not renew the sign-in this time (HTTP ${status}, ${detail}). ${RETRIES_BY_ITSELF}`, { cause });
}

function stepNoun(step: OidcStep, capital = false): string {
  const noun = { discovery: 'discovery', callback: 'sign-in', refresh: 'token refresh', revocation: 'token revocation', userinfo: 'profile lookup' }[step];
  return capital ? noun.charAt(0).toUpperCase() + noun.slice(1) : noun;
}

function describeOAuthError(code: string, description: string | undefined): string {
  return description ? `${code}: ${description}` : code;
}

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/**
 * openid-client wraps oauth4webapi's OperationProcessingError, whose own cause holds the claim
 * details; a few checks of openid-client's own put those details directly in `cause`.
 */
function processingDetails(error: client.ClientError): ProcessingDetails {
  const inner = error.cause;
  const wrapped = inner instanceof Error;
  const extra = wrapped ? (inner as Error & { cause?: unknown }).cause : inner;
  const record = extra && typeof extra === 'object' ? (extra as Record<string, unknown>) : {};
  const claims = record.claims && typeof record.claims === 'object' ? (record.claims as Record<string, unknown>) : undefined;
  const body = record.body && typeof record.body === 'object' ? (record.body as Record<string, unknown>) : undefined;
  const claim = typeof record.claim === 'string' ? record.claim : undefined;
  const attribute = typeof record.attribute === 'string' ? record.attribute : undefined;
  return {
    message: wrapped ? inner.message : error.message,
    claim,
    attribute,
    expected: record.expected,
    actual: claim && claims ? claims[claim] : attribute && body ? body[attribute] : undefined,
  };
}

function isNetworkError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code);
}

/** fetch() reports "fetch failed" and hides the socket error in `cause`; surface it. */
function networkReason(error: unknown): string | undefined {
  let current: unknown = error;
  let innermost: string | undefined;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    if (current instanceof Error) innermost = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return innermost;
}
