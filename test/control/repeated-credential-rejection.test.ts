import { describe, expect, it } from 'vitest';
import { startControlServer } from '../../src/control/server/control-server.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { awaitsControlConfirmation, unconfirmedPolicyRefusal, type Connectivity } from '../../src/policy/fail-mode.js';
import type { PolicySyncClient } from '../../src/control/client/policy-sync-client.js';
import { captureLogger, tempDir, testLogger, waitFor, type ControlFixture } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';
import { startTamperingProxy } from './support/tampering-proxy.js';

/**
 * Edge Control replicas that do not share device records: one enrolls the device, another serves its
 * policy and refuses the fresh credential with a 401. The device enrolls again a bounded number of times,
 * then stops (each enrollment registers a device) and says Edge Control keeps refusing it; a fail-closed
 * policy, which cannot be confirmed, refuses AI requests at once and says why.
 */

const { cleanups, fixtureForTest, syncClient } = syncTestHarness();

const timing = { backoff: { initialMs: 50, maxMs: 200 } };

async function devicesAt(fixture: ControlFixture): Promise<number> {
  const { json } = await fixture.admin('GET', EdgeControlPaths.adminDevices) as { json: { devices: unknown[] } };
  return json.devices.length;
}

/** Connectivity as the agent reports it from the sync client (agent-services.ts). */
function connectivityOf(client: PolicySyncClient): Connectivity {
  const { reachable, confirmed, cannotCall, problem } = client.reachability();
  return { controlPlane: reachable, controlPlaneConfirmed: confirmed, controlPlaneCallable: cannotCall === undefined, controlPlaneRefusesDevice: cannotCall === 'device-refused', ...(problem !== undefined ? { controlPlaneProblem: problem } : {}), gateway: true };
}

describe('Edge Control refusing every fresh credential right after enrolling the device', () => {
  it('enrolls again a bounded number of times, then stops and says so; fail-closed refuses at once with why', async () => {
    const fixture = await fixtureForTest();
    // A replica on the same signing key and configuration, with a database of its own.
    const replica = await startControlServer({ ...fixture.config, listen: { port: 0 }, storage: { sqlite_path: `${fixture.dir}/replica.db` } }, { log: testLogger() });
    cleanups.push(() => replica.close());
    let split = false;
    const proxy = await startTamperingProxy((pathname) => (split && pathname !== EdgeControlPaths.enroll ? replica.url : fixture.server.url));
    cleanups.push(() => proxy.close());
    const stateDir = await tempDir('device');
    const first = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const cached = await waitFor(() => first.current(), 5_000, 'the first bundle');
    expect(cached.bundle.fail_mode).toBe('closed');
    await first.close();

    // From now on enrollment reaches the first server and everything else the replica.
    split = true;
    const { log, lines } = captureLogger();
    const restarted = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log, timing });
    const gaveUp = await waitFor(() => (/keeps refusing this device/.test(restarted.reachability().problem ?? '') ? restarted.reachability() : undefined), 10_000, 'the device to stop enrolling again')
      .catch(async (err: Error) => {
        throw new Error(`${err.message}: reachability ${JSON.stringify(restarted.reachability())}, ${await devicesAt(fixture)} devices registered`);
      });
    expect(gaveUp).toMatchObject({ reachable: true, confirmed: false, cannotCall: 'device-refused' });
    const registered = await devicesAt(fixture);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await devicesAt(fixture), 'devices registered after the device stopped enrolling again').toBe(registered);
    // The first run's device and three re-enrollments at most.
    expect(registered).toBeLessThanOrEqual(4);
    expect(lines.filter((l) => / ERROR .*keeps refusing this device/.test(l)).length).toBe(1);
    expect(lines.join('')).toMatch(/share one database of devices/);

    // The cached fail-closed bundle cannot be confirmed: requests are refused at once (nothing to wait for), saying why.
    const connectivity = connectivityOf(restarted);
    expect(awaitsControlConfirmation(cached.bundle, connectivity)).toBe(false);
    const refusal = unconfirmedPolicyRefusal({ bundle: cached.bundle, connectivity, now: new Date() });
    expect(refusal?.reason).toMatch(/keeps refusing this device/);
    expect(refusal?.error.message).toMatch(/Edge Control keeps refusing this device/);
    expect(refusal?.error.message).toMatch(/IT helpdesk/);

    // Someone acting (a sign-in, a saved key) makes it try again.
    expect(restarted.credentialMayHaveChanged()).toBe(true);
    await waitFor(async () => (await devicesAt(fixture)) > registered, 5_000, 'a new enrollment after the sign-in');
  }, 30_000);
});
