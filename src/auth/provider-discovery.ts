import * as client from 'openid-client';
import type { AuthConfig } from './auth-config.js';
import { AuthError } from './auth-error.js';
import { isLoopbackHttpUrl } from './loopback.js';
import { toAuthError } from './oidc-errors.js';

export interface DiscoveryOptions {
  /** Seconds to wait for the provider on each request made with the result (openid-client's default is 30). */
  timeoutSeconds?: number;
}

/**
 * Fetches the provider's discovery document and returns the openid-client Configuration every later
 * call uses. openid-client checks that the document's `issuer` is exactly the configured one, which
 * stops a mix-up with another provider before any browser opens.
 *
 * The app is a public client (RFC 8252: a laptop can't keep a secret), so it authenticates with
 * `client_id` only and relies on PKCE.
 */
export async function discoverProvider(config: Pick<AuthConfig, 'issuer' | 'clientId'>, options: DiscoveryOptions = {}): Promise<client.Configuration> {
  const issuer = issuerUrl(config.issuer);
  // openid-client refuses http:// unless told otherwise; only a provider on this machine gets that exception.
  const execute = isLoopbackHttpUrl(issuer) ? [client.allowInsecureRequests] : [];
  let provider: client.Configuration;
  try {
    provider = await client.discovery(issuer, config.clientId, undefined, client.None(), {
      execute,
      ...(options.timeoutSeconds !== undefined ? { timeout: options.timeoutSeconds } : {}),
    });
  } catch (error) {
    throw toAuthError(error, 'discovery', config.issuer);
  }
  if (execute.length > 0) refuseInsecureRemoteEndpoints(provider, config.issuer);
  return provider;
}

/**
 * allowInsecureRequests applies to every endpoint, not just the issuer; a loopback provider must
 * still not send tokens to a plain-http endpoint on another machine.
 */
function refuseInsecureRemoteEndpoints(provider: client.Configuration, issuer: string): void {
  for (const [name, value] of Object.entries(provider.serverMetadata())) {
    if (!name.endsWith('_endpoint') && name !== 'jwks_uri') continue;
    if (typeof value !== 'string') continue;
    const url = new URL(value);
    if (url.protocol === 'http:' && !isLoopbackHttpUrl(url)) {
      throw new AuthError('insecure_issuer', `The identity provider (${issuer}) lists ${name} ${value}, a plain http:// address on another machine. Tokens must never cross a network unencrypted; ask IT to fix the provider's configuration.`);
    }
  }
}

function issuerUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuthError('discovery_failed', `auth.issuer "${value}" is not a URL. Ask IT to set it to the identity provider's issuer, e.g. https://login.example.com.`);
  }
  if (url.protocol === 'https:' || isLoopbackHttpUrl(url)) return url;
  throw new AuthError('insecure_issuer', `auth.issuer "${value}" is not https://. Tokens must never cross a network unencrypted, so only https:// issuers are accepted (plain http:// only for 127.0.0.1/localhost). Ask IT to fix auth.issuer.`);
}
