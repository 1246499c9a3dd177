import { describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import type { AuditOutboxOptions } from '../../src/audit/outbox.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { ADA_KEY, captureLogger, type ControlFixture } from '../control/support/control-fixture.js';
import { tempDbPath } from './support/records.js';
import { controlPerTest, restartControl, startChainRun, storedAtServer, until } from './support/chain-gap.js';

/**
 * Edge Control holds nothing of a device's chain while the device's uploads are past seq 1, against the
 * real reference server on real SQLite files: its database restored from a backup older than the
 * device's first upload (the loss must show on both sides, not be papered over by taking the next batch
 * as the chain's start), Edge Control configured on a device with history (the history must not flood
 * the queue), and a device enrolled again under a new device id (its chain simply goes on).
 */
const { cleanups, startControl } = controlPerTest();

/** Records carry `recordDeviceId` (the agent writes its installation id); batches go under the enrolled id. */
async function run(f: ControlFixture, device: EnrollmentResponse | undefined, options: AuditOutboxOptions, recordDeviceId: string) {
  const log = captureLogger();
  const shipping = { batchSize: 10, backoff: { baseMs: 50, maxMs: 200 }, log: log.log, recordDeviceId, uploadAsEnrolled: true };
  return { ...(await startChainRun(f, device, { ...options, log: log.log }, shipping, cleanups)), lines: log.lines };
}

describe('Edge Control that holds nothing of a device whose uploads are past seq 1', () => {
  it('restored from a backup older than the device\'s first upload: refuses the next batch, and the device uploads on as a new chain with the loss logged on both sides', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'restored-empty', installation_id: 'inst-restored' } });
    // The backup: the device enrolled, none of its records uploaded yet.
    await restartControl(f, 'back up');
    const dbPath = tempDbPath();

    const before = await run(f, device, { path: dbPath }, 'inst-restored');
    await before.append(1, 20);
    await until(() => before.outbox.depth() === 0, 'records 1-20 uploaded');
    await before.stop();
    const serverLog = await restartControl(f, 'restore');
    expect(await storedAtServer(f)).toEqual([]);

    const after = await run(f, device, { path: dbPath }, 'inst-restored');
    await after.append(21, 25);
    await until(() => after.outbox.depth() === 0 || after.gaps.length > 0, 'records 21-25 uploaded, or a gap');
    expect(after.gaps).toEqual([]);
    const chain = after.outbox.uploadChain()!;
    expect(chain.fromSeq).toBe(21);
    const stored = await storedAtServer(f);
    expect(stored.map((r) => `${r.device_id}:${r.seq}`)).toEqual(Array.from({ length: 5 }, (_, i) => `${device.device_id}/chain-${chain.chainId}:${21 + i}`));

    const told = after.lines.filter((l) => / WARN /.test(l) && l.includes('holds nothing of'));
    expect(told).toHaveLength(1);
    // The device names itself by the id its records carry (its installation id).
    expect(told[0]).toContain("Edge Control holds nothing of device inst-restored's audit chain, so it cannot take it from seq 21");
    expect(told[0]).toContain("its database was restored from a backup older than this device's first upload and they are lost there (this device still stores seq 1–20");
    expect(told[0]).toContain(`as a new chain (${chain.chainId})`);
    const logged = serverLog.filter((l) => l.includes('device started a new audit chain at seq 21'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("the device's records seq 1-20 are not held here (this server holds nothing earlier of the device");
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });

  it('configured on a device with history: the records from then on go as a new chain, the history does not fill the queue', async () => {
    const f = await startControl();
    const dbPath = tempDbPath();
    const rolling = await run(f, undefined, { path: dbPath, destinations: [], maxRecords: 30 }, 'inst-history');
    await rolling.append(1, 50, 'history');
    await rolling.stop();

    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'history', installation_id: 'inst-history' } });
    const enrolled = await run(f, device, { path: dbPath, destinations: ['control'], maxRecords: 30 }, 'inst-history');
    expect(enrolled.outbox.status()).toMatchObject({ unsentRecords: 0, level: 'ok' });
    await enrolled.append(51, 60);
    await until(() => enrolled.outbox.depth() === 0 || enrolled.gaps.length > 0, 'records 51-60 uploaded, or a gap');
    expect(enrolled.gaps).toEqual([]);
    expect(enrolled.levels).toEqual([]);
    const chain = enrolled.outbox.uploadChain()!;
    expect(chain.fromSeq).toBe(51);
    expect((await storedAtServer(f)).map((r) => r.record.request_id)).toEqual(Array.from({ length: 10 }, (_, i) => `r-${51 + i}`));
    expect(enrolled.lines.filter((l) => / WARN /.test(l) && l.includes('it was configured on this device after they were written'))).toHaveLength(1);
  });

  it('a device enrolled again under a new device id: its chain goes on under the new id, nothing resent, no new chain', async () => {
    const f = await startControl();
    const dbPath = tempDbPath();
    const first = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'again', installation_id: 'inst-again' } });
    const before = await run(f, first, { path: dbPath }, 'inst-again');
    await before.append(1, 10);
    await until(() => before.outbox.depth() === 0, 'records 1-10 uploaded');
    await before.stop();

    const serverLog = await restartControl(f);
    const second = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'again', installation_id: 'inst-again' } });
    expect(second.device_id).not.toBe(first.device_id);
    const after = await run(f, second, { path: dbPath }, 'inst-again');
    await after.append(11, 15);
    await until(() => after.outbox.depth() === 0 || after.gaps.length > 0, 'records 11-15 uploaded, or a gap');
    expect(after.gaps).toEqual([]);
    expect(after.outbox.uploadChain()).toBeUndefined();
    expect((await storedAtServer(f)).map((r) => `${r.device_id === first.device_id ? 'first' : r.device_id === second.device_id ? 'second' : r.device_id}:${r.seq}`))
      .toEqual([...Array.from({ length: 10 }, (_, i) => `first:${i + 1}`), ...Array.from({ length: 5 }, (_, i) => `second:${11 + i}`)]);
    expect(serverLog.filter((l) => l.includes(`its audit chain continues at seq 11 from what it uploaded as ${first.device_id}`))).toHaveLength(1);
  });
});
