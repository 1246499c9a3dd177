import { describe, expect, it } from 'vitest';
import { SessionManager, type RefreshFailure } from '../../src/auth/session.js';
import { json, scriptedEndpointPerFile, type TokenAnswer } from './scripted-token-endpoint.js';

/**
 * A refresh refused because of the app registration (IT removed a scope Edge asks for, or no longer
 * allows refresh tokens) never mends by itself: retrying it forever would leave the tray silent. It
 * asks for a new sign-in, like a revoked grant.
 */

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
