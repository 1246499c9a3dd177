import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse, AuditChainEvent } from '../../src/control/protocol/audit-chain-events.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { MAX_LISTED_CHAINS } from '../../src/control/server/new-chain-comparison.js';
import { NEW_CHAIN_LIMITS } from '../../src/control/server/new-chain-rate.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { storedAtServer } from '../audit/support/chain-gap.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { countingStore } from './support/counting-store.js';
import { ADA_KEY, startControlFixture, testLogger, type ControlFixture } from './support/control-fixture.js';

/**
 * A device's new audit chains, however many it starts: each new chain's event named every other chain of
 * the device (its size, and the table's, grew with the square of their number), the comparison read each
 * chain with its own query, and nothing stopped a device from starting chains in a loop. Now the event names
 * a few chains and counts the rest, the hashes of all chains come in one query, and a device starting too
 * many chains in an hour gets 429 with Retry-After (its records stay queued on it).
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const hourly = NEW_CHAIN_LIMITS.find((limit) => limit.per === 'per hour')!;

function chainId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

async function events(f: ControlFixture): Promise<AuditChainEvent[]> {
  return ((await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?limit=1000`)).json as AdminAuditChainEventsResponse).events;
}

describe('new audit chains of one device', () => {
  it('are described by a bounded event: the first chains it conflicts with, and how many more', async () => {
    const calls = new Map<string, number>();
    fixture = await startControlFixture({ store: (config) => countingStore(new SqliteControlStore(config.storage!.sqlite_path!), calls) });
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop' } });
    // As many chains from seq 1 as one hour allows, each with other records: each one conflicts with all before it.
    for (let n = 0; n < hourly.max; n++) {
      calls.clear();
      const batch = buildAuditBatch(chainedRecords(1, 2, GENESIS_HASH, device.device_id, `c${n}`), { chainId: chainId(n), fromSeq: 1 });
      expect((await postAuditBatch(f.server.url, device.device_credential, batch)).status).toBe(200);
      // One read of the hashes however many chains the device holds (it was one per chain); none for the first.
      expect([...calls].filter(([method]) => method.startsWith('auditHash')).reduce((sum, [, count]) => sum + count, 0)).toBe(Math.min(n, 1));
    }

    const last = (await events(f)).at(-1)!;
    const others = hourly.max - 1;
    expect(last.kind).toBe('fork');
    expect(last.details).toMatchObject({ chains_compared: others, differs_from_count: others });
    expect(last.details['differs_from']).toHaveLength(MAX_LISTED_CHAINS);
    expect(last.message).toContain(`, and with ${others - MAX_LISTED_CHAINS} more of its chains (its audit database was replaced)`);
    expect(last.message).toContain(`and ${others - MAX_LISTED_CHAINS} more chains it differs from`);
    // Not one clause per chain: the chains left out are not named.
    const named = (text: string) => Array.from({ length: hourly.max }, (_, n) => chainId(n)).filter((id) => text.includes(id)).length;
    expect(named(last.message)).toBeLessThanOrEqual(2 * MAX_LISTED_CHAINS);
    expect(named(JSON.stringify(last.details))).toBeLessThanOrEqual(MAX_LISTED_CHAINS + 1);
  });

  it('are refused with 429 and Retry-After beyond the hourly limit, and taken once the hour has passed', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'looping' } });
    const upload = (n: number) => postAuditBatch(f.server.url, device.device_credential,
      buildAuditBatch(chainedRecords(1, 1, GENESIS_HASH, device.device_id, `c${n}`), { chainId: chainId(n), fromSeq: 1 }));
    for (let n = 0; n < hourly.max; n++) expect((await upload(n)).status).toBe(200);

    const refused = await upload(hourly.max);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(hourly.windowMs / 1000 - 120);
    expect(retryAfter).toBeLessThanOrEqual(hourly.windowMs / 1000);
    expect(refused.body).toMatchObject({
      error: { type: 'audit_new_chains_limited', message: expect.stringMatching(new RegExp(`started ${hourly.max} new audit chains in the last hour.*Its records stay queued on it; retry after \\d+ s`)) },
    });
    // The same upload again, still refused: a retry is not counted as another chain.
    expect((await upload(hourly.max)).status).toBe(429);
    expect((await storedAtServer(f)).filter((r) => r.device_id.endsWith(chainId(hourly.max)))).toEqual([]);
    expect(await events(f)).toHaveLength(hourly.max);

    // The device retries after Retry-After: an hour later the chain is taken.
    await f.server.close();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: testLogger(), now: () => new Date(Date.now() + hourly.windowMs + 1000) });
    expect((await upload(hourly.max)).status).toBe(200);
    expect((await storedAtServer(f)).filter((r) => r.device_id.endsWith(chainId(hourly.max))).map((r) => r.seq)).toEqual([1]);
  });
});
