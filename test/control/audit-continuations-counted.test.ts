import { describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse, AuditChainEvent } from '../../src/control/protocol/audit-chain-events.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { countingStore } from './support/counting-store.js';
import { ADA_KEY, type ControlFixture } from './support/control-fixture.js';
import { fixturePerTest } from './support/fixture-per-test.js';
import { chainId, hourlyLimit } from './support/new-chain-limit.js';

/**
 * A device's new chains are compared with its other chains at most NEW_CHAIN_LIMITS times; a second enrollment
 * of the same installation went around that: each batch linking to the first enrollment's head under a new
 * chain id is a continuation (a new chain key too), and continuations were not counted. They are now, so
 * the device's next new chain beyond the limit is not compared, and further continuations are coalesced.
 */
const startFixture = fixturePerTest();

async function events(f: ControlFixture, deviceId: string): Promise<AuditChainEvent[]> {
  return ((await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?device_id=${deviceId}&limit=1000`)).json as AdminAuditChainEventsResponse).events;
}

describe('continuations of an earlier enrollment\'s chain under new chain keys', () => {
  it('count toward the new-chain limit: beyond it, a new chain is not compared and further continuations share its event', async () => {
    const calls = new Map<string, number>();
    const f = await startFixture({ store: (config) => countingStore(new SqliteControlStore(config.storage!.sqlite_path!), calls) });
    const enroll = () => postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'h', installation_id: 'inst-x' } });
    const first = await enroll();
    const base = chainedRecords(1, 2, GENESIS_HASH, 'inst-x', 'a');
    expect((await postAuditBatch(f.server.url, first.device_credential, { ...buildAuditBatch(base), device_id: first.device_id, batch_id: 'first' })).status).toBe(200);
    const second = await enroll();
    const continuation = (n: number) => ({ ...buildAuditBatch(chainedRecords(3, 1, base[1]!.hash, 'inst-x', `loop${n}`), { chainId: chainId(n), fromSeq: 1 }), device_id: second.device_id, batch_id: `cont-${n}` });
    for (let n = 0; n < hourlyLimit.max; n++) expect((await postAuditBatch(f.server.url, second.device_credential, continuation(n))).status).toBe(200);
    expect((await events(f, second.device_id)).map((e) => e.kind)).toEqual(Array(hourlyLimit.max).fill('enrollment_continued'));

    // A new chain from seq 1 now: stored, not compared (it would read every chain of both enrollments).
    calls.clear();
    const fresh = { ...buildAuditBatch(chainedRecords(1, 2, GENESIS_HASH, 'inst-x', 'fresh'), { chainId: chainId(999), fromSeq: 1 }), device_id: second.device_id, batch_id: 'fresh' };
    expect((await postAuditBatch(f.server.url, second.device_credential, fresh)).status).toBe(200);
    expect((calls.get('auditChains') ?? 0) + (calls.get('auditHashesOfChains') ?? 0)).toBe(0);
    // And one more continuation: counted in the same event.
    expect((await postAuditBatch(f.server.url, second.device_credential, continuation(hourlyLimit.max))).status).toBe(200);
    const beyond = (await events(f, second.device_id)).slice(hourlyLimit.max);
    expect(beyond).toHaveLength(1);
    expect(beyond[0]).toMatchObject({ kind: 'new_chain', chain: `${second.device_id}/chain-${chainId(999)}`, details: { coalesced: true, chains: 2 } });
  });
});
