import * as client from 'openid-client';
import type { AuthConfig } from './auth-config.js';
import { AuthError, isAuthError } from './auth-error.js';
import { startLoopbackRedirectListener, type RedirectCallback } from './loopback-redirect.js';
import { toAuthError } from './oidc-errors.js';
import { discoverProvider } from './provider-discovery.js';
import { signedInPage, signInFailedPage } from './result-pages.js';
import type { SessionTokens } from './session-tokens.js';
import { openSystemBrowser, type OpenBrowser } from './system-browser.js';
import { sessionTokensFromResponse } from './token-response.js';

/** The secrets of one sign-in attempt: they never leave this process, and each is used once. */
export interface AuthorizationRequest {
  /** Where the browser goes: the provider's authorization endpoint with all parameters. */
  url: URL;
  redirectUri: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/**
 * Builds an authorization code request with PKCE S256, state (CSRF) and nonce (ID token replay).
 * `audience` / `resource` ask the provider for an access token that Edge Control accepts.
 */
export async function createAuthorizationRequest(provider: client.Configuration, config: AuthConfig, redirectUri: string): Promise<AuthorizationRequest> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const parameters: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: config.scopes.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  };
  if (config.audience) parameters.audience = config.audience;
  if (config.resource) parameters.resource = config.resource;
  if (config.prompt) parameters.prompt = config.prompt;
  return { url: client.buildAuthorizationUrl(provider, parameters), redirectUri, state, nonce, codeVerifier };
}

export interface RedeemOptions {
  now?: () => number;
  onUserInfoError?: (error: unknown) => void;
}

/**
 * Checks the browser's return (`state`, provider errors, RFC 9207 `iss`) and exchanges the code for
 * tokens with the PKCE verifier; openid-client validates the ID token's signature, issuer, audience,
 * nonce and expiry. Every failure becomes an AuthError that says what to do.
 */
export async function redeemAuthorizationResponse(
  provider: client.Configuration,
  config: AuthConfig,
  request: AuthorizationRequest,
  callbackUrl: URL,
  options: RedeemOptions = {},
): Promise<SessionTokens> {
  try {
    const response = await client.authorizationCodeGrant(
      provider,
      callbackUrl,
      { pkceCodeVerifier: request.codeVerifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true },
      config.resource ? { resource: config.resource } : undefined,
    );
    return await sessionTokensFromResponse(response, { provider, issuer: config.issuer, clientId: config.clientId, ...options });
  } catch (error) {
    throw toAuthError(error, 'callback', config.issuer);
  }
}

export interface LoginOptions {
  config: AuthConfig;
  /** A discovered provider to reuse; discovered from `config.issuer` when absent. */
  provider?: client.Configuration;
  /** Opens the sign-in page; defaults to the system browser. Electron passes `shell.openExternal`. */
  openBrowser?: OpenBrowser;
  /** Told the sign-in URL before the browser opens, so it can be printed for copy-paste. */
  onAuthorizationUrl?: (url: string) => void;
  /** Told when the browser could not be opened; the sign-in keeps waiting for a manual visit. */
  onBrowserError?: (error: Error) => void;
  onUserInfoError?: (error: unknown) => void;
  /** Overrides `config.loginTimeoutSeconds`. */
  timeoutMs?: number;
  /** Cancels the sign-in (Ctrl-C, window closed). */
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * The whole RFC 8252 sign-in: loopback listener on a random 127.0.0.1 port, system browser, code +
 * PKCE exchange, and a result page in the browser that matches what happened. Resolves with the
 * validated tokens; the caller decides where to keep them.
 */
export async function login(options: LoginOptions): Promise<SessionTokens> {
  const { config } = options;
  const provider = options.provider ?? (await discoverProvider(config));
  const listener = await startLoopbackRedirectListener();
  try {
    const request = await createAuthorizationRequest(provider, config, listener.redirectUri);
    // Expected before the browser opens: only the return carrying this sign-in's state ends the wait.
    const returned = listener.nextCallback(request.state);
    options.onAuthorizationUrl?.(request.url.href);
    const openBrowser = options.openBrowser ?? openSystemBrowser;
    // Not awaited as part of the wait: a test's or a slow opener's promise must not delay the timeout.
    Promise.resolve()
      .then(() => openBrowser(request.url.href))
      .catch((error: unknown) => options.onBrowserError?.(error instanceof Error ? error : new Error(String(error))));

    const timeoutMs = options.timeoutMs ?? config.loginTimeoutSeconds * 1000;
    const callback = await waitForCallback(returned, timeoutMs, options.signal);
    return await completeSignIn(provider, config, request, callback, options);
  } finally {
    await listener.close();
  }
}

async function completeSignIn(
  provider: client.Configuration,
  config: AuthConfig,
  request: AuthorizationRequest,
  callback: RedirectCallback,
  options: LoginOptions,
): Promise<SessionTokens> {
  try {
    const tokens = await redeemAuthorizationResponse(provider, config, request, callback.url, {
      ...(options.now ? { now: options.now } : {}),
      ...(options.onUserInfoError ? { onUserInfoError: options.onUserInfoError } : {}),
    });
    const who = tokens.userInfo?.email ?? tokens.idTokenClaims.email;
    callback.respond(signedInPage(typeof who === 'string' ? who : undefined));
    return tokens;
  } catch (error) {
    const authError = isAuthError(error) ? error : toAuthError(error, 'callback', config.issuer);
    callback.respond(signInFailedPage(authError.message, authError.code === 'provider_unreachable' ? 502 : 400));
    throw authError;
  }
}

function waitForCallback(callback: Promise<RedirectCallback>, timeoutMs: number, signal: AbortSignal | undefined): Promise<RedirectCallback> {
  return new Promise<RedirectCallback>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(new AuthError('login_cancelled', 'Sign-in was cancelled before the browser returned to Bifrost Edge.'));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new AuthError('login_timeout', `No browser returned to Bifrost Edge within ${describeDuration(timeoutMs)}, so sign-in stopped waiting. Start sign-in again and finish it in the browser; if no browser opened, copy the printed sign-in URL into one.`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    callback.then((received) => {
      cleanup();
      resolve(received);
    });
  });
}

/** "5 minutes", "90 seconds", "300 ms": for messages about waiting. */
export function describeDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds >= 120 && seconds % 60 === 0) return `${seconds / 60} minutes`;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}
