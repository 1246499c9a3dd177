import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PolicyTemplateInput } from '../../src/control/protocol/admin.js';
import { BUNDLE_BINDING_DEVICE, BUNDLE_BINDING_HEADER } from '../../src/control/protocol/paths.js';
import type { SignedPolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { ADA_KEY, captureLogger, tempDir, testLogger, waitFor, type ControlFixture } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';

/**
 * Bundles name the device they were issued for, so a validly signed bundle from a second enrollment
 * (made, say, with a high version floor while the policy was loose) cannot be dropped into a device's
 * cache to roll it back, and an old cached bundle naming no device cannot lock out the server's.
 */
const { fixtureForTest, syncClient } = syncTestHarness();

const LOOSE_POLICY: PolicyTemplateInput = { fail_mode: 'open', intercept_hosts: ['api.openai.com'], sync: { poll_interval_seconds: 5 } };
const TIGHT_POLICY: PolicyTemplateInput = { fail_mode: 'closed', intercept_hosts: ['api.openai.com', 'api.anthropic.com'] };

/** Enrolls a throwaway device with Ada's own key, the way a person could from a script. */
async function enrollThrowaway(fixture: ControlFixture, options: { binding: boolean; policyVersion: number }): Promise<{ deviceId: string; credential: string }> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.binding ? { [BUNDLE_BINDING_HEADER]: BUNDLE_BINDING_DEVICE } : {}) },
    body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'throwaway' }, policy_version: options.policyVersion }),
  });
  expect(res.status).toBe(201);
  const answer = await res.json() as { device_id: string; device_credential: string };
  return { deviceId: answer.device_id, credential: answer.device_credential };
}

async function getPolicy(fixture: ControlFixture, credential: string, binding: boolean): Promise<SignedPolicyBundle> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/policy`, {
    headers: { authorization: `Bearer ${credential}`, ...(binding ? { [BUNDLE_BINDING_HEADER]: BUNDLE_BINDING_DEVICE } : {}) },
  });
  expect(res.status).toBe(200);
  return await res.json() as SignedPolicyBundle;
}

/** Runs a device, tightens the policy, stops the device, and puts `planted` into its cache. */
async function deviceWithPlantedCache(fixture: ControlFixture, planted: () => Promise<SignedPolicyBundle>): Promise<{ stateDir: string; tightVersion: number }> {
  const stateDir = await tempDir('device');
  const device = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
  await waitFor(() => device.current(), 5_000, 'the first bundle');
  const minted = await planted();
  expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', TIGHT_POLICY)).status).toBe(200);
  const tight = await waitFor(() => device.current()?.bundle.fail_mode === 'closed' && device.current(), 5_000, 'the tightened policy');
  await device.close();
  const cacheFile = path.join(stateDir, 'policy-bundle.json');
  const cache = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { signed: unknown };
  cache.signed = minted;
  await fs.writeFile(cacheFile, JSON.stringify(cache));
  return { stateDir, tightVersion: tight.bundle.version };
}

describe('the server names the device in its bundles', () => {
  it('for devices that ask, including agents upgraded after they enrolled; others get bundles without it', async () => {
    const fixture = await fixtureForTest();
    const asking = await enrollThrowaway(fixture, { binding: true, policyVersion: 1 });
    const first = await getPolicy(fixture, asking.credential, true);
    expect(first.bundle).toMatchObject({ version: 2, device_id: asking.deviceId });

    const older = await enrollThrowaway(fixture, { binding: false, policyVersion: 1 });
    const unbound = await getPolicy(fixture, older.credential, false);
    expect(unbound.bundle.device_id).toBeUndefined();
    // The same device's agent, upgraded: its first fetch asking for it gets a new version naming it.
    const upgraded = await getPolicy(fixture, older.credential, true);
    expect(upgraded.bundle).toMatchObject({ version: unbound.bundle.version + 1, device_id: older.deviceId });
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', TIGHT_POLICY)).status).toBe(200);
    expect((await getPolicy(fixture, older.credential, true)).bundle).toMatchObject({ version: unbound.bundle.version + 2, device_id: older.deviceId });
  });
});

describe('a device whose cache holds a bundle from another enrollment', () => {
  it('refuses one issued for another device and takes the server\'s current policy', async () => {
    const fixture = await fixtureForTest({ config: { policy: LOOSE_POLICY } });
    const { stateDir, tightVersion } = await deviceWithPlantedCache(fixture, async () => {
      const throwaway = await enrollThrowaway(fixture, { binding: true, policyVersion: 5_000 });
      return getPolicy(fixture, throwaway.credential, true);
    });

    const { log, lines } = captureLogger();
    const restarted = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log });
    expect(restarted.current()).toBeUndefined();
    expect(lines.join('')).toMatch(/refused a policy bundle from the local cache: the bundle was issued for device dev_\S+, not for this device/);
    const synced = await waitFor(() => restarted.current(), 5_000, 'the server\'s bundle');
    expect(synced.bundle).toMatchObject({ fail_mode: 'closed', version: tightVersion });
  });

  it('enforces one naming no device only until the server answers, even when its version is higher', async () => {
    const fixture = await fixtureForTest({ config: { policy: LOOSE_POLICY } });
    const { stateDir, tightVersion } = await deviceWithPlantedCache(fixture, async () => {
      // Without the header the server issues bundles naming no device, like a server that predates device_id.
      const throwaway = await enrollThrowaway(fixture, { binding: false, policyVersion: 5_000 });
      return getPolicy(fixture, throwaway.credential, false);
    });

    const restarted = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    expect(restarted.current()).toMatchObject({ origin: 'cache', bundle: { fail_mode: 'open', version: 5_001 } });
    const synced = await waitFor(() => restarted.current()?.origin === 'network' && restarted.current(), 5_000, 'the server\'s bundle');
    expect(synced.bundle).toMatchObject({ fail_mode: 'closed', version: tightVersion });
    expect(tightVersion).toBeLessThan(5_001);
  });
});
