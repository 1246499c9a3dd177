import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_VERSION_LEAD } from '../../src/control/server/enrollment-version-floor.js';
import type { SignedPolicyBundle } from '../../src/control/protocol/policy-bundle.js';
import { ADA_KEY, tempDir, testLogger, waitFor, type ControlFixture } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';
import { startTamperingProxy } from './support/tampering-proxy.js';

/**
 * The control server's database restored from a backup still knows every device (their credentials
 * work) but has forgotten the bundles issued since: a device's heartbeat, reporting the version it
 * enforces, makes the server number that device's bundles above it again.
 */
const { cleanups, fixtureForTest, syncClient } = syncTestHarness();

const quickTiming = { backoff: { initialMs: 100, maxMs: 300 }, minPollSeconds: 1 };
const heartbeatOf = (policyVersion: number | undefined) => ({ agent_version: '0.0.0-test', policy_source: 'edge-control' as const, ...(policyVersion === undefined ? {} : { policy_version: policyVersion }) });

async function copyDatabase(from: string, to: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) {
    await fs.rm(to + suffix, { force: true });
    await fs.copyFile(from + suffix, to + suffix).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

interface AdminDeviceView { device_id: string; reported_policy_version?: number; latest_policy_version?: number }

async function deviceView(fixture: ControlFixture, deviceId: string): Promise<AdminDeviceView> {
  const { json } = await fixture.admin('GET', '/api/edge/v1/admin/devices') as { json: { devices: AdminDeviceView[] } };
  return json.devices.find((d) => d.device_id === deviceId)!;
}

async function enrollScripted(fixture: ControlFixture): Promise<{ deviceId: string; credential: string }> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'scripted' } }),
  });
  expect(res.status).toBe(201);
  const answer = await res.json() as { device_id: string; device_credential: string };
  return { deviceId: answer.device_id, credential: answer.device_credential };
}

async function postHeartbeat(fixture: ControlFixture, credential: string, policyVersion: number): Promise<{ status: number; json: { policy?: { version: number } } }> {
  const res = await fetch(`${fixture.server.url}/api/edge/v1/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
    body: JSON.stringify(heartbeatOf(policyVersion)),
  });
  return { status: res.status, json: await res.json() as { policy?: { version: number } } };
}

describe('a control server whose database was restored from a backup', () => {
  it('numbers a device\'s bundles above the version its heartbeat reports, so the device takes the next change', async () => {
    const fixture = await fixtureForTest();
    const port = fixture.server.port;
    const db = fixture.config.storage!.sqlite_path!;
    const device = await syncClient({ controlUrl: fixture.server.url, stateDir: await tempDir('device'), credential: adaEnrollment, log: testLogger(), timing: quickTiming });
    await waitFor(() => device.current(), 5_000, 'the first bundle');

    await fixture.server.close();
    await copyDatabase(db, `${db}.backup`);
    await fixture.restart({ listen: { port } });
    for (const failMode of ['open', 'closed', 'open']) {
      expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: failMode })).status).toBe(200);
      await waitFor(() => device.current()?.bundle.fail_mode === failMode, 5_000, `fail mode ${failMode}`);
    }
    const enforced = device.current()!.bundle.version;

    await fixture.server.close();
    await copyDatabase(`${db}.backup`, db);
    await fixture.restart({ listen: { port } });
    const tightened = { fail_mode: 'closed', intercept_hosts: ['api.openai.com', 'api.anthropic.com'] };
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', tightened)).status).toBe(200);
    const { deviceId } = await waitFor(() => device.enrolledDevice(), 5_000, 'the enrollment');
    expect((await deviceView(fixture, deviceId)).latest_policy_version).toBeLessThan(enforced);
    // The device refuses the restored server's lower versions as replays and keeps what it has.
    await device.syncNow();
    expect(device.current()!.bundle).toMatchObject({ version: enforced, fail_mode: 'open' });

    const answer = await device.sendHeartbeat(heartbeatOf(device.current()!.bundle.version));
    expect(answer.policy?.version).toBe(enforced + 1);
    const caughtUp = await waitFor(() => device.current()?.bundle.version === enforced + 1 && device.current(), 5_000, 'the bundle above the enforced version');
    expect(caughtUp.bundle).toMatchObject({ fail_mode: 'closed', intercept_hosts: tightened.intercept_hosts });
    // Later changes follow from there, without further heartbeats.
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' })).status).toBe(200);
    await waitFor(() => device.current()?.bundle.version === enforced + 2, 5_000, 'the next change');
  });

  it('ignores a reported version further ahead than an enrollment may report, and answers the heartbeat', async () => {
    const fixture = await fixtureForTest();
    const scripted = await enrollScripted(fixture);
    const far = await postHeartbeat(fixture, scripted.credential, 1 + MAX_VERSION_LEAD + 1);
    expect(far.status).toBe(200);
    expect(far.json.policy?.version).toBe(1);
    const near = await postHeartbeat(fixture, scripted.credential, 1 + MAX_VERSION_LEAD);
    expect(near.json.policy?.version).toBe(2 + MAX_VERSION_LEAD);
    expect((await deviceView(fixture, scripted.deviceId)).latest_policy_version).toBe(2 + MAX_VERSION_LEAD);
  });
});

describe('the version a device reports in its heartbeat', () => {
  it('is left out while the device enforces a cached bundle the server has not confirmed', async () => {
    const fixture = await fixtureForTest();
    const proxy = await startTamperingProxy(() => fixture.server.url);
    cleanups.push(() => proxy.close());
    const stateDir = await tempDir('device');
    const first = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log: testLogger() });
    await waitFor(() => first.current(), 5_000, 'the first bundle');
    await first.close();

    // A validly signed bundle naming no device, with a high version, copied into the cache.
    const throwaway = await fetch(`${fixture.server.url}/api/edge/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'throwaway' }, policy_version: 5_000 }),
    });
    const { device_credential: throwawayCredential } = await throwaway.json() as { device_credential: string };
    const minted = await (await fetch(`${fixture.server.url}/api/edge/v1/policy`, { headers: { authorization: `Bearer ${throwawayCredential}` } })).json() as SignedPolicyBundle;
    expect(minted.bundle.version).toBe(5_001);
    const cacheFile = path.join(stateDir, 'policy-bundle.json');
    const cache = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as { signed: unknown };
    cache.signed = minted;
    await fs.writeFile(cacheFile, JSON.stringify(cache));

    // The server cannot confirm anything meanwhile: its answers do not arrive intact.
    proxy.replacePolicy = () => 'not a bundle';
    proxy.blockStream = true;
    const device = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log: testLogger(), timing: quickTiming });
    expect(device.current()).toMatchObject({ origin: 'cache', bundle: { version: 5_001 } });
    const { deviceId } = device.enrolledDevice()!;
    const before = (await deviceView(fixture, deviceId)).latest_policy_version;

    await device.sendHeartbeat(heartbeatOf(5_001));
    const unconfirmed = await deviceView(fixture, deviceId);
    expect(unconfirmed.reported_policy_version).toBeUndefined();
    expect(unconfirmed.latest_policy_version).toBe(before);

    // Once the server's own bundle is in force, its version is reported.
    proxy.replacePolicy = undefined;
    await waitFor(async () => (await device.syncNow(), device.current()?.origin === 'network'), 5_000, 'the server\'s bundle');
    await device.sendHeartbeat(heartbeatOf(device.current()!.bundle.version));
    const confirmed = await deviceView(fixture, deviceId);
    expect(confirmed.reported_policy_version).toBe(before);
    expect(confirmed.latest_policy_version).toBe(before);
  });
});
