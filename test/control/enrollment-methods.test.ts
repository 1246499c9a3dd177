import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlRequestError, fetchEnrollmentMethods } from '../../src/control/client/control-api.js';
import { EnrollmentMethodsResponseSchema } from '../../src/control/protocol/enrollment.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * GET /api/edge/v1/enroll/methods: what a device may offer a person before it enrolls. It answers
 * from the same settings POST /enroll checks, so it never offers a method enrollment then refuses.
 */

const fixtures: ControlFixture[] = [];
afterAll(async () => {
  for (const f of fixtures) await f.close();
});

/** An issuer is only contacted when a token is verified; listing it is enough to turn OIDC on. */
const ISSUERS = [{ issuer: 'http://127.0.0.1:9/idp', audience: 'bifrost-edge' }];

const combinations: Array<[string, { issuers: boolean; allowVirtualKey: boolean }, string[]]> = [
  ['identity providers and virtual keys', { issuers: true, allowVirtualKey: true }, ['oidc', 'virtual_key']],
  ['identity providers only', { issuers: true, allowVirtualKey: false }, ['oidc']],
  ['virtual keys only', { issuers: false, allowVirtualKey: true }, ['virtual_key']],
  ['neither', { issuers: false, allowVirtualKey: false }, []],
];

describe('GET /api/edge/v1/enroll/methods', () => {
  it.each(combinations)('%s', async (_what, settings, expected) => {
    const fixture = await startControlFixture({
      config: { oidc: { issuers: settings.issuers ? ISSUERS : [] }, allow_virtual_key_enrollment: settings.allowVirtualKey },
    });
    fixtures.push(fixture);

    // No credential needed: a device asks before anyone has signed in.
    const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll/methods`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = EnrollmentMethodsResponseSchema.parse(await res.json());
    expect(body).toEqual({ methods: expected });
    expect(await fetchEnrollmentMethods(fixture.server.url)).toEqual(expected);

    // What it offers is what enrollment accepts.
    const enroll = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'contractor-laptop' } }),
    });
    if (settings.allowVirtualKey) {
      expect(enroll.status).toBe(201);
    } else {
      expect(enroll.status).toBe(403);
      expect(await enroll.json()).toMatchObject({ error: { type: 'virtual_key_enrollment_disabled' } });
    }
  });

  it('is read-only: other methods are refused with the allowed one', async () => {
    const fixture = await startControlFixture();
    fixtures.push(fixture);
    const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll/methods`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('fetchEnrollmentMethods (the device side)', () => {
  /** A server that answers every request with `body`. */
  async function answering(status: number, body: string): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it('ignores methods it does not know (a newer server may offer more)', async () => {
    const server = await answering(200, JSON.stringify({ methods: ['passkey', 'virtual_key'] }));
    try {
      expect(await fetchEnrollmentMethods(server.url)).toEqual(['virtual_key']);
    } finally {
      await server.close();
    }
  });

  it('reports a malformed answer and an unreachable server without promising a retry', async () => {
    const server = await answering(200, JSON.stringify({ offered: ['oidc'] }));
    try {
      await expect(fetchEnrollmentMethods(server.url)).rejects.toThrow(/list of enrollment methods is malformed \(methods:/);
    } finally {
      await server.close();
    }
    const error = await fetchEnrollmentMethods(server.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlRequestError);
    expect((error as ControlRequestError).status).toBe(0);
    expect((error as Error).message).toMatch(/^cannot reach the Edge Control server at http:\/\/127\.0\.0\.1:\d+ \([^)]+\)$/);
  });
});
