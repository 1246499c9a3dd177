import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createVirtualKeyStore, type SavedVirtualKey } from '../../src/auth/virtual-key-store.js';
import { enrollmentCredentialSource, type EnrollmentCredentialSourceOptions } from '../../src/control/client/enrollment-credential-source.js';
import { startPolicySync } from '../../src/control/client/policy-sync-client.js';
import { ADA_KEY, captureLogger, ENGINEERING_KEY, startControlFixture, tempDir, waitFor } from './support/control-fixture.js';

/**
 * What the agent enrolls with, decided per attempt: the OIDC session first, else the virtual key a
 * person signed in with. A key saved while the agent runs is used at its next attempt; a key the
 * server refuses is logged with the server's reason and retried with backoff.
 */

const CONTROL = 'http://127.0.0.1:8791';
const SIGNED_IN_KEY = 'sk-bf-contractor-0042';

const signedInSession = {
  getIdentity: () => ({ sub: 'ada', groups: [], issuer: 'https://idp.example.com' }),
  getIdToken: async () => 'id-token',
  getAccessToken: async () => 'access-token',
};
const signedOutSession = { ...signedInSession, getIdentity: () => undefined };
const saved = (controlUrl = CONTROL): { load(): Promise<SavedVirtualKey> } => ({ load: async () => ({ virtualKey: SIGNED_IN_KEY, controlUrl, savedAt: '2025-01-01T00:00:00Z' }) });
const nothingSaved = { load: async () => undefined };

describe('the enrollment credential', () => {
  const cases: Array<[string, Omit<EnrollmentCredentialSourceOptions, 'controlUrl'>, unknown]> = [
    ['OIDC, signed in', { enrollment: 'oidc', session: signedInSession, signInKeys: nothingSaved }, { method: 'oidc', token: 'id-token', access_token: 'access-token' }],
    ['OIDC, signed in, a virtual key saved too: the session wins', { enrollment: 'oidc', session: signedInSession, signInKeys: saved() }, { method: 'oidc', token: 'id-token', access_token: 'access-token' }],
    ['OIDC, signed out, a virtual key saved', { enrollment: 'oidc', session: signedOutSession, signInKeys: saved() }, { method: 'virtual_key', virtual_key: SIGNED_IN_KEY }],
    ['no sign-in configured, a virtual key saved', { enrollment: 'oidc', signInKeys: saved() }, { method: 'virtual_key', virtual_key: SIGNED_IN_KEY }],
    ['virtual-key enrollment with a configured key', { enrollment: 'virtual_key', configuredVirtualKey: ADA_KEY.value!, signInKeys: saved() }, { method: 'virtual_key', virtual_key: ADA_KEY.value }],
    ['virtual-key enrollment without a configured key, a key saved', { enrollment: 'virtual_key', signInKeys: saved() }, { method: 'virtual_key', virtual_key: SIGNED_IN_KEY }],
    ['OIDC, signed out, nothing saved', { enrollment: 'oidc', session: signedOutSession, signInKeys: nothingSaved }, /not signed in yet: run `bifrost-edge login` \(or `bifrost-edge login --virtual-key` with a key from your admin\)/],
    ['virtual-key enrollment, no key anywhere', { enrollment: 'virtual_key', signInKeys: nothingSaved }, /gateway\.virtualKey is not set; set it, or sign in with `bifrost-edge login --virtual-key`/],
    ['a key saved for another Edge Control is never sent', { enrollment: 'oidc', signInKeys: saved('https://old-control.example.com') }, /is for Edge Control at https:\/\/old-control\.example\.com, but this device now uses http:\/\/127\.0\.0\.1:8791/],
  ];
  it.each(cases)('%s', async (_what, options, expected) => {
    const next = enrollmentCredentialSource({ controlUrl: CONTROL, ...options });
    if (expected instanceof RegExp) await expect(next()).rejects.toThrow(expected);
    else expect(await next()).toEqual(expected);
  });
});

describe('enrolling with a virtual key saved while the agent runs', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  });

  it('waits for a sign-in, logs the server\'s refusal of a bad key and retries, then enrolls with the good one', async () => {
    const fixture = await startControlFixture({ virtualKeys: [ADA_KEY, { ...ENGINEERING_KEY, is_active: false }] });
    cleanups.push(() => fixture.close());
    const dataDir = await tempDir('vk-sign-in');
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    const keys = await createVirtualKeyStore({ dataDir, platform: 'win32' });
    const { log, lines } = captureLogger();
    const logged = () => lines.join('');
    const sync = await startPolicySync({
      controlUrl: fixture.server.url,
      stateDir: path.join(dataDir, 'control'),
      credential: enrollmentCredentialSource({ controlUrl: fixture.server.url, enrollment: 'oidc', signInKeys: keys }),
      log,
      timing: { backoff: { initialMs: 50, maxMs: 200 } },
    });
    cleanups.push(() => sync.close());

    await waitFor(() => /enrollment failed: not signed in yet/.test(logged()), 5_000, 'the agent to wait for a sign-in');

    await keys.save({ virtualKey: 'sk-bf-nobody-9999', controlUrl: fixture.server.url });
    await waitFor(() => /enrollment refused: the gateway does not know this virtual key; check it for typos or ask your admin for a valid one \(a key created at the gateway within the last minute may not be known yet: try again shortly\); retrying in/.test(logged()), 5_000, 'the unknown key to be refused');

    await keys.save({ virtualKey: ENGINEERING_KEY.value!, controlUrl: fixture.server.url });
    await waitFor(() => /enrollment refused: virtual key "engineering" is disabled at the gateway; ask your admin to re-enable it/.test(logged()), 5_000, 'the disabled key to be refused');
    expect(sync.enrolledDevice()).toBeUndefined();

    await keys.save({ virtualKey: ADA_KEY.value!, controlUrl: fixture.server.url });
    await sync.whenEnrolled();
    const policy = await waitFor(() => sync.current(), 5_000, 'the first bundle');
    expect(policy.bundle.subject?.sub).toBe('virtual-key:vk-ada');
    expect(policy.bundle.virtual_keys.map((k) => k.value)).toEqual([ADA_KEY.value]);
    const devices = (await fixture.admin('GET', '/api/edge/v1/admin/devices')).json as { devices: Array<{ enrollment_method: string }> };
    expect(devices.devices.map((d) => d.enrollment_method)).toEqual(['virtual_key']);
    // The server's refusals never echo a key, and neither does the agent's log.
    for (const key of ['sk-bf-nobody-9999', ENGINEERING_KEY.value!, ADA_KEY.value!]) expect(logged()).not.toContain(key);
  });
});
