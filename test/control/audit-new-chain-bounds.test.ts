import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse, AuditChainEvent } from '../../src/control/protocol/audit-chain-events.js';
import { CONTROL_ERROR_TYPES } from '../../src/control/protocol/errors.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { MAX_LISTED_CHAINS } from '../../src/control/server/new-chain-comparison.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { storedAtServer } from '../audit/support/chain-gap.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { countingStore } from './support/counting-store.js';
import { ADA_KEY, testLogger, type ControlFixture } from './support/control-fixture.js';
import { fixturePerTest } from './support/fixture-per-test.js';
import { chainId, hourlyLimit } from './support/new-chain-limit.js';

/**
 * A device's new audit chains, however many it starts: each new chain's event named every other chain of
 * the device (its size, and the table's, grew with the square of their number), the comparison read each
 * chain with its own query, and nothing stopped a device from starting chains in a loop. Now the event names
 * a few chains and counts the rest, the hashes of all chains come in one query, and beyond 10 new chains an hour
 * (a pooled VM reverted at every logoff) they are stored without a comparison and counted in one event. They
 * were answered 429 for a while: a VM reverted again before the retry lost its queued records.
 */
const startFixture = fixturePerTest();

async function events(f: ControlFixture): Promise<AuditChainEvent[]> {
  return ((await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?limit=1000`)).json as AdminAuditChainEventsResponse).events;
}

describe('new audit chains of one device', () => {
  it('are described by a bounded event: the first chains it conflicts with, and how many more', async () => {
    const calls = new Map<string, number>();
    const f = await startFixture({ store: (config) => countingStore(new SqliteControlStore(config.storage!.sqlite_path!), calls) });
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop' } });
    // As many chains from seq 1 as one hour allows, each with other records: each one conflicts with all before it.
    for (let n = 0; n < hourlyLimit.max; n++) {
      calls.clear();
      const batch = buildAuditBatch(chainedRecords(1, 2, GENESIS_HASH, device.device_id, `c${n}`), { chainId: chainId(n), fromSeq: 1 });
      expect((await postAuditBatch(f.server.url, device.device_credential, batch)).status).toBe(200);
      // One read of the hashes however many chains the device holds (it was one per chain); none for the first.
      expect([...calls].filter(([method]) => method.startsWith('auditHash')).reduce((sum, [, count]) => sum + count, 0)).toBe(Math.min(n, 1));
    }

    const last = (await events(f)).at(-1)!;
    const others = hourlyLimit.max - 1;
    expect(last.kind).toBe('fork');
    expect(last.details).toMatchObject({ chains_compared: others, differs_from_count: others });
    expect(last.details['differs_from']).toHaveLength(MAX_LISTED_CHAINS);
    expect(last.message).toContain(`, and with ${others - MAX_LISTED_CHAINS} more of its chains (its audit database was replaced)`);
    expect(last.message).toContain(`and ${others - MAX_LISTED_CHAINS} more chains it differs from`);
    // Not one clause per chain: the chains left out are not named.
    const named = (text: string) => Array.from({ length: hourlyLimit.max }, (_, n) => chainId(n)).filter((id) => text.includes(id)).length;
    expect(named(last.message)).toBeLessThanOrEqual(2 * MAX_LISTED_CHAINS);
    expect(named(JSON.stringify(last.details))).toBeLessThanOrEqual(MAX_LISTED_CHAINS + 1);
  });

  it('beyond the hourly limit are stored all the same, not compared, and counted in one event; compared again an hour later', async () => {
    const calls = new Map<string, number>();
    const f = await startFixture({ store: (config) => countingStore(new SqliteControlStore(config.storage!.sqlite_path!), calls) });
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'vdi-pool-01' } });
    // A pooled VM reverted to its snapshot (seq 1-5) at every logoff: each session's records go on from seq 5 as a new chain.
    const snapshot = chainedRecords(1, 5, GENESIS_HASH, device.device_id, 'image');
    expect((await postAuditBatch(f.server.url, device.device_credential, buildAuditBatch(snapshot))).status).toBe(200);
    const session = (n: number) => postAuditBatch(f.server.url, device.device_credential,
      buildAuditBatch(chainedRecords(6, 3, snapshot[4]!.hash, device.device_id, `session${n}`), { chainId: chainId(n), fromSeq: 6 }));
    for (let n = 0; n < hourlyLimit.max; n++) expect((await session(n)).status).toBe(200);
    // The first goes on from the snapshot; each later one also forks the sessions before it.
    expect((await events(f)).map((e) => e.kind)).toEqual(['new_chain', ...Array(hourlyLimit.max - 1).fill('fork')]);

    // The 11th and 12th within the hour: stored (200, never a refusal that would make the VM lose its queue at the next revert), not compared.
    calls.clear();
    expect((await session(hourlyLimit.max)).status).toBe(200);
    expect((await session(hourlyLimit.max + 1)).status).toBe(200);
    expect([...calls.keys()].filter((method) => method === 'auditChains' || method.startsWith('auditHash'))).toEqual([]);
    for (const n of [hourlyLimit.max, hourlyLimit.max + 1]) {
      expect((await storedAtServer(f)).filter((r) => r.device_id.endsWith(chainId(n))).map((r) => r.seq)).toEqual([6, 7, 8]);
    }
    const afterLimit = (await events(f)).slice(hourlyLimit.max);
    expect(afterLimit).toHaveLength(1);
    expect(afterLimit[0]).toMatchObject({
      kind: 'new_chain',
      chain: `${device.device_id}/chain-${chainId(hourlyLimit.max)}`,
      details: { coalesced: true, chains: 2, limit: `${hourlyLimit.max} ${hourlyLimit.per}`, latest_chain: `${device.device_id}/chain-${chainId(hourlyLimit.max + 1)}` },
    });
    expect(afterLimit[0]!.message).toMatch(new RegExp(`^2 more new audit chains from device ${device.device_id} since \\S+, beyond the ${hourlyLimit.max} ${hourlyLimit.per}`));

    // An hour later the next one is compared again, and has its own event.
    await f.server.close();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: testLogger(), now: () => new Date(Date.now() + hourlyLimit.windowMs + 1000) });
    expect((await session(hourlyLimit.max + 2)).status).toBe(200);
    const latest = (await events(f)).at(-1)!;
    expect(latest).toMatchObject({ kind: 'fork', chain: `${device.device_id}/chain-${chainId(hourlyLimit.max + 2)}` });
    expect(latest.details['coalesced']).toBeUndefined();
  });

  it('are never refused for their number: no 429 on the upload in the OpenAPI document, no such error type', () => {
    const doc = JSON.parse(fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'edge-control-openapi.json'), 'utf8')) as {
      paths: Record<string, { post?: { responses: Record<string, unknown> } }>;
    };
    expect(Object.keys(doc.paths[EdgeControlPaths.auditBatches]!.post!.responses)).not.toContain('429');
    expect(CONTROL_ERROR_TYPES as readonly string[]).not.toContain('audit_new_chains_limited');
  });
});
