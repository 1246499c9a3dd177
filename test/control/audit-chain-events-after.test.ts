import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse } from '../../src/control/protocol/audit-chain-events.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { coalescedNewChainEvent } from '../../src/control/server/new-chain-coalescing.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, tempDir } from './support/control-fixture.js';
import { fixturePerTest } from './support/fixture-per-test.js';
import { chainId, hourlyLimit } from './support/new-chain-limit.js';

/**
 * A device's chains beyond its new-chain limit are counted in one coalesced event. Its count was rewritten in
 * place: an admin (or a SIEM) reading the events page by page with `after` had read it at "1 more" and never saw
 * it change. Each count is now stored as the event again, under a new id after every other, naming the one it
 * replaces and the one that opened the stretch: the next page holds it. Two server instances on one file replacing
 * the same event: the second finds it gone and stores nothing, instead of a batch whose chain no event counts.
 */
const startFixture = fixturePerTest();

describe('a coalesced new-chain event counting one more chain', () => {
  it('reaches an admin paging with `after`: it comes again after the cursor, with its new count and the event it replaces', async () => {
    const f = await startFixture();
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'vdi-pool-02' } });
    const snapshot = chainedRecords(1, 5, GENESIS_HASH, device.device_id, 'image');
    expect((await postAuditBatch(f.server.url, device.device_credential, buildAuditBatch(snapshot))).status).toBe(200);
    const session = (n: number) => postAuditBatch(f.server.url, device.device_credential,
      buildAuditBatch(chainedRecords(6, 3, snapshot[4]!.hash, device.device_id, `session${n}`), { chainId: chainId(n), fromSeq: 6 }));
    // The hour's compared chains, then the first beyond the limit: it opens the coalesced event.
    for (let n = 0; n <= hourlyLimit.max; n++) expect((await session(n)).status).toBe(200);

    let after = 0;
    const page = async () => {
      const body = (await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?after=${after}&limit=1000`)).json as AdminAuditChainEventsResponse;
      after = body.events.at(-1)?.id ?? after;
      return body.events;
    };
    const read = await page();
    const opened = read.at(-1)!;
    expect(read).toHaveLength(hourlyLimit.max + 1);
    expect(opened.details).toMatchObject({ coalesced: true, chains: 1 });

    // One more chain beyond the limit: the pager's next page holds the event again, counting two, kept as it opened.
    expect((await session(hourlyLimit.max + 1)).status).toBe(200);
    const next = await page();
    expect(next).toHaveLength(1);
    expect(next[0]!.id).toBeGreaterThan(opened.id);
    expect(next[0]).toMatchObject({
      kind: 'new_chain', chain: opened.chain, starts_at_seq: opened.starts_at_seq, batch_id: opened.batch_id, created_at: opened.created_at,
      details: { coalesced: true, chains: 2, since: opened.created_at, replaces: opened.id, latest_chain: `${device.device_id}/chain-${chainId(hourlyLimit.max + 1)}` },
    });
    expect(next[0]!.message).toMatch(/^2 more new audit chains from device /);

    expect(next[0]!.details).toMatchObject({ first_id: opened.id });

    // A third: it replaces the second, and still names the event that opened the stretch (one identity across all).
    expect((await session(hourlyLimit.max + 2)).status).toBe(200);
    const third = await page();
    expect(third).toHaveLength(1);
    expect(third[0]!.details).toMatchObject({ chains: 3, replaces: next[0]!.id, first_id: opened.id });

    // Once: the whole list holds the latest replacement, not the events it replaces.
    const all = ((await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?limit=1000`)).json as AdminAuditChainEventsResponse).events;
    expect(all.map((e) => e.id)).not.toContain(opened.id);
    expect(all.map((e) => e.id)).not.toContain(next[0]!.id);
    expect(all.filter((e) => e.details['coalesced'] === true)).toEqual([third[0]]);
  });

  it('is not lost when two server instances on one file count a chain each: the one that finds it replaced meanwhile stores nothing, and counts again', async () => {
    const dir = await tempDir('chain-events-two');
    const file = path.join(dir, 'control.db');
    const a = new SqliteControlStore(file);
    const b = new SqliteControlStore(file);
    try {
      const device = 'dev_pool';
      const limit = hourlyLimit;
      const now = new Date().toISOString();
      const uncompared = (n: number) => {
        const chain = { device_id: device, chain: `${device}/chain-${chainId(n)}`, starts_at_seq: 1, batch_id: `b${n}` };
        const batch = { device_id: chain.chain, batch_id: chain.batch_id, digest: `d${n}`, first_seq: 1, last_seq: 1, chain_head: 'h'.repeat(64), stored: 1, received_at: now };
        const records = [{ seq: 1, prev_hash: GENESIS_HASH, hash: n.toString(16).padStart(64, '0'), record_json: '{}' }];
        return { chain, batch, records };
      };
      const count = async (store: SqliteControlStore, n: number) => {
        const { chain, batch, records } = uncompared(n);
        return store.insertAuditBatch(batch, records, coalescedNewChainEvent(await store.latestNewChainEvent(device), chain, limit, now));
      };
      expect(await count(a, 0)).toBe('inserted');

      // Both read the open event (one chain) before either stores its count of two.
      const seenByA = await a.latestNewChainEvent(device);
      const seenByB = await b.latestNewChainEvent(device);
      const first = uncompared(1);
      const second = uncompared(2);
      expect(await a.insertAuditBatch(first.batch, first.records, coalescedNewChainEvent(seenByA, first.chain, limit, now))).toBe('inserted');
      // The event B read is gone: B's batch is not stored with a count that leaves out A's chain (or with none).
      expect(await b.insertAuditBatch(second.batch, second.records, coalescedNewChainEvent(seenByB, second.chain, limit, now))).toBe('conflict');
      expect(await b.auditBatch(second.batch.device_id, second.batch.batch_id)).toBeUndefined();

      // Deciding again (as the audit route does on a conflict), B counts from the event as it is now.
      expect(await count(b, 2)).toBe('inserted');
      const events = await a.listAuditChainEvents({ after: 0, limit: 100 });
      expect(events).toHaveLength(1);
      expect(events[0]!.details).toMatchObject({ chains: 3, latest_chain: second.chain.chain });
    } finally {
      await a.close();
      await b.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
