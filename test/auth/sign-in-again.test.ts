import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startIdentity } from '../../src/agent-services.js';
import { createTokenStore } from '../../src/auth/create-token-store.js';
import type { Identity } from '../../src/auth/identity.js';
import { SessionManager } from '../../src/auth/session.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import { loadConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/log.js';
import { json, scriptedEndpointPerFile } from './scripted-token-endpoint.js';

// The provider refused renewal ("your sign-in has expired: run `bifrost-edge login`"); the employee
// runs exactly that in a terminal. The CLI saves the new sign-in over the old one, so the file never
// disappears: the running agent has to notice the replacement and use it, without a restart.

const scripted = scriptedEndpointPerFile();
const stops = scripted.stops;

const refused = json({ error: 'invalid_grant', error_description: 'grant expired' }, 400);

function tokens(name: string, receivedAt: number, lifetimeMs: number): SessionTokens {
  return {
    version: 1, issuer: scripted.endpoint.issuer, clientId: scripted.endpoint.clientId, accessToken: `at-${name}`, tokenType: 'Bearer', accessTokenExpiresAt: receivedAt + lifetimeMs,
    refreshToken: `rt-${name}`, idToken: `id-${name}`, idTokenClaims: { sub: 'alice', exp: Math.floor((receivedAt + lifetimeMs) / 1000) }, receivedAt,
  };
}

function nextSignIn(session: SessionManager, timeoutMs: number): Promise<Identity> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no signed_in event within ${timeoutMs} ms`)), timeoutMs);
    session.once('signed_in', (identity) => {
      clearTimeout(timer);
      resolve(identity);
    });
  });
}

describe('signing in again after renewal was refused', () => {
  it('the running agent picks up `bifrost-edge login` by itself', async () => {
    scripted.endpoint.answer = () => refused;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-sign-in-again-'));
    await (await createTokenStore({ dataDir })).save(tokens('old', Date.now(), 600_000));
    const config = loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent', auth: { issuer: scripted.endpoint.issuer, clientId: scripted.endpoint.clientId } } });
    const identity = await startIdentity(config, silentLogger);
    stops.push(() => identity.close());
    const session = identity.session!;
    await expect(session.refresh()).rejects.toMatchObject({ code: 'refresh_rejected' });
    expect(session.isSignInRequired()).toBe(true);

    // `bifrost-edge login` in a terminal: another process, the same store.
    const signedIn = nextSignIn(session, 15_000);
    await (await createTokenStore({ dataDir })).save(tokens('new', Date.now(), 600_000));
    expect((await signedIn).sub).toBe('alice');
    expect(session.isSignInRequired()).toBe(false);
    expect(await session.getAccessToken()).toBe('at-new');
  });

  it('a token asked for after the new sign-in comes from it, not from the refused one', async () => {
    scripted.endpoint.answer = () => refused;
    // Expires within the margin a handed-out token must have left, so asking for one tries to renew it.
    const { store } = await scripted.endpoint.savedSession(tokens('old', Date.now(), 20_000));
    const session = new SessionManager({ config: scripted.endpoint.config, store, discover: async () => scripted.endpoint.provider });
    stops.push(() => session.stop());
    await session.start();
    await expect(session.refresh()).rejects.toMatchObject({ code: 'refresh_rejected' });

    await store.save(tokens('new', Date.now(), 600_000));
    const signedIn = nextSignIn(session, 1000);
    expect(await session.getAccessToken()).toBe('at-new');
    await signedIn;
    expect(session.isSignInRequired()).toBe(false);
  });

  it('a copy of the refused session is not news', async () => {
    scripted.endpoint.answer = () => refused;
    const { store } = await scripted.endpoint.savedSession(tokens('old', Date.now(), 600_000));
    const session = new SessionManager({ config: scripted.endpoint.config, store, discover: async () => scripted.endpoint.provider });
    stops.push(() => session.stop());
    await session.start();
    await expect(session.refresh()).rejects.toMatchObject({ code: 'refresh_rejected' });
    let announced = 0;
    session.on('signed_in', () => announced++);
    expect(await session.adoptSavedSignIn()).toBeUndefined();
    expect(announced).toBe(0);
    expect(session.isSignInRequired()).toBe(true);
  });
});
