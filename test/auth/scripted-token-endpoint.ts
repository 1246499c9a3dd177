import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as client from 'openid-client';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { parseAuthConfig, type AuthConfig } from '../../src/auth/auth-config.js';
import { EncryptedFileTokenStore } from '../../src/auth/encrypted-file-token-store.js';
import { KeyFileSource } from '../../src/auth/encryption-keys.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import type { SessionManager } from '../../src/auth/session.js';

/** What the token endpoint answers a refresh with. */
export interface TokenAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export const json = (body: unknown, status = 200, headers?: Record<string, string>): TokenAnswer => ({ status, body: JSON.stringify(body), headers });
export const html = (status: number, body: string): TokenAnswer => ({ status, body, headers: { 'content-type': 'text/html' } });

/**
 * A token endpoint on 127.0.0.1 that answers whatever a test scripts: the provider quirks and outages
 * (a load balancer's 503 page, a refresh without `expires_in` or ID token) a real provider won't produce.
 * Only refreshes reach it, so the ID tokens it hands out are never validated: tests start from a saved session.
 * It also serves a discovery document (for code that discovers the provider itself) and accepts revocations.
 */
export interface ScriptedTokenEndpoint {
  issuer: string;
  clientId: string;
  config: AuthConfig;
  /** Discovery result pointing at this endpoint; pass it as SessionManager's `discover`. */
  provider: client.Configuration;
  /** Decides the next answer; called once per token request (a promise holds the answer back). */
  answer: () => TokenAnswer | Promise<TokenAnswer>;
  /** Token requests received so far. */
  requests: number;
  /** Tokens revoked so far, in order. */
  revoked: string[];
  /** A saved session for `alice`, issued at `receivedAt`, in a fresh encrypted file store. */
  savedSession(overrides?: Partial<SessionTokens>): Promise<{ store: TokenStore; tokens: SessionTokens }>;
  close(): Promise<void>;
}

export async function startScriptedTokenEndpoint(clientId = 'edge-scripted-token-endpoint'): Promise<ScriptedTokenEndpoint> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const metadata = { issuer, token_endpoint: `${issuer}/token`, revocation_endpoint: `${issuer}/revoke`, authorization_endpoint: `${issuer}/authorize`, response_types_supported: ['code'] };
  const provider = new client.Configuration(metadata, clientId, undefined, client.None());
  client.allowInsecureRequests(provider);
  const endpoint: ScriptedTokenEndpoint = {
    issuer,
    clientId,
    config: parseAuthConfig({ issuer, clientId }),
    provider,
    answer: () => json({ error: 'server_error' }, 500),
    requests: 0,
    revoked: [],
    async savedSession(overrides = {}) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-scripted-token-endpoint-'));
      const store = new EncryptedFileTokenStore({ file: path.join(dir, 'session.enc.json'), keySource: new KeyFileSource(path.join(dir, 'session.key')) });
      const now = Date.now();
      const tokens: SessionTokens = {
        version: 1, issuer, clientId, accessToken: 'at-1', tokenType: 'Bearer', accessTokenExpiresAt: now + 600_000,
        refreshToken: 'rt-1', idToken: 'id-1', idTokenClaims: { sub: 'alice', iss: issuer, aud: clientId, exp: Math.floor(now / 1000) + 600 }, receivedAt: now,
        ...overrides,
      };
      await store.save(tokens);
      return { store, tokens };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(metadata));
      return;
    }
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      if (req.url === '/revoke') {
        endpoint.revoked.push(new URLSearchParams(body).get('token') ?? '');
        res.writeHead(200).end();
        return;
      }
      endpoint.requests++;
      void Promise.resolve(endpoint.answer()).then((answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body);
      });
    });
  });
  return endpoint;
}

/**
 * For a test file: one scripted endpoint for all its tests (started before them, closed after), and
 * the sessions and other things its tests start, stopped after each test. Read `endpoint` inside the tests.
 */
export function scriptedEndpointPerFile(): { readonly endpoint: ScriptedTokenEndpoint; sessions: SessionManager[]; stops: Array<() => void> } {
  let started: ScriptedTokenEndpoint | undefined;
  const sessions: SessionManager[] = [];
  /** Anything else a test started (watches, agents' identity services), stopped after it. */
  const stops: Array<() => void> = [];
  beforeAll(async () => {
    started = await startScriptedTokenEndpoint();
  });
  afterEach(() => {
    for (const session of sessions.splice(0)) session.stop();
    for (const stop of stops.splice(0)) stop();
  });
  afterAll(async () => {
    await started?.close();
  });
  return {
    get endpoint() {
      if (!started) throw new Error('the scripted token endpoint is only there inside tests');
      return started;
    },
    sessions,
    stops,
  };
}
