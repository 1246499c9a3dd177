import { describe, expect, it } from 'vitest';
import type { AdminSigningKeysResponse } from '../../src/control/protocol/admin-signing-keys.js';
import type { DeviceRecord } from '../../src/control/server/control-store.js';
import { supersededDevices } from '../../src/control/server/superseded-devices.js';
import { ADA_KEY, type ControlFixture } from './support/control-fixture.js';
import { syncTestHarness } from './support/sync-harness.js';

/** Rows a re-enrolling installation left behind do not hold the key-rotation gauge below "N of N". */
const { fixtureForTest } = syncTestHarness();

function row(device_id: string, installation_id: string | undefined, enrolled: string, lastSeen?: string): DeviceRecord {
  return {
    device_id, credential_hash: `hash-${device_id}`, enrollment_method: 'virtual_key', subject: { sub: 's', groups: [] }, hostname: 'h',
    enrolled_at: `2026-03-01T${enrolled}:00.000Z`, apps_seen: [], mcp_servers_seen: [],
    ...(installation_id === undefined ? {} : { installation_id }),
    ...(lastSeen === undefined ? {} : { last_seen_at: `2026-03-01T${lastSeen}:00.000Z` }),
  };
}

describe('which device rows an installation left behind', () => {
  const cases: Array<{ name: string; devices: DeviceRecord[]; superseded: string[] }> = [
    { name: 'an installation that enrolled again after its last heartbeat', devices: [row('a', 'i1', '09:00', '10:00'), row('b', 'i1', '11:00')], superseded: ['a'] },
    { name: 'enrolled again twice: both older rows', devices: [row('a', 'i1', '09:00'), row('b', 'i1', '10:00', '10:30'), row('c', 'i1', '11:00')], superseded: ['a', 'b'] },
    { name: 'never heard from before enrolling again', devices: [row('a', 'i1', '09:00'), row('b', 'i1', '09:01')], superseded: ['a'] },
    { name: 'copies of one installation (cloned VMs) that all keep reporting', devices: [row('a', 'i1', '09:00', '12:00'), row('b', 'i1', '10:00', '12:00')], superseded: [] },
    { name: 'other installations', devices: [row('a', 'i1', '09:00'), row('b', 'i2', '10:00')], superseded: [] },
    { name: 'devices without an installation id (older agents)', devices: [row('a', undefined, '09:00'), row('b', undefined, '10:00')], superseded: [] },
    { name: 'enrolled in the same instant', devices: [row('a', 'i1', '09:00'), row('b', 'i1', '09:00')], superseded: [] },
  ];
  for (const { name, devices, superseded } of cases) {
    it(name, () => {
      expect([...supersededDevices(devices)].sort()).toEqual(superseded);
    });
  }
});

async function enroll(fixture: ControlFixture, installationId: string, policyVersion?: number): Promise<string> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'ada-laptop', installation_id: installationId }, ...(policyVersion === undefined ? {} : { policy_version: policyVersion }) }),
  });
  expect(res.status).toBe(201);
  return (await res.json() as { device_credential: string }).device_credential;
}

/** Fetches the device's latest bundle and reports enforcing it; returns its version. */
async function takeLatest(fixture: ControlFixture, credential: string): Promise<number> {
  const policy = await (await fetch(`${fixture.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${credential}` } })).json() as { bundle: { version: number } };
  const heartbeat = await fetch(`${fixture.server.url}/api/edge/v1/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent_version: '0.0.0-test', policy_version: policy.bundle.version }),
  });
  expect(heartbeat.status).toBe(200);
  return policy.bundle.version;
}

async function gauge(fixture: ControlFixture): Promise<AdminSigningKeysResponse['devices']> {
  return ((await fixture.admin('GET', '/api/edge/v1/admin/signing-keys')).json as AdminSigningKeysResponse).devices;
}

describe('the key-rotation gauge', () => {
  it('reaches N of N after a device enrolled again, and still counts every copy of a cloned installation', async () => {
    const fixture = await fixtureForTest();
    const first = await enroll(fixture, 'inst-laptop');
    const version = await takeLatest(fixture, first);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await enroll(fixture, 'inst-laptop', version);
    await takeLatest(fixture, second);
    expect((await fixture.admin('POST', '/api/edge/v1/admin/signing-keys/rotate')).status).toBe(200);
    await takeLatest(fixture, second);
    expect(await gauge(fixture)).toEqual({ total: 1, up_to_date: 1 });
    // The devices list still shows both rows.
    expect(((await fixture.admin('GET', '/api/edge/v1/admin/devices')).json as { devices: unknown[] }).devices).toHaveLength(2);

    const cloneA = await enroll(fixture, 'inst-golden-image');
    const cloneB = await enroll(fixture, 'inst-golden-image');
    await takeLatest(fixture, cloneA);
    await takeLatest(fixture, cloneB);
    expect(await gauge(fixture)).toEqual({ total: 3, up_to_date: 3 });
  });
});
