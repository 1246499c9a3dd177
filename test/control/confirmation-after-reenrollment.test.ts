import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ActivePolicy } from '../../src/control/client/active-policy.js';
import { PLAIN_CREDENTIAL_FILE } from '../../src/control/client/plain-file-credential-store.js';
import type { PolicySyncClient } from '../../src/control/client/policy-sync-client.js';
import { tempDir, testLogger, waitFor } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';
import { startTamperingProxy } from './support/tampering-proxy.js';

/**
 * A device restarted with a cached bundle that has to enroll again before it can fetch (its credential
 * is gone, or the server no longer knows it): Edge Control counts as confirmed once the fresh bundle is
 * applied, not at the enrollment answer (nor at the refusal that sends the device to enroll again), so a
 * fail-closed device's held requests are decided under the policy Edge Control sends now, not the cached one.
 */

const { cleanups, fixtureForTest, syncClient } = syncTestHarness();

/** The policy in force at the moment Edge Control first counts as confirmed. */
function policyAtConfirmation(client: PolicySyncClient): Promise<ActivePolicy | undefined> {
  return new Promise((resolve) => {
    const off = client.onReachabilityChange((state) => {
      if (!state.confirmed) return;
      off();
      resolve(client.current());
    });
  });
}

const timing = { backoff: { initialMs: 100, maxMs: 400 } };

describe('a restarted device that must enroll again', () => {
  it('whose credential is gone: confirmed once the fresh bundle is applied, not at the enrollment answer', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const first = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const cached = await waitFor(() => first.current(), 5_000, 'the first bundle');
    expect(cached.bundle.fail_mode).toBe('closed');
    await first.close();
    // While the device is off: the admin changes the policy, and the device's credential is lost.
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' })).status).toBe(200);
    await fs.rm(path.join(stateDir, PLAIN_CREDENTIAL_FILE));

    const restarted = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger(), timing });
    const confirmed = policyAtConfirmation(restarted);
    expect(restarted.current()).toMatchObject({ origin: 'cache', etag: cached.etag });
    const atConfirmation = await confirmed;
    expect(atConfirmation).toMatchObject({ origin: 'network', bundle: { fail_mode: 'open', device_id: restarted.enrolledDevice()?.deviceId } });
  });

  it('that the server no longer knows: confirmed once the fresh bundle is applied, not at the refusal of its credential', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    expect((await fixture.admin('PUT', '/api/edge/v1/admin/policy', { fail_mode: 'open' })).status).toBe(200);
    const first = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const cached = await waitFor(() => first.current(), 5_000, 'the first bundle');
    expect(cached.bundle.fail_mode).toBe('open');
    await first.close();
    // The server comes back with an empty database (same signing key, the configured fail-closed policy).
    const port = fixture.server.port;
    await fixture.server.close();
    await fixture.restart({ listen: { port }, storage: { sqlite_path: `${fixture.dir}/replacement.db` } });

    const restarted = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log: testLogger(), timing });
    const confirmed = policyAtConfirmation(restarted);
    const oldDevice = restarted.enrolledDevice()?.deviceId;
    expect(restarted.current()).toMatchObject({ origin: 'cache', etag: cached.etag });
    const atConfirmation = await confirmed;
    expect(restarted.enrolledDevice()?.deviceId).not.toBe(oldDevice);
    expect(atConfirmation).toMatchObject({ origin: 'network', bundle: { fail_mode: 'closed', device_id: restarted.enrolledDevice()?.deviceId } });
  });

  it('whose fresh fetch fails while the push stream connects: not confirmed by the stream, only by the fresh bundle', async () => {
    const fixture = await fixtureForTest();
    const proxy = await startTamperingProxy(() => fixture.server.url);
    cleanups.push(() => proxy.close());
    const stateDir = await tempDir('device');
    const first = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log: testLogger() });
    const cached = await waitFor(() => first.current(), 5_000, 'the first bundle');
    expect(cached.bundle.fail_mode).toBe('closed');
    await first.close();
    await fs.rm(path.join(stateDir, PLAIN_CREDENTIAL_FILE));
    // Fetches fail (a 503 from something in front of Edge Control) while the push stream gets through.
    proxy.failPolicyFetch = true;

    const restarted = await syncClient({ controlUrl: proxy.url, stateDir, credential: adaEnrollment, log: testLogger(), timing });
    const oldDevice = cached.bundle.device_id;
    // Where the policy in force came from, and for which device, when Edge Control first counts as confirmed.
    const confirmations: Array<{ origin?: string; device_id?: string }> = [];
    restarted.onReachabilityChange((state) => {
      const policy = restarted.current();
      if (state.confirmed && confirmations.length === 0) confirmations.push({ origin: policy?.origin, device_id: policy?.bundle.device_id });
    });
    await waitFor(() => restarted.isStreaming(), 5_000, 'the push stream of the new enrollment');
    // The stream is up and has announced the new device's bundle; the fetch for it failed.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(restarted.current()).toMatchObject({ origin: 'cache', etag: cached.etag });
    expect(confirmations, `confirmed while the cached bundle of the previous device (${oldDevice}) is in force`).toEqual([]);
    expect(restarted.reachability().confirmed).toBe(false);

    // Once fetches get through again, the fresh bundle arrives (retried, the stream staying up) and confirms.
    proxy.failPolicyFetch = false;
    const confirmedPolicy = await waitFor(() => confirmations[0], 5_000, 'confirmation with the fresh bundle');
    expect(confirmedPolicy).toEqual({ origin: 'network', device_id: restarted.enrolledDevice()?.deviceId });
  });
});
