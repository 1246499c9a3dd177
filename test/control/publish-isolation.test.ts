import { describe, expect, it } from 'vitest';
import { EDGE_CONTROL_AUDIENCE, startTestIssuer } from './support/oidc-issuer.js';
import type { StoredBundle } from '../../src/control/server/control-store.js';
import { MAX_VERSION_LEAD } from '../../src/control/server/enrollment-version-floor.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { ADA_KEY, ENGINEERING_KEY, type ControlFixture } from './support/control-fixture.js';
import { syncTestHarness } from './support/sync-harness.js';

/**
 * One device whose bundle cannot be built must not stop policy from reaching the others, and an
 * enrollment must not be able to plant such a device.
 */
const { cleanups, fixtureForTest } = syncTestHarness();

async function enroll(fixture: ControlFixture, virtualKey: string, extra: Record<string, unknown> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'virtual_key', virtual_key: virtualKey, device: { hostname: 'laptop' }, ...extra }),
  });
  return { status: res.status, json: await res.json() as Record<string, unknown> };
}

async function deviceVersions(fixture: ControlFixture): Promise<string[]> {
  const { json } = await fixture.admin('GET', '/api/edge/v1/admin/devices') as { json: { devices: Array<{ subject: { sub: string }; latest_policy_version?: number }> } };
  return json.devices.map((d) => `${d.subject.sub}:v${d.latest_policy_version ?? '-'}`);
}

describe('the version floor an enrolling device reports', () => {
  it('is refused far above any version this server issued, and no device is kept', async () => {
    const fixture = await fixtureForTest();
    const poisoned = await enroll(fixture, ENGINEERING_KEY.value, { policy_version: Number.MAX_SAFE_INTEGER });
    expect(poisoned.status).toBe(400);
    expect(poisoned.json).toMatchObject({ error: { type: 'invalid_request' } });
    expect((poisoned.json['error'] as { message: string }).message).toMatch(/reports enforcing policy version 9007199254740991.*highest version this control server has issued is 0.*delete the device's cached policy/);
    expect(await deviceVersions(fixture)).toEqual([]);

    // Later devices and admin edits are unaffected.
    expect((await enroll(fixture, ADA_KEY.value)).status).toBe(201);
    const put = await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' });
    expect(put.status).toBe(200);
    expect(await deviceVersions(fixture)).toEqual(['virtual-key:vk-ada:v2']);
  });

  it('is accepted up to the allowed lead above the highest issued version (a server restored from a backup)', async () => {
    const fixture = await fixtureForTest();
    expect((await enroll(fixture, ADA_KEY.value)).status).toBe(201);
    const ahead = await enroll(fixture, ENGINEERING_KEY.value, { policy_version: 1 + MAX_VERSION_LEAD });
    expect(ahead.status).toBe(201);
    expect(await deviceVersions(fixture)).toEqual(['virtual-key:vk-ada:v1', `virtual-key:vk-eng:v${2 + MAX_VERSION_LEAD}`]);
    expect((await enroll(fixture, ENGINEERING_KEY.value, { policy_version: 3 + 2 * MAX_VERSION_LEAD })).status).toBe(400);
  });
});

describe('republishing to every device', () => {
  it('skips a device whose bundle cannot be built (a row an older server stored) and updates the rest', async () => {
    const fixture = await fixtureForTest();
    // An older server accepted any floor: a device at 2^53-1 has no representable next version.
    const direct = new SqliteControlStore(fixture.config.storage.sqlite_path);
    await direct.createDevice({
      device_id: 'dev_poisoned', credential_hash: 'f'.repeat(64), enrollment_method: 'virtual_key', virtual_key_id: 'vk-eng',
      subject: { sub: 'virtual-key:vk-eng', groups: [] }, policy_version_floor: Number.MAX_SAFE_INTEGER,
      hostname: 'old', enrolled_at: '2020-01-01T00:00:00.000Z', apps_seen: [], mcp_servers_seen: [],
    });
    await direct.close();
    expect((await enroll(fixture, ADA_KEY.value)).status).toBe(201);

    const put = await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ republished_devices: 1 });
    expect(await deviceVersions(fixture)).toEqual(['virtual-key:vk-eng:v-', 'virtual-key:vk-ada:v2']);

    const rotate = await fixture.admin('POST', '/api/edge/v1/admin/signing-keys/rotate');
    expect(rotate.status).toBe(200);
    expect(await deviceVersions(fixture)).toEqual(['virtual-key:vk-eng:v-', 'virtual-key:vk-ada:v3']);
  });
});

describe('an enrollment whose first bundle cannot be published', () => {
  it('is answered with an error and leaves no device row behind', async () => {
    let failNextSave = false;
    class FlakyBundleStore extends SqliteControlStore {
      override async saveBundle(bundle: StoredBundle): Promise<void> {
        if (failNextSave) {
          failNextSave = false;
          throw new Error('disk full (injected)');
        }
        return super.saveBundle(bundle);
      }
    }
    const fixture = await fixtureForTest({ store: (config) => new FlakyBundleStore(config.storage.sqlite_path) });
    failNextSave = true;
    const failed = await enroll(fixture, ENGINEERING_KEY.value);
    expect(failed.status).toBe(500);
    expect(await deviceVersions(fixture)).toEqual([]);

    expect((await enroll(fixture, ADA_KEY.value)).status).toBe(201);
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' })).status).toBe(200);
    expect(await deviceVersions(fixture)).toEqual(['virtual-key:vk-ada:v2']);
  });
});

describe('a person whose identity-provider groups are named like object built-ins', () => {
  it('enrolls with the keys their real groups give, and admin edits keep reaching every device', async () => {
    const issuer = await startTestIssuer({ email: 'ada@example.com', groups: ['constructor', 'toString', '__proto__', 'engineering'] });
    cleanups.push(() => issuer.close());
    const fixture = await fixtureForTest({ config: { oidc: { issuers: [{ issuer: issuer.issuer, audience: EDGE_CONTROL_AUDIENCE }] } } });
    const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'oidc', token: await issuer.accessToken(), device: { hostname: 'laptop' } }),
    });
    expect(res.status).toBe(201);
    const { device_credential: credential } = await res.json() as { device_credential: string };
    const policy = await fetch(`${fixture.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${credential}` } });
    const signed = await policy.json() as { bundle: { version: number; virtual_keys: Array<{ id: string }> } };
    expect(signed.bundle.virtual_keys.map((k) => k.id)).toEqual(['vk-ada', 'vk-eng']);

    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' })).status).toBe(200);
    expect(await deviceVersions(fixture)).toEqual(['edge-device:v2']);
  });
});
