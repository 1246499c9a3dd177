import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnrollmentResponseSchema } from '../../src/control/protocol/enrollment.js';
import { EDGE_CONTROL_AUDIENCE, OTHER_AUDIENCE, SHORT_LIVED_RESOURCE, startTestIssuer, type TestIssuer } from './support/oidc-issuer.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { ADA_KEY, ENGINEERING_KEY, startControlFixture, testLogger, type ControlFixture } from './support/control-fixture.js';

/**
 * Enrollment against a real OpenID Provider (oidc-provider, in-process): tokens it issued are
 * verified through its published JWKS; expired, wrong-audience, unsigned and foreign-key tokens are
 * refused with a type and a message that says what to do.
 */
let issuer: TestIssuer;
let fixture: ControlFixture;

beforeAll(async () => {
  issuer = await startTestIssuer({ email: 'ada@example.com', groups: ['engineering'] });
  fixture = await startControlFixture({
    config: { oidc: { issuers: [{ issuer: issuer.issuer, audience: EDGE_CONTROL_AUDIENCE, clock_tolerance_seconds: 0 }] } },
  });
});

afterAll(async () => {
  await fixture?.close();
  await issuer?.close();
});

async function enroll(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

const device = { hostname: 'ada-laptop', os: 'darwin 24.1', agent_version: '0.1.0' };

describe('enrollment with an OIDC token', () => {
  it('accepts a JWT access token the real provider issued, and maps the user to her keys', async () => {
    const token = await issuer.accessToken();
    const { status, json } = await enroll({ method: 'oidc', token, device });
    expect(status).toBe(201);
    const answer = EnrollmentResponseSchema.parse(json);
    expect(answer.device_id).toMatch(/^dev_/);
    expect(answer.subject).toMatchObject({ sub: 'edge-device', email: 'ada@example.com', groups: ['engineering'] });
    expect(answer.signing_keys[0]?.key_id).toBe(fixture.server.signingKey.key_id);

    const policy = await fetch(`${fixture.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${answer.device_credential}` } });
    expect(policy.status).toBe(200);
    const signed = await policy.json() as { bundle: { virtual_keys: Array<{ id: string; value: string }>; active_virtual_key_id: string; subject: { email: string } } };
    expect(signed.bundle.virtual_keys.map((k) => k.id)).toEqual(['vk-ada', 'vk-eng']);
    expect(signed.bundle.virtual_keys[0]?.value).toBe(ADA_KEY.value);
    expect(signed.bundle.active_virtual_key_id).toBe('vk-ada');
    expect(signed.bundle.subject.email).toBe('ada@example.com');
  });

  it('refuses an expired token from the real provider', async () => {
    const token = await issuer.accessToken(SHORT_LIVED_RESOURCE);
    await new Promise((r) => setTimeout(r, 2_100));
    const { status, json } = await enroll({ method: 'oidc', token, device });
    expect(status).toBe(401);
    expect(json).toMatchObject({ error: { type: 'token_expired' } });
    expect((json['error'] as { message: string }).message).toMatch(/expired at .*sign in again/);
  });

  it('refuses a token the real provider issued for another audience', async () => {
    const token = await issuer.accessToken(OTHER_AUDIENCE);
    const { status, json } = await enroll({ method: 'oidc', token, device });
    expect(status).toBe(401);
    expect(json).toMatchObject({ error: { type: 'token_audience_mismatch' } });
    expect((json['error'] as { message: string }).message).toContain(OTHER_AUDIENCE);
    expect((json['error'] as { message: string }).message).toContain(EDGE_CONTROL_AUDIENCE);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const token = new UnsecuredJWT({ email: 'mallory@example.com' })
      .setIssuer(issuer.issuer).setAudience(EDGE_CONTROL_AUDIENCE).setSubject('mallory').setExpirationTime('5m').encode();
    const { status, json } = await enroll({ method: 'oidc', token, device });
    expect(status).toBe(401);
    expect(json).toMatchObject({ error: { type: 'token_unsigned' } });
  });

  it('refuses a token signed with a key the provider never published (even with its kid)', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const kid of [issuer.kid, 'unknown-kid']) {
      const token = await new SignJWT({ email: 'mallory@example.com' })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer(issuer.issuer).setAudience(EDGE_CONTROL_AUDIENCE).setSubject('mallory').setExpirationTime('5m').setIssuedAt()
        .sign(privateKey);
      const { status, json } = await enroll({ method: 'oidc', token, device });
      expect(status).toBe(401);
      expect(json).toMatchObject({ error: { type: 'token_signature_invalid' } });
    }
  });

  it('refuses a token from an issuer it does not trust, and garbage', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' })
      .setIssuer('https://evil.example.com').setAudience(EDGE_CONTROL_AUDIENCE).setSubject('x').setExpirationTime('5m').sign(privateKey);
    const untrusted = await enroll({ method: 'oidc', token, device });
    expect(untrusted.status).toBe(401);
    expect(untrusted.json).toMatchObject({ error: { type: 'token_issuer_untrusted' } });

    const garbage = await enroll({ method: 'oidc', token: 'not-a-jwt', device });
    expect(garbage.status).toBe(401);
    expect(garbage.json).toMatchObject({ error: { type: 'token_malformed' } });

    const malformed = await enroll({ method: 'oidc', device });
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ error: { type: 'invalid_request' } });
  });
});

/** An identity provider's signing key, published as a JWKS on 127.0.0.1 (kid idp-1, ES256). */
async function startJwksServer(): Promise<{ privateKey: KeyObject; jwksUri: string; close: () => Promise<void> }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' }] };
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    privateKey,
    jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('enrollment with an ID token from an issuer configured by jwks_uri', () => {
  it('verifies against the published JWKS and reads custom claims', async () => {
    const { privateKey, jwksUri, close: closeJwks } = await startJwksServer();
    const idp = await startControlFixture({
      config: { oidc: { issuers: [{ issuer: 'https://idp.example.test', audience: ['edge-desktop-client'], jwks_uri: jwksUri, groups_claim: 'roles', email_claim: 'upn' }] } },
    });
    try {
      const idToken = await new SignJWT({ upn: 'ada@example.com', roles: ['engineering'], nonce: 'n' })
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
        .setIssuer('https://idp.example.test').setAudience('edge-desktop-client').setSubject('00u-ada').setIssuedAt().setExpirationTime('5m')
        .sign(privateKey);
      const res = await fetch(`${idp.server.url}/api/edge/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'oidc', token: idToken, device }) });
      expect(res.status).toBe(201);
      const answer = EnrollmentResponseSchema.parse(await res.json());
      expect(answer.subject).toEqual({ sub: '00u-ada', email: 'ada@example.com', groups: ['engineering'] });
    } finally {
      await idp.close();
      await closeJwks();
    }
  });
});

describe('enrollment with an email the identity provider has not verified', () => {
  it('ignores the email claim unless email_verified is true or the admin trusts the provider\'s addresses', async () => {
    const { privateKey, jwksUri, close: closeJwks } = await startJwksServer();
    const strict = 'https://idp.example.test';
    const trusting = 'https://trusting-idp.example.test';
    const idp = await startControlFixture({
      config: {
        oidc: { issuers: [
          { issuer: strict, audience: 'edge', jwks_uri: jwksUri, userinfo: 'never' },
          { issuer: trusting, audience: 'edge', jwks_uri: jwksUri, userinfo: 'never', trust_unverified_email: true },
        ] },
      },
    });
    const cases: Array<[string, string, Record<string, unknown>, string[]]> = [
      ['email_verified false', strict, { email_verified: false }, []],
      ['no email_verified', strict, {}, []],
      ['email_verified true', strict, { email_verified: true }, ['vk-ada']],
      ['email_verified "true" (as some providers send it)', strict, { email_verified: 'true' }, ['vk-ada']],
      ['no email_verified at a provider the admin trusts', trusting, {}, ['vk-ada']],
    ];
    try {
      for (const [name, iss, claims, keys] of cases) {
        // Mallory's own account with Ada's address typed in; only a verified address may count.
        const token = await new SignJWT({ email: 'ADA@example.com', ...claims })
          .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
          .setIssuer(iss).setAudience('edge').setSubject('mallory-123').setIssuedAt().setExpirationTime('5m')
          .sign(privateKey);
        const res = await fetch(`${idp.server.url}/api/edge/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'oidc', token, device }) });
        expect(res.status, name).toBe(201);
        const answer = EnrollmentResponseSchema.parse(await res.json());
        expect(answer.subject.email, name).toBe(keys.length > 0 ? 'ADA@example.com' : undefined);
        const policy = await fetch(`${idp.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${answer.device_credential}` } });
        const signed = await policy.json() as { bundle: { virtual_keys: Array<{ id: string }> } };
        expect(signed.bundle.virtual_keys.map((k) => k.id), name).toEqual(keys);
      }
    } finally {
      await idp.close();
      await closeJwks();
    }
  });
});

describe('enrollment with an ID token that leaves email and groups to userinfo', () => {
  it('reads them from the userinfo endpoint with the access token sent along, and refuses another user\'s token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' }] };
    const userinfo: Record<string, Record<string, unknown>> = {
      'Bearer at-ada': { sub: '00u-ada', email: 'ada@example.com', email_verified: true, groups: ['engineering'] },
      'Bearer at-bob': { sub: '00u-bob', email: 'bob@example.com', email_verified: true, groups: ['sales'] },
    };
    const userinfoCalls: string[] = [];
    const idpServer = http.createServer((req, res) => {
      if (req.url === '/userinfo') {
        userinfoCalls.push(req.headers.authorization ?? '');
        const claims = userinfo[req.headers.authorization ?? ''];
        res.writeHead(claims ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(claims ?? { error: 'invalid_token' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
    const issuerConfig = { issuer: 'https://idp.example.test', audience: 'edge-desktop-client', jwks_uri: `${base}/jwks`, userinfo_endpoint: `${base}/userinfo` };
    const idp = await startControlFixture({ config: { oidc: { issuers: [issuerConfig] } } });
    // Only `sub` in the ID token, as OIDC providers do by default for claims requested by scope.
    const idToken = await new SignJWT({ nonce: 'n' })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
      .setIssuer('https://idp.example.test').setAudience('edge-desktop-client').setSubject('00u-ada').setIssuedAt().setExpirationTime('5m')
      .sign(privateKey);
    const enroll = (extra: Record<string, unknown>) => fetch(`${idp.server.url}/api/edge/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'oidc', token: idToken, device, ...extra }) });
    try {
      const withAccess = await enroll({ access_token: 'at-ada' });
      expect(withAccess.status).toBe(201);
      expect(EnrollmentResponseSchema.parse(await withAccess.json()).subject).toEqual({ sub: '00u-ada', email: 'ada@example.com', groups: ['engineering'] });

      // Bob's access token next to Ada's ID token: userinfo names another subject.
      const substituted = await enroll({ access_token: 'at-bob' });
      expect(substituted.status).toBe(401);
      expect(((await substituted.json()) as { error: { message: string } }).error.message).toMatch(/belongs to another user/);

      const expired = await enroll({ access_token: 'at-expired' });
      expect(expired.status).toBe(401);
      expect(((await expired.json()) as { error: { message: string } }).error.message).toMatch(/sign in again/);

      // Without an access token the ID token's claims are all there is.
      const idOnly = await enroll({});
      expect(idOnly.status).toBe(201);
      expect(EnrollmentResponseSchema.parse(await idOnly.json()).subject).toEqual({ sub: '00u-ada', groups: [] });
      expect(userinfoCalls).toEqual(['Bearer at-ada', 'Bearer at-bob', 'Bearer at-expired']);
    } finally {
      await idp.close();
      await new Promise<void>((resolve) => idpServer.close(() => resolve()));
    }
  });
});

describe('enrollment with a virtual key', () => {
  it('accepts a key the gateway knows and issues a bundle with only that key', async () => {
    const { status, json } = await enroll({ method: 'virtual_key', virtual_key: ENGINEERING_KEY.value, device });
    expect(status).toBe(201);
    const answer = EnrollmentResponseSchema.parse(json);
    expect(answer.subject.sub).toBe('virtual-key:vk-eng');
    const policy = await fetch(`${fixture.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${answer.device_credential}` } });
    const signed = await policy.json() as { bundle: { virtual_keys: Array<{ id: string }> } };
    expect(signed.bundle.virtual_keys.map((k) => k.id)).toEqual(['vk-eng']);
  });

  it('accepts a key created at the gateway after the last poll', async () => {
    fixture.standin.setVirtualKeys([ADA_KEY, ENGINEERING_KEY, { id: 'vk-new', value: 'sk-bf-brand-new-0003', name: 'new' }]);
    const { status } = await enroll({ method: 'virtual_key', virtual_key: 'sk-bf-brand-new-0003', device });
    expect(status).toBe(201);
  });

  it('refuses unknown and disabled keys with what to do', async () => {
    const unknown = await enroll({ method: 'virtual_key', virtual_key: 'sk-bf-nobody-9999', device });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toMatchObject({ error: { type: 'virtual_key_not_found' } });

    fixture.standin.setVirtualKeys([ADA_KEY, { ...ENGINEERING_KEY, is_active: false }]);
    await fixture.server.refreshGatewayKeys();
    const disabled = await enroll({ method: 'virtual_key', virtual_key: ENGINEERING_KEY.value, device });
    expect(disabled.status).toBe(403);
    expect(disabled.json).toMatchObject({ error: { type: 'virtual_key_inactive' } });
  });
});

describe('enrollments with keys the gateway does not know', () => {
  it('read the gateway again at most once every 5 seconds, answering from the keys read in between', async () => {
    const quiet = await startControlFixture();
    try {
      // Restarted with a clock of our own and background polling out of the way, so every read counted
      // below is one an enrollment asked for.
      await quiet.server.close();
      let clock = Date.parse('2026-03-01T09:00:00.000Z');
      quiet.server = await startControlServer({ ...quiet.config, gateway: { ...quiet.config.gateway, poll_interval_seconds: 3600 } }, { log: testLogger(), now: () => new Date(clock) });
      quiet.standin.clear();
      const gatewayReads = (): number => quiet.standin.received.filter((r) => r.path === '/api/governance/virtual-keys').length;
      const post = async (key: string): Promise<number> => (await fetch(`${quiet.server.url}/api/edge/v1/enroll`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'virtual_key', virtual_key: key, device }),
      })).status;

      const statuses = [];
      for (let i = 0; i < 50; i++) statuses.push(await post(`sk-bf-guess-${i}`));
      expect(new Set(statuses)).toEqual(new Set([401]));
      expect(gatewayReads()).toBe(1);
      // Concurrent misses share that budget too.
      clock += 5_000;
      expect(await Promise.all(Array.from({ length: 20 }, (_, i) => post(`sk-bf-burst-${i}`)))).toEqual(Array(20).fill(401));
      expect(gatewayReads()).toBe(2);

      // A key created meanwhile is found by the first miss once the 5 seconds are over.
      quiet.standin.setVirtualKeys([ADA_KEY, ENGINEERING_KEY, { id: 'vk-new', value: 'sk-bf-brand-new-0003', name: 'new' }]);
      clock += 4_000;
      expect(await post('sk-bf-brand-new-0003')).toBe(401);
      clock += 1_000;
      expect(await post('sk-bf-brand-new-0003')).toBe(201);
      expect(gatewayReads()).toBe(3);
    } finally {
      await quiet.close();
    }
  });
});

describe('enrollment methods the admin turned off', () => {
  it('refuses virtual-key enrollment when allow_virtual_key_enrollment is false, and OIDC without issuers', async () => {
    const strict = await startControlFixture({ config: { allow_virtual_key_enrollment: false } });
    try {
      const post = (body: unknown) => fetch(`${strict.server.url}/api/edge/v1/enroll`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const vk = await post({ method: 'virtual_key', virtual_key: ADA_KEY.value, device });
      expect(vk.status).toBe(403);
      expect(await vk.json()).toMatchObject({ error: { type: 'virtual_key_enrollment_disabled', message: expect.stringMatching(/identity provider/) } });
      const oidc = await post({ method: 'oidc', token: await issuer.accessToken(), device });
      expect(oidc.status).toBe(403);
      expect(await oidc.json()).toMatchObject({ error: { type: 'forbidden', message: expect.stringMatching(/oidc\.issuers/) } });
    } finally {
      await strict.close();
    }
  });
});
