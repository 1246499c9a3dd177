import { describe, expect, it } from 'vitest';
import { followSavedSignIn } from '../../src/auth/saved-sign-in-adoption.js';
import { SessionManager } from '../../src/auth/session.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../control/support/control-fixture.js';
import { json, scriptedEndpointPerFile } from './scripted-token-endpoint.js';

// While a new sign-in is needed, the agent looks for one every few seconds, possibly for days if the
// person ignores "sign in again". Reading the saved sign-in decrypts it (a keychain round trip, maybe
// an unlock prompt), so it is read only when the saved file changed since the last look.

const scripted = scriptedEndpointPerFile();
const stops = scripted.stops;

function tokens(name: string, receivedAt: number): SessionTokens {
  return {
    version: 1, issuer: scripted.endpoint.issuer, clientId: scripted.endpoint.clientId, accessToken: `at-${name}`, tokenType: 'Bearer', accessTokenExpiresAt: receivedAt + 600_000,
    refreshToken: `rt-${name}`, idToken: `id-${name}`, idTokenClaims: { sub: 'alice', exp: Math.floor((receivedAt + 600_000) / 1000) }, receivedAt,
  };
}

/** The real store, counting how often it is decrypted (load) and how often it is only looked at. */
function counted(store: TokenStore): { store: TokenStore; loads: () => number; looks: () => number } {
  let loads = 0;
  let looks = 0;
  const wrapped = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'load') loads++;
        else if (property === 'hasSaved' || property === 'savedVersion') looks++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: wrapped, loads: () => loads, looks: () => looks };
}

describe('looking for a new sign-in while one is needed', () => {
  it('decrypts the saved sign-in only when the file changed, and still adopts a new one', async () => {
    scripted.endpoint.answer = () => json({ error: 'invalid_grant', error_description: 'grant expired' }, 400);
    const saved = await scripted.endpoint.savedSession(tokens('old', Date.now()));
    const store = counted(saved.store);
    const session = new SessionManager({ config: scripted.endpoint.config, store: store.store, discover: async () => scripted.endpoint.provider });
    stops.push(() => session.stop());
    await session.start();
    await expect(session.refresh()).rejects.toMatchObject({ code: 'refresh_rejected' });
    expect(session.isSignInRequired()).toBe(true);

    const loadsBefore = store.loads();
    stops.push(followSavedSignIn(session, store.store, silentLogger, 10));
    await waitFor(() => store.looks() >= 20, 5_000, 'twenty looks at the saved sign-in');
    // The saved file is the refused session: one look inside at most, not one per check.
    expect(store.loads() - loadsBefore).toBeLessThanOrEqual(1);

    // `bifrost-edge login` in another process saves over it.
    const signedIn = new Promise<string>((resolve) => session.once('signed_in', (identity) => resolve(identity.sub)));
    const loadsBeforeLogin = store.loads();
    await saved.store.save(tokens('new', Date.now()));
    expect(await signedIn).toBe('alice');
    expect(await session.getAccessToken()).toBe('at-new');
    expect(store.loads() - loadsBeforeLogin).toBeGreaterThanOrEqual(1);
  });
});
