import { describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { createLogger } from '../../src/log.js';
import { ADA_KEY, type ControlFixture } from '../control/support/control-fixture.js';
import { tempDbPath } from './support/records.js';
import { controlPerTest, startChainRun, storedAtServer, until } from './support/chain-gap.js';

/**
 * An enrolled device runs for a while without Edge Control in its configuration (the agent makes the
 * outbox a rolling local log), prunes at its cap records Edge Control never received, and then gets
 * Edge Control configured again. Edge Control can never receive those records, and never accepts a
 * gap in a chain: against the real reference server on real SQLite files, the device must carry on
 * uploading (as a new chain, the old one kept), without its backlog filling the queue at once.
 */
const { cleanups, startControl } = controlPerTest();

/** The device's outbox with the given destinations; it uploads to Edge Control only while that is one of them. */
async function run(f: ControlFixture, device: EnrollmentResponse, dbPath: string, destinations: string[]) {
  const lines: string[] = [];
  const outbox = { path: dbPath, destinations, maxRecords: 30, log: createLogger('info', (line) => lines.push(line)) };
  const options = { batchSize: 10, backoff: { baseMs: 50, maxMs: 200 }, recordDeviceId: device.device_id };
  return { ...(await startChainRun(f, destinations.length === 0 ? undefined : device, outbox, options, cleanups)), lines };
}

describe('Edge Control configured again after the device pruned records it never received', () => {
  it('uploads the records from then on as a new chain, kept beside the old one, with the queue not filled by the backlog', async () => {
    const f = await startControl();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'rolling' } });
    const dbPath = tempDbPath('edge-control-returns-');

    const enrolled = await run(f, device, dbPath, ['control']);
    await enrolled.append(1, 20);
    await until(() => enrolled.outbox.depth() === 0, 'records 1-20 uploaded');
    await enrolled.stop();

    const rolling = await run(f, device, dbPath, []);
    await rolling.append(21, 80);
    await rolling.stop();

    const back = await run(f, device, dbPath, ['control']);
    // The backlog written without Edge Control does not count as unsent: no near-full queue at start.
    expect(back.outbox.status()).toMatchObject({ unsentRecords: 0, level: 'ok' });
    const chain = back.outbox.uploadChain();
    expect(chain?.fromSeq).toBe(81);
    const told = back.lines.filter((line) => /WARN/.test(line) && /were pruned/.test(line));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/audit records seq 21–\d+ were pruned \(queue cap\) while Edge Control was not configured/);
    expect(told[0]).toContain(`as a new chain (${chain!.chainId})`);
    await back.append(81, 90);
    await until(() => back.outbox.depth() === 0 || back.gaps.length > 0, 'records 81-90 uploaded, or a gap');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(back.gaps).toEqual([]);
    expect(back.failures).toEqual([]);
    expect(back.levels).toEqual([]);
    await back.stop();

    // And after a restart, the same chain.
    const later = await run(f, device, dbPath, ['control']);
    expect(later.outbox.uploadChain()).toEqual(chain);
    await later.append(91, 95);
    await until(() => later.outbox.depth() === 0 || later.gaps.length > 0, 'records 91-95 uploaded, or a gap');
    expect(later.gaps).toEqual([]);
    await later.stop();

    const stored = await storedAtServer(f);
    const first = stored.filter((r) => r.device_id === device.device_id);
    expect(first.map((r) => r.record.request_id)).toEqual(Array.from({ length: 20 }, (_, i) => `r-${i + 1}`));
    const further = stored.filter((r) => r.device_id === `${device.device_id}/chain-${chain!.chainId}`);
    expect(further.map((r) => r.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 81 + i));
    expect(further.map((r) => r.record.request_id)).toEqual(Array.from({ length: 15 }, (_, i) => `r-${81 + i}`));
    expect(stored).toHaveLength(35);
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });
});
