import { describe, expect, it } from 'vitest';
import { SessionManager, type RefreshFailure } from '../../src/auth/session.js';
import { html, json, scriptedEndpointPerFile, type TokenAnswer } from './scripted-token-endpoint.js';

const scripted = scriptedEndpointPerFile();
const sessions = scripted.sessions;

async function signedInSession(answer: TokenAnswer): Promise<SessionManager> {
  scripted.endpoint.answer = () => answer;
  const { store } = await scripted.endpoint.savedSession();
  const session = new SessionManager({ config: scripted.endpoint.config, store, discover: async () => scripted.endpoint.provider });
  sessions.push(session);
  await session.start();
  return session;
}

async function refreshFailure(session: SessionManager): Promise<RefreshFailure> {
  let failure: RefreshFailure | undefined;
  session.once('refresh_failed', (reported) => (failure = reported));
  await expect(session.refresh()).rejects.toThrow();
  expect(failure).toBeDefined();
  return failure!;
}

describe('a refresh that fails for now is retried, without asking to sign in', () => {
  const transient: Array<[string, TokenAnswer, RegExp]> = [
    ['a load balancer\'s 503 page', html(503, '<html><body>503 Service Temporarily Unavailable</body></html>'), /HTTP 503/],
    ['a 502 with no body', { status: 502, body: '', headers: { 'content-type': 'text/plain' } }, /HTTP 502/],
    ['a 503 with an OAuth error', json({ error: 'temporarily_unavailable' }, 503), /HTTP 503/],
    ['a 429 without an OAuth error', json({ message: 'Too Many Requests' }, 429), /HTTP 429/],
    ['a 429 with an OAuth error', json({ error: 'slow_down' }, 429), /HTTP 429, slow_down/],
    ['a captive portal\'s login page', html(200, '<html>Please log in to the hotel Wi-Fi</html>'), /not a token response/],
    ['a JSON answer without an access token', json({ token_type: 'Bearer' }), /not a token response/],
  ];
  it.each(transient)('%s', async (_name, given, reason) => {
    const session = await signedInSession(given);
    const failure = await refreshFailure(session);
    expect(failure.error.code).toBe('provider_unreachable');
    expect(failure.error.message).toMatch(reason);
    expect(failure.error.message).toMatch(/tries again by itself/);
    expect(failure.signInRequired).toBe(false);
    expect(Date.parse(failure.nextAttemptAt!)).toBeGreaterThan(Date.now());
    expect(session.isSignInRequired()).toBe(false);
    // The access token is still valid: callers keep working meanwhile.
    expect(await session.getAccessToken()).toBe('at-1');
  });
});

describe('a refresh the provider refuses for good asks for a new sign-in', () => {
  const refusals: Array<[string, TokenAnswer, string, RegExp]> = [
    ['a revoked or expired refresh token', json({ error: 'invalid_grant', error_description: 'grant request is invalid' }, 400), 'refresh_rejected', /no longer accepts this device's sign-in .*Sign in again/],
    ['a client the provider no longer knows', json({ error: 'invalid_client' }, 401), 'refresh_rejected', /refused the Bifrost Edge app .*invalid_client.*Sign in again.*ask IT/],
    ['a client no longer allowed to refresh', json({ error: 'unauthorized_client' }, 400), 'refresh_rejected', /refused the Bifrost Edge app .*unauthorized_client/],
    ['a challenge naming the client', { status: 401, body: '', headers: { 'www-authenticate': 'Bearer error="invalid_client"' } }, 'refresh_rejected', /invalid_client/],
    ['an ID token that fails validation', json({ access_token: 'at-2', token_type: 'Bearer', expires_in: 600, id_token: 'not.a.jwt' }), 'id_token_invalid', /Sign in again/],
  ];
  it.each(refusals)('%s', async (_name, given, code, message) => {
    const session = await signedInSession(given);
    const failure = await refreshFailure(session);
    expect(failure.error.code).toBe(code);
    expect(failure.error.message).toMatch(message);
    expect(failure.signInRequired).toBe(true);
    expect(failure.nextAttemptAt).toBeUndefined();
    expect(session.isSignInRequired()).toBe(true);
  });
});

/**
 * A refresh refused because of the app registration (IT removed a scope Edge asks for, or no longer
 * allows refresh tokens) never mends by itself: retrying it forever would leave the tray silent. It
 * asks for a new sign-in, like a revoked grant.
 */
describe('a refresh refused for the app registration asks for a new sign-in', () => {
  const refusals: Array<[string, TokenAnswer, RegExp]> = [
    ['a scope IT removed from the app', json({ error: 'invalid_scope', error_description: 'scope offline_access is not allowed' }, 400), /invalid_scope: scope offline_access is not allowed.*Sign in again.*ask IT/],
    ['refresh tokens no longer allowed for the app', json({ error: 'unsupported_grant_type' }, 400), /unsupported_grant_type.*Sign in again.*ask IT/],
  ];
  it.each(refusals)('%s', async (_name, given, message) => {
    const session = await signedInSession(given);
    const failure = await refreshFailure(session);
    expect(failure.error.code).toBe('refresh_rejected');
    expect(failure.error.message).toMatch(message);
    expect(failure.signInRequired).toBe(true);
    expect(failure.nextAttemptAt).toBeUndefined();
    expect(session.isSignInRequired()).toBe(true);
  });
});
