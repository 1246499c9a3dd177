import { describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse } from '../../src/control/protocol/audit-chain-events.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { controlPerTest, copyDatabase, startChainRun, storedAtServer, until, type ChainRun } from '../audit/support/chain-gap.js';
import { tempDbPath } from '../audit/support/records.js';
import { ADA_KEY, type ControlFixture } from './support/control-fixture.js';

/**
 * A clone of a device (a VM copied, or the same snapshot started again) enrolls anew with the installation
 * id of the original, resends records 1-10 the original uploaded (acknowledged as duplicates: they are held
 * under the original's enrollment), then writes records of its own from seq 11. Edge Control compared the
 * clone's new chain with the clone's own chains only, so its event said records 1-10 were never uploaded and
 * the fork with the original went unreported. Real outboxes and shippers on both sides.
 */
const { cleanups, startControl } = controlPerTest();
const INSTALLATION = 'inst-cloned-vm';

function ship(f: ControlFixture, device: EnrollmentResponse | undefined, dbPath: string, batchSize: number): Promise<ChainRun> {
  return startChainRun(f, device, { path: dbPath }, { batchSize, backoff: { baseMs: 50, maxMs: 100 }, recordDeviceId: INSTALLATION, uploadAsEnrolled: true }, cleanups);
}

describe('a clone of a device diverging after records the original uploaded', () => {
  // 10: the clone's batch after the duplicates starts at seq 11 (it links to the original's seq 10);
  // 8: its batch 9-15 holds 9-10 as the original does and others from 11 on.
  it.each([10, 8])('is reported as a fork from the original at seq 11, nothing stored twice (batches of %i)', async (batchSize) => {
    const f = await startControl();
    const enroll = (hostname: string) => postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname, installation_id: INSTALLATION } });
    const original = await enroll('vm');
    const dbPath = tempDbPath();
    const offline = await ship(f, undefined, dbPath, batchSize);
    await offline.append(1, 10, 'common');
    await offline.stop();
    await copyDatabase(dbPath, `${dbPath}.clone`);

    const first = await ship(f, original, dbPath, batchSize);
    await first.append(11, 20, 'original');
    await until(() => first.outbox.depth() === 0, 'the original uploaded seq 1-20');
    await first.stop();

    const clone = await enroll('vm-clone');
    const second = await ship(f, clone, `${dbPath}.clone`, batchSize);
    await second.append(11, 15, 'clone');
    await until(() => second.outbox.depth() === 0, 'the clone uploaded its records');
    await second.stop();

    const stored = await storedAtServer(f);
    const byChain = (owner: string) => stored.filter((r) => r.device_id.split('/')[0] === owner).map((r) => `${r.device_id === owner ? '' : 'new:'}${r.seq}`);
    expect(byChain(original.device_id)).toEqual(Array.from({ length: 20 }, (_, i) => `${i + 1}`));
    expect(byChain(clone.device_id)).toEqual(['new:11', 'new:12', 'new:13', 'new:14', 'new:15']);

    const { events } = (await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?device_id=${encodeURIComponent(clone.device_id)}`)).json as AdminAuditChainEventsResponse;
    expect(events).toHaveLength(1);
    const [fork] = events;
    expect(fork).toMatchObject({ kind: 'fork', starts_at_seq: 11 });
    expect(fork!.message).toContain(`continues chain ${original.device_id} through seq 10; differs from chain ${original.device_id} at seq 11 (it holds other records for seq 11-20)`);
    expect(fork!.message).not.toContain('not held here');
    expect(fork!.details).toMatchObject({ earlier_chain: original.device_id, continues_earlier_chain: true, differs_from: [{ chain: original.device_id, at_seq: 11, conflicting_seqs: '11-20' }] });
    expect(fork!.details).not.toHaveProperty('records_not_uploaded');
  });
});
