import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENROLLMENT_FILE } from '../../src/control/client/device-state-files.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { captureLogger, tempDir, waitFor, type ControlFixture } from './support/control-fixture.js';
import { adaEnrollment, syncTestHarness } from './support/sync-harness.js';

/**
 * The enrollment record cannot be written (disk full, read-only state folder; here a folder stands where
 * the file goes, which stops even root). The device must not enroll again and again (each enrollment
 * registers a device, and a fail-closed device refuses AI requests meanwhile): it uses the enrollment
 * from memory, says what to fix in the log and in its reachability problem (status), and retries the
 * save with backoff until it works.
 */

const { fixtureForTest, syncClient } = syncTestHarness();

async function devicesAt(fixture: ControlFixture): Promise<number> {
  const { json } = await fixture.admin('GET', EdgeControlPaths.adminDevices) as { json: { devices: unknown[] } };
  return json.devices.length;
}

describe('an enrollment record that cannot be saved', () => {
  it('is used from memory, reported with what to fix, and saved once possible; the device enrolls once', async () => {
    const fixture = await fixtureForTest();
    const stateDir = await tempDir('device');
    const enrollmentFile = path.join(stateDir, ENROLLMENT_FILE);
    await fs.mkdir(path.join(enrollmentFile, 'in-the-way'), { recursive: true });
    const { log, lines } = captureLogger();
    const client = await syncClient({ controlUrl: fixture.server.url, stateDir, credential: adaEnrollment, log, timing: { backoff: { initialMs: 50, maxMs: 200 } } });

    await waitFor(() => client.reachability().confirmed, 5_000, 'the policy to be confirmed').catch(async (err: Error) => {
      throw new Error(`${err.message}: reachability ${JSON.stringify(client.reachability())}, ${await devicesAt(fixture)} devices registered`);
    });
    expect(client.current()).toMatchObject({ origin: 'network', bundle: { device_id: client.enrolledDevice()?.deviceId } });
    expect(await devicesAt(fixture)).toBe(1);
    const errors = lines.filter((l) => / ERROR .*cannot save this device's enrollment/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(enrollmentFile);
    expect(errors[0]).toMatch(/free disk space, or make .* writable/);
    expect(client.reachability().problem).toMatch(/cannot save this device's enrollment .*writable/);

    // The obstacle goes: the retried save writes the record, and the problem clears.
    await fs.rm(enrollmentFile, { recursive: true });
    const saved = await waitFor(async () => {
      const text = await fs.readFile(enrollmentFile, 'utf8').catch(() => undefined);
      return text === undefined ? undefined : JSON.parse(text) as { device_id: string };
    }, 5_000, 'the enrollment record to be saved');
    expect(saved.device_id).toBe(client.enrolledDevice()?.deviceId);
    await waitFor(() => client.reachability().problem === undefined, 2_000, 'the problem to clear');
    expect(await devicesAt(fixture)).toBe(1);
  }, 20_000);
});
