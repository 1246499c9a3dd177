import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAuthConfig, type AuthConfig } from '../../src/auth/auth-config.js';
import { AuthError } from '../../src/auth/auth-error.js';
import { EncryptedFileTokenStore } from '../../src/auth/encrypted-file-token-store.js';
import { KeyFileSource } from '../../src/auth/encryption-keys.js';
import { discoverProvider } from '../../src/auth/provider-discovery.js';
import { SessionManager, type RefreshFailure, type SignedOut } from '../../src/auth/session.js';
import type { Identity } from '../../src/auth/identity.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import { browsingEmployee, launchChromium } from './headless-browser.js';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from './oidc-test-provider.js';
import { closedPort } from '../support/ports.js';

let idp: TestProvider;
let browser: Browser;
let config: AuthConfig;
let provider: client.Configuration;
const sessions: SessionManager[] = [];

beforeAll(async () => {
  [idp, browser] = await Promise.all([startTestProvider(), launchChromium()]);
  config = parseAuthConfig({ issuer: idp.issuer, clientId: TEST_CLIENT_ID, prompt: 'consent' });
  provider = await discoverProvider(config);
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.stop();
  idp.settings.accessTokenTtlSeconds = 600;
  idp.settings.idTokenTtlSeconds = 600;
});

afterAll(async () => {
  await browser?.close();
  await idp?.close();
});

function newStore(): TokenStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-session-'));
  return new EncryptedFileTokenStore({ file: path.join(dir, 'session.enc.json'), keySource: new KeyFileSource(path.join(dir, 'session.key')) });
}

function newSession(store: TokenStore, overrides: Partial<ConstructorParameters<typeof SessionManager>[0]> = {}): SessionManager {
  const session = new SessionManager({ config, store, ...overrides });
  sessions.push(session);
  return session;
}

async function signInWithBrowser(session: SessionManager, login = 'alice') {
  const employee = browsingEmployee(browser, { login });
  try {
    return await session.signIn({ openBrowser: employee.openBrowser });
  } finally {
    await employee.close();
  }
}

function nextEvent<T>(session: SessionManager, event: 'refreshed' | 'refresh_failed' | 'signed_in' | 'signed_out', timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    session.once(event, (payload: unknown) => {
      clearTimeout(timer);
      resolve(payload as T);
    });
  });
}

describe('SessionManager', () => {
  it('signs in, announces it, saves the tokens and answers whoami', async () => {
    const store = newStore();
    const session = newSession(store);
    const announced = nextEvent<Identity>(session, 'signed_in');
    const { identity, warnings } = await signInWithBrowser(session, 'alice');

    expect(identity).toMatchObject({ sub: 'alice', email: 'alice@example.com', name: 'Test Alice', groups: ['engineering', 'ai-users'], issuer: idp.issuer });
    expect(Date.parse(identity.expiresAt!)).toBeGreaterThan(Date.now() + 500_000);
    expect(await announced).toEqual(identity);
    expect(session.whoami()).toEqual(identity);
    expect(warnings.join('\n')).toMatch(/only protects against casual disclosure|casual disclosure/);

    const saved = await store.load();
    expect(saved?.idTokenClaims.sub).toBe('alice');
    expect(await session.getAccessToken()).toBe(saved?.accessToken);
    expect(await session.getIdToken()).toBe(saved?.idToken);

    // Another process (the agent after a restart) picks the session up from the store.
    const restored = newSession(store);
    expect(await restored.start()).toEqual(identity);
    expect(await restored.getAccessToken()).toBe(saved?.accessToken);
  });

  it('refreshes on demand, rotating the refresh token and saving the new one', async () => {
    const store = newStore();
    const session = newSession(store);
    await signInWithBrowser(session);
    const before = (await store.load())!;

    const refreshed = nextEvent<Identity>(session, 'refreshed');
    const identity = await session.refresh();
    expect(await refreshed).toEqual(identity);
    const after = (await store.load())!;
    expect(after.refreshToken).toBeTruthy();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(identity.sub).toBe('alice');
    expect(await session.getAccessToken()).toBe(after.accessToken);

    // The rotated-away refresh token is dead; a thief replaying it makes the provider end the whole grant...
    await expect(client.refreshTokenGrant(provider, before.refreshToken!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // ...which the device notices at its next renewal and reports as "sign in again".
    const failed = nextEvent<RefreshFailure>(session, 'refresh_failed');
    await expect(session.refresh()).rejects.toMatchObject({ code: 'refresh_rejected' });
    const failure = await failed;
    expect(failure.signInRequired).toBe(true);
    expect(failure.error.message).toMatch(/no longer accepts this device's sign-in .*Sign in again/);
  });

  it('renews by itself before the access token expires', async () => {
    idp.settings.accessTokenTtlSeconds = 4;
    const store = newStore();
    const session = newSession(store);
    await signInWithBrowser(session);
    const first = (await store.load())!;
    // expires_in as oidc-provider counts it: whole seconds left when it answers (3 once a second
    // boundary passed between issuing the token and sending the answer).
    expect([3000, 4000]).toContain(first.accessTokenExpiresAt! - first.receivedAt);

    const started = Date.now();
    await nextEvent<Identity>(session, 'refreshed');
    // Half of a 4-second lifetime: well before expiry, never in a tight loop.
    expect(Date.now() - started).toBeGreaterThan(1000);
    const second = (await store.load())!;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessTokenExpiresAt!).toBeGreaterThan(first.accessTokenExpiresAt!);
  });

  it('hands out a fresh ID token instead of an expired one', async () => {
    idp.settings.idTokenTtlSeconds = 2;
    const store = newStore();
    const session = newSession(store);
    await signInWithBrowser(session);
    const first = (await store.load())!;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const idToken = await session.getIdToken();
    expect(idToken).not.toBe(first.idToken);
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()) as { exp: number; sub: string };
    expect(claims.sub).toBe('alice');
    expect(claims.exp * 1000).toBeGreaterThan(Date.now());
  });

  it('reports a refused renewal, keeps the token until it expires, then refuses it clearly', async () => {
    idp.settings.accessTokenTtlSeconds = 3;
    const store = newStore();
    const session = newSession(store);
    await signInWithBrowser(session);
    const tokens = (await store.load())!;
    // IT revokes the device's sign-in at the provider.
    await client.tokenRevocation(provider, tokens.refreshToken!, { token_type_hint: 'refresh_token' });

    const failure = await nextEvent<RefreshFailure>(session, 'refresh_failed');
    expect(failure).toMatchObject({ signInRequired: true, error: { code: 'refresh_rejected' } });
    expect(failure.nextAttemptAt).toBeUndefined();
    expect(session.isSignInRequired()).toBe(true);
    // Enforcement and attribution keep working with who signed in; the tray asks to sign in again.
    expect(session.getIdentity()?.sub).toBe('alice');

    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(tokens.accessTokenExpiresAt!), { timeout: 5000, interval: 100 });
    const error = await session.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'session_expired' });
    expect((error as Error).message).toMatch(/^Your Bifrost Edge sign-in has expired\. .*Sign in again/);
  });

  it('retries later, without asking to sign in, when the provider is unreachable', async () => {
    const store = newStore();
    const online = newSession(store);
    await signInWithBrowser(online);
    online.stop();

    // The metadata without openid-client's own helper (supportsPKCE), which a new Configuration adds back.
    const { supportsPKCE: _helper, ...metadata } = provider.serverMetadata();
    const deadEnd = new client.Configuration({ ...metadata, token_endpoint: `http://127.0.0.1:${await closedPort()}/token` }, TEST_CLIENT_ID, undefined, client.None());
    client.allowInsecureRequests(deadEnd);
    const offline = newSession(store, { discover: async () => deadEnd });
    await offline.start();
    const failed = nextEvent<RefreshFailure>(offline, 'refresh_failed');
    await expect(offline.refresh()).rejects.toMatchObject({ code: 'provider_unreachable' });
    const failure = await failed;
    expect(failure.signInRequired).toBe(false);
    expect(Date.parse(failure.nextAttemptAt!)).toBeGreaterThan(Date.now());
    expect(offline.isSignInRequired()).toBe(false);
    // The access token is still valid, so callers keep getting it.
    expect(await offline.getAccessToken()).toBe((await store.load())!.accessToken);
  });

  it('signs out by revoking at the provider and deleting the saved tokens', async () => {
    const store = newStore();
    const session = newSession(store);
    await signInWithBrowser(session);
    const tokens = (await store.load())!;

    const announced = nextEvent<SignedOut>(session, 'signed_out');
    const result = await session.signOut();
    expect(result.revocation.status).toBe('revoked');
    expect(await announced).toEqual(result);
    expect(await store.load()).toBeUndefined();
    expect(session.getIdentity()).toBeUndefined();
    await expect(session.getAccessToken()).rejects.toMatchObject({ code: 'not_signed_in' });

    // Neither token works anywhere any more.
    await expect(client.refreshTokenGrant(provider, tokens.refreshToken!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.fetchUserInfo(provider, tokens.accessToken, 'alice')).rejects.toThrow();
  });

  it('notices a sign-out made by another process (bifrost-edge logout beside a running agent)', async () => {
    const store = newStore();
    const agent = newSession(store);
    await signInWithBrowser(agent);
    // Signed in and saved: nothing to notice.
    expect(await agent.noticeSavedSignOut()).toBe(false);
    expect(agent.getIdentity()?.sub).toBe('alice');

    // The CLI is a second process with its own SessionManager on the same store.
    const cli = newSession(store);
    await cli.start();
    expect((await cli.signOut()).revocation.status).toBe('revoked');
    expect(agent.getIdentity()?.sub).toBe('alice');

    const announced = nextEvent<SignedOut>(agent, 'signed_out');
    expect(await agent.noticeSavedSignOut()).toBe(true);
    expect(await announced).toEqual({ revocation: { status: 'nothing_to_revoke' } });
    expect(agent.getIdentity()).toBeUndefined();
    await expect(agent.getAccessToken()).rejects.toMatchObject({ code: 'not_signed_in' });
    // Once is enough; a new sign-in is adopted again as before.
    expect(await agent.noticeSavedSignOut()).toBe(false);
    await signInWithBrowser(cli, 'bob');
    expect((await agent.adoptSavedSignIn())?.sub).toBe('bob');
  });

  it('keeps its sign-in when the saved one is damaged rather than deleted', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-session-'));
    const store = new EncryptedFileTokenStore({ file: path.join(dir, 'session.enc.json'), keySource: new KeyFileSource(path.join(dir, 'session.key')) });
    const agent = newSession(store);
    await signInWithBrowser(agent);
    fs.writeFileSync(path.join(dir, 'session.enc.json'), 'garbage');
    await expect(store.load()).rejects.toThrow();
    expect(await agent.noticeSavedSignOut()).toBe(false);
    expect(agent.getIdentity()?.sub).toBe('alice');
  });

  it('ignores a saved session from another identity provider', async () => {
    const store = newStore();
    const session = newSession(store);
    await signInWithBrowser(session);
    const elsewhere = newSession(store, { config: { ...config, issuer: 'https://login.other.example' } });
    expect(await elsewhere.start()).toBeUndefined();
    await expect(elsewhere.getAccessToken()).rejects.toMatchObject({ code: 'not_signed_in', message: /Nobody is signed in .*bifrost-edge login/ });
  });
});
