import { afterEach } from 'vitest';
import type { ActivePolicy } from '../../../src/control/client/active-policy.js';
import { startPolicySync, type PolicySyncClient } from '../../../src/control/client/policy-sync-client.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './control-fixture.js';

/**
 * What the device-sync test files share: control servers and sync clients that are closed after each
 * test (in reverse order of start), plus `cleanups` for anything else a test starts.
 * Call once at the top level of a test file.
 */
export function syncTestHarness() {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanups.splice(0).reverse()) await step();
  });
  return {
    cleanups,
    async fixtureForTest(options: Parameters<typeof startControlFixture>[0] = {}): Promise<ControlFixture> {
      const fixture = await startControlFixture(options);
      cleanups.push(() => fixture.close());
      return fixture;
    },
    async syncClient(options: Parameters<typeof startPolicySync>[0]): Promise<PolicySyncClient> {
      const client = await startPolicySync(options);
      cleanups.push(() => client.close());
      return client;
    },
  };
}

/** Resolves with the next bundle the client applies. */
export function nextBundle(client: PolicySyncClient): Promise<ActivePolicy> {
  return new Promise((resolve) => {
    const off = client.onBundle((policy) => {
      off();
      resolve(policy);
    });
  });
}

/** Enrollment with Ada's virtual key (the fixture's control server allows virtual-key enrollment). */
export const adaEnrollment = { method: 'virtual_key', virtual_key: ADA_KEY.value } as const;
