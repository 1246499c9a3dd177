import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthConfig, type AuthConfig } from '../../src/auth/auth-config.js';
import { EncryptedFileTokenStore } from '../../src/auth/encrypted-file-token-store.js';
import { KeyFileSource } from '../../src/auth/encryption-keys.js';
import { SessionManager, type RefreshFailure } from '../../src/auth/session.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';

/** What the token endpoint answers a refresh with. */
interface TokenAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

const CLIENT_ID = 'edge-refresh-failures';
let server: http.Server;
let issuer: string;
let config: AuthConfig;
let provider: client.Configuration;
let answer: TokenAnswer;
const sessions: SessionManager[] = [];

beforeAll(async () => {
  // A token endpoint that says whatever the case wants: a load balancer's 503 page, a captive portal, ...
  server = http.createServer((req, res) => {
    req.resume().on('end', () => {
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  config = parseAuthConfig({ issuer, clientId: CLIENT_ID });
  provider = new client.Configuration({ issuer, token_endpoint: `${issuer}/token` }, CLIENT_ID, undefined, client.None());
  client.allowInsecureRequests(provider);
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.stop();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function signedInSession(): Promise<SessionManager> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-refresh-failures-'));
  const store = new EncryptedFileTokenStore({ file: path.join(dir, 'session.enc.json'), keySource: new KeyFileSource(path.join(dir, 'session.key')) });
  const now = Date.now();
  const tokens: SessionTokens = {
    version: 1, issuer, clientId: CLIENT_ID, accessToken: 'at-1', tokenType: 'Bearer', accessTokenExpiresAt: now + 600_000,
    refreshToken: 'rt-1', idToken: 'id-1', idTokenClaims: { sub: 'alice', iss: issuer, aud: CLIENT_ID, exp: Math.floor(now / 1000) + 600 }, receivedAt: now,
  };
  await store.save(tokens);
  const session = new SessionManager({ config, store, discover: async () => provider });
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

const json = (body: unknown, status = 200, headers?: Record<string, string>): TokenAnswer => ({ status, body: JSON.stringify(body), headers });
const html = (status: number, body: string): TokenAnswer => ({ status, body, headers: { 'content-type': 'text/html' } });

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
    answer = given;
    const session = await signedInSession();
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
    answer = given;
    const session = await signedInSession();
    const failure = await refreshFailure(session);
    expect(failure.error.code).toBe(code);
    expect(failure.error.message).toMatch(message);
    expect(failure.signInRequired).toBe(true);
    expect(failure.nextAttemptAt).toBeUndefined();
    expect(session.isSignInRequired()).toBe(true);
  });
});
