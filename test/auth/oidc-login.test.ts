import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthConfig, type AuthConfig } from '../../src/auth/auth-config.js';
import { AuthError } from '../../src/auth/auth-error.js';
import { startLoopbackRedirectListener } from '../../src/auth/loopback-redirect.js';
import { createAuthorizationRequest, login, redeemAuthorizationResponse } from '../../src/auth/oidc-login.js';
import { discoverProvider } from '../../src/auth/provider-discovery.js';
import { browsingEmployee, launchChromium, visit } from './headless-browser.js';
import { startTestProvider, TEST_CLIENT_ID, type TestProvider } from './oidc-test-provider.js';
import { closedPort } from '../support/ports.js';

let idp: TestProvider;
let browser: Browser;
let config: AuthConfig;

beforeAll(async () => {
  [idp, browser] = await Promise.all([startTestProvider(), launchChromium()]);
  // prompt=consent: oidc-provider grants offline_access (a refresh token) only with explicit consent.
  config = parseAuthConfig({ issuer: idp.issuer, clientId: TEST_CLIENT_ID, prompt: 'consent' });
});

afterAll(async () => {
  await browser?.close();
  await idp?.close();
});

async function expectAuthError(promise: Promise<unknown>, code: AuthError['code'], message: RegExp): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected AuthError ${code}`).toBeInstanceOf(AuthError);
  expect((error as AuthError).code).toBe(code);
  expect((error as AuthError).message).toMatch(message);
  return error as AuthError;
}

describe('browser sign-in against a real OpenID Provider', () => {
  it('completes the full flow in headless Chromium and returns validated claims', async () => {
    const employee = browsingEmployee(browser, { login: 'alice' });
    const printed: string[] = [];
    try {
      const tokens = await login({ config, openBrowser: employee.openBrowser, onAuthorizationUrl: (url) => printed.push(url) });
      const { text, callbackUrl } = await employee.result();

      // The URL printed for copy-paste is the authorization request: PKCE S256, state, nonce, loopback redirect.
      const authUrl = new URL(printed[0]!);
      expect(authUrl.origin).toBe(idp.issuer);
      expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
      expect(authUrl.searchParams.get('state')).toBeTruthy();
      expect(authUrl.searchParams.get('nonce')).toBeTruthy();
      expect(authUrl.searchParams.get('scope')).toBe('openid email profile offline_access');
      expect(authUrl.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      expect(callbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=/);

      expect(text).toContain("You're signed in to Bifrost Edge — you can close this tab");
      expect(text).toContain('alice@example.com');

      expect(tokens.issuer).toBe(idp.issuer);
      expect(tokens.idTokenClaims).toMatchObject({ sub: 'alice', iss: idp.issuer, aud: TEST_CLIENT_ID, nonce: authUrl.searchParams.get('nonce') });
      expect(tokens.userInfo).toMatchObject({ sub: 'alice', email: 'alice@example.com', name: 'Test Alice', groups: ['engineering', 'ai-users'] });
      expect(tokens.refreshToken).toBeTruthy();
      expect(tokens.accessTokenExpiresAt! - Date.now()).toBeGreaterThan(500_000);
    } finally {
      await employee.close();
    }
  });

  it('refuses a callback with another sign-in\'s state (login CSRF / code injection), and keeps waiting for the real one', async () => {
    // Mallory signs in as herself and keeps the browser's return instead of using it...
    const provider = await discoverProvider(config);
    const attackerListener = await startLoopbackRedirectListener();
    const mallory = browsingEmployee(browser, { login: 'mallory' });
    let stolen: URL;
    try {
      const request = await createAuthorizationRequest(provider, config, attackerListener.redirectUri);
      const returned = attackerListener.nextCallback(request.state);
      void mallory.openBrowser(request.url.href).catch(() => undefined);
      const callback = await returned;
      callback.respond({ status: 204, html: '' });
      stolen = callback.url;
    } finally {
      await attackerListener.close();
      await mallory.close();
    }

    // ...then gets Alice's browser to deliver it to Alice's sign-in, hoping Alice ends up as Mallory.
    let page: { status: number | undefined; text: string } | undefined;
    const alice = browsingEmployee(browser, { login: 'alice' });
    try {
      const tokens = await login({
        config,
        openBrowser: async (url) => {
          const forged = new URL(new URL(url).searchParams.get('redirect_uri')!);
          forged.search = stolen.search;
          page = await visit(browser, forged.href);
          // The forged return was refused and ended nothing: Alice's own return still completes her sign-in.
          await alice.openBrowser(url);
        },
      });
      expect(tokens.idTokenClaims.sub).toBe('alice');
    } finally {
      await alice.close();
    }
    expect(page!.status).toBe(400);
    expect(page!.text).toContain('Sign-in to Bifrost Edge did not complete');
    expect(page!.text).toContain('does not belong to the sign-in Bifrost Edge is waiting for (state mismatch)');
  });

  it('reports a sign-in the employee cancelled at the provider', async () => {
    const employee = browsingEmployee(browser, { cancel: true });
    try {
      await expectAuthError(login({ config, openBrowser: employee.openBrowser }), 'provider_error', /cancelled or denied .*access_denied/);
      expect((await employee.result()).text).toContain('did not complete');
    } finally {
      await employee.close();
    }
  });

  it('refuses a replayed authorization code, and the browser cannot reuse the callback', async () => {
    const provider = await discoverProvider(config);
    const listener = await startLoopbackRedirectListener();
    const employee = browsingEmployee(browser);
    try {
      const request = await createAuthorizationRequest(provider, config, listener.redirectUri);
      const returned = listener.nextCallback(request.state);
      void employee.openBrowser(request.url.href).catch(() => undefined);
      const callback = await returned;
      const first = await redeemAuthorizationResponse(provider, config, request, callback.url);
      callback.respond({ status: 200, html: 'ok' });
      expect(first.idTokenClaims.sub).toBe('alice');

      // Same callback, same PKCE verifier, same state: only the code's single use stops it.
      await expectAuthError(redeemAuthorizationResponse(provider, config, request, callback.url), 'code_rejected', /already used, it expired/);
      // A replay is a sign of theft: the provider also withdrew what the first exchange issued.
      await expect(client.refreshTokenGrant(provider, first.refreshToken!)).rejects.toMatchObject({ error: 'invalid_grant' });

      const { page } = await employee.result();
      const again = await page.goto(callback.url.href);
      expect(again?.status()).toBe(409);
      expect(await page.locator('body').innerText()).toContain('already received');
    } finally {
      await employee.close();
      await listener.close();
    }
  });

  it('refuses an ID token that has already expired', async () => {
    idp.settings.tokenEndpointClockOffsetSeconds = -2 * 3600;
    const employee = browsingEmployee(browser);
    try {
      await expectAuthError(login({ config, openBrowser: employee.openBrowser }), 'id_token_expired', /already expired .*date, time and time zone/);
      expect((await employee.result()).text).toContain('already expired');
    } finally {
      idp.settings.tokenEndpointClockOffsetSeconds = 0;
      await employee.close();
    }
  });

  it('refuses a provider whose discovery document names another issuer', async () => {
    const impostor = await idp.serveElsewhere();
    const opened: string[] = [];
    await expectAuthError(
      login({ config: { ...config, issuer: impostor }, openBrowser: async (url) => void opened.push(url) }),
      'issuer_mismatch',
      new RegExp(`names a different issuer \\(${idp.issuer}/?\\) than the configured one \\(${impostor}\\)`),
    );
    expect(opened).toEqual([]);
  });

  it('refuses plain-http issuers that are not on this machine', async () => {
    await expectAuthError(discoverProvider({ issuer: 'http://login.example.com', clientId: 'x' }), 'insecure_issuer', /only https:\/\/ issuers are accepted/);
  });

  it('refuses a loopback provider that sends tokens to plain http on another machine', async () => {
    const server = http.createServer((_req, res) => {
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: 'http://tokens.example.com/token', jwks_uri: `${issuer}/jwks` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expectAuthError(discoverProvider({ issuer, clientId: 'x' }), 'insecure_issuer', /lists token_endpoint http:\/\/tokens\.example\.com\/token, a plain http:\/\/ address on another machine/);
    } finally {
      server.close();
    }
  });

  it('says clearly when the provider cannot be reached', async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    await expectAuthError(discoverProvider({ issuer, clientId: 'x' }), 'provider_unreachable', /Could not reach the identity provider \(http:\/\/127\.0\.0\.1:\d+\) during discovery \(ECONNREFUSED\)/);
  });

  it('gives up after the timeout and stops listening', async () => {
    let redirectUri = '';
    await expectAuthError(
      login({
        config,
        timeoutMs: 300,
        openBrowser: async (url) => void (redirectUri = new URL(url).searchParams.get('redirect_uri')!),
      }),
      'login_timeout',
      /No browser returned to Bifrost Edge within 300 ms/,
    );
    await expect(fetch(redirectUri)).rejects.toThrow();
  });

  it('can be cancelled while waiting for the browser', async () => {
    const controller = new AbortController();
    const pending = login({ config, signal: controller.signal, openBrowser: async () => controller.abort() });
    await expectAuthError(pending, 'login_cancelled', /cancelled/);
  });
});
