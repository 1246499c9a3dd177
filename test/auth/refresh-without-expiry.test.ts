import { describe, expect, it } from 'vitest';
import { UNKNOWN_EXPIRY_RENEWAL_MS } from '../../src/auth/refresh-schedule.js';
import { SessionManager } from '../../src/auth/session.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import { json, scriptedEndpointPerFile } from './scripted-token-endpoint.js';

// OIDC Core §12.2 lets a provider answer a refresh without a new ID token, and OAuth only recommends
// `expires_in`: a renewed access token then has no known expiry, and the old ID token's is no substitute.

const scripted = scriptedEndpointPerFile();
const sessions = scripted.sessions;

/** Access tokens without `expires_in`, and never a new ID token. */
function answerWithBareAccessTokens(extra: Record<string, unknown> = {}): void {
  let issued = 1;
  scripted.endpoint.answer = () => json({ access_token: `at-${++issued}`, token_type: 'Bearer', ...extra });
}

async function startedSession(overrides: Partial<SessionTokens>): Promise<SessionManager> {
  const { store } = await scripted.endpoint.savedSession(overrides);
  const session = new SessionManager({ config: scripted.endpoint.config, store, discover: async () => scripted.endpoint.provider });
  sessions.push(session);
  await session.start();
  return session;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a provider that renews access tokens without saying when they expire', () => {
  it('renews once, then every few minutes: never against the old ID token\'s expiry in a loop', async () => {
    answerWithBareAccessTokens();
    const now = Date.now();
    // As a sign-in without `expires_in` leaves it: the access token expires with the ID token issued alongside.
    const session = await startedSession({ accessTokenExpiresAt: now + 1000, idTokenClaims: { sub: 'alice', exp: Math.floor((now + 1000) / 1000) }, receivedAt: now });
    const before = scripted.endpoint.requests;
    let renewals = 0;
    session.on('refreshed', () => renewals++);

    // The first renewal is due after half of the one-second lifetime; the next one minutes later.
    await wait(2500);
    expect(scripted.endpoint.requests - before).toBe(1);
    expect(renewals).toBe(1);
    // The renewed token's expiry is unknown, not the old ID token's past instant.
    expect(session.getIdentity()?.expiresAt).toBeUndefined();
    expect(await session.getAccessToken()).toBe('at-2');
    expect(scripted.endpoint.requests - before).toBe(1);
    expect(UNKNOWN_EXPIRY_RENEWAL_MS).toBeGreaterThanOrEqual(3 * 60_000);
  });

  it('takes a renewed access token\'s expiry from expires_in when given', async () => {
    answerWithBareAccessTokens({ expires_in: 600 });
    const session = await startedSession({});
    const identity = await session.refresh();
    expect(Date.parse(identity.expiresAt!)).toBeGreaterThan(Date.now() + 590_000);
  });
});

describe('a provider that renews access tokens but never the ID token', () => {
  it('says once the ID token expired that enrollment needs a new sign-in, without refreshing on every call', async () => {
    answerWithBareAccessTokens({ expires_in: 600 });
    const now = Date.now();
    // The ID token from the sign-in expired; the access token and the refresh token still work.
    const session = await startedSession({ idTokenClaims: { sub: 'alice', exp: Math.floor(now / 1000) - 10 }, receivedAt: now, accessTokenExpiresAt: now + 600_000 });
    const before = scripted.endpoint.requests;

    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(session.getIdToken()).rejects.toMatchObject({
        code: 'id_token_expired',
        message: expect.stringMatching(/ID token from your Bifrost Edge sign-in has expired .*does not issue a new one .*enrolling this device with Edge Control needs a new sign-in\. Sign in again/),
      });
    }
    // One renewal found out the provider reissues no ID token; the refresh token is not rotated again and again.
    expect(scripted.endpoint.requests - before).toBe(1);
    expect(await session.getAccessToken()).toBe('at-2');
    expect(session.isSignInRequired()).toBe(false);
  });
});
