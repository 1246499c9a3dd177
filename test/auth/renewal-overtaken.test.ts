import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/auth/identity.js';
import { SessionManager, type SignedOut } from '../../src/auth/session.js';
import type { SessionTokens } from '../../src/auth/session-tokens.js';
import type { TokenStore } from '../../src/auth/token-store.js';
import { waitFor } from '../control/support/control-fixture.js';
import { json, scriptedEndpointPerFile } from './scripted-token-endpoint.js';

// The running agent renews; while the provider's answer is on its way, `bifrost-edge logout` or
// `bifrost-edge login` (another process, the same store) decides otherwise. The agent's renewal
// must not save over that decision.

const scripted = scriptedEndpointPerFile();
const sessions = scripted.sessions;

function newSession(store: TokenStore): SessionManager {
  const session = new SessionManager({ config: scripted.endpoint.config, store, discover: async () => scripted.endpoint.provider });
  sessions.push(session);
  return session;
}

/** The agent's renewal reaches the provider, whose answer waits until `release()`. */
async function renewalUnderWay(agent: SessionManager) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  scripted.endpoint.answer = async () => {
    await held;
    return json({ access_token: 'at-renewed', refresh_token: 'rt-renewed', token_type: 'Bearer', expires_in: 600 });
  };
  const before = scripted.endpoint.requests;
  const renewal = agent.refresh();
  renewal.catch(() => undefined);
  await waitFor(() => scripted.endpoint.requests > before, 5_000, 'the renewal reaching the provider');
  return { renewal, release };
}

describe('a renewal overtaken by another process', () => {
  it('after `bifrost-edge logout`: not saved again; the agent signs out and withdraws the renewed tokens', async () => {
    const { store } = await scripted.endpoint.savedSession();
    const agent = newSession(store);
    await agent.start();
    const { renewal, release } = await renewalUnderWay(agent);

    const cli = newSession(store);
    expect((await cli.signOut()).revocation.status).toBe('revoked');
    expect(await store.hasSaved()).toBe(false);

    let signedOut: SignedOut | undefined;
    agent.once('signed_out', (details) => (signedOut = details));
    release();
    await expect(renewal).rejects.toMatchObject({ code: 'not_signed_in' });
    expect(await store.hasSaved()).toBe(false);
    expect(agent.getIdentity()).toBeUndefined();
    expect(signedOut).toEqual({ revocation: { status: 'revoked' } });
    // Tokens only this process ever saw are revoked, not left valid at the provider.
    expect(scripted.endpoint.revoked).toContain('rt-renewed');
    await expect(agent.getAccessToken()).rejects.toMatchObject({ code: 'not_signed_in' });
  });

  it('after `bifrost-edge login`: the new sign-in stays saved and the agent uses it', async () => {
    const { store, tokens } = await scripted.endpoint.savedSession();
    const agent = newSession(store);
    await agent.start();
    const { renewal, release } = await renewalUnderWay(agent);

    const newer: SessionTokens = { ...tokens, accessToken: 'at-login', refreshToken: 'rt-login', receivedAt: Date.now() + 1 };
    await store.save(newer);

    const refreshed: Identity[] = [];
    agent.on('refreshed', (identity) => refreshed.push(identity));
    release();
    await renewal;
    expect((await store.load())?.refreshToken).toBe('rt-login');
    expect(await agent.getAccessToken()).toBe('at-login');
    expect(scripted.endpoint.revoked).toContain('rt-renewed');
    expect(scripted.endpoint.revoked).not.toContain('rt-login');
    expect(refreshed.map((identity) => identity.sub)).toEqual(['alice']);
  });
});

describe('a sign-in as another person, saved by `bifrost-edge login`', () => {
  function recordEvents(session: SessionManager): string[] {
    const events: string[] = [];
    session.on('signed_in', (identity) => events.push(`signed_in:${identity.sub}`));
    session.on('refreshed', (identity) => events.push(`refreshed:${identity.sub}`));
    session.on('signed_out', () => events.push('signed_out'));
    return events;
  }

  function bobsSignIn(alices: SessionTokens): SessionTokens {
    return { ...alices, accessToken: 'at-bob', refreshToken: 'rt-bob', idTokenClaims: { ...alices.idTokenClaims, sub: 'bob' }, receivedAt: Date.now() + 1 };
  }

  it('is adopted at the next renewal as a new sign-in, so enrollment and policy follow bob too', async () => {
    const { store, tokens } = await scripted.endpoint.savedSession();
    const agent = newSession(store);
    await agent.start();
    const events = recordEvents(agent);
    await store.save(bobsSignIn(tokens));

    scripted.endpoint.answer = () => json({ access_token: 'at-bob-renewed', refresh_token: 'rt-bob-renewed', token_type: 'Bearer', expires_in: 600 });
    expect((await agent.refresh()).sub).toBe('bob');
    expect(events).toEqual(['signed_in:bob', 'refreshed:bob']);
    expect((await store.load())?.refreshToken).toBe('rt-bob-renewed');
  });

  it('is adopted as a new sign-in when saved during a renewal', async () => {
    const { store, tokens } = await scripted.endpoint.savedSession();
    const agent = newSession(store);
    await agent.start();
    const events = recordEvents(agent);
    const { renewal, release } = await renewalUnderWay(agent);
    await store.save(bobsSignIn(tokens));
    release();
    expect((await renewal).sub).toBe('bob');
    expect(events).toEqual(['signed_in:bob']);
    expect(agent.getIdentity()?.sub).toBe('bob');
    expect((await store.load())?.refreshToken).toBe('rt-bob');
  });
});
