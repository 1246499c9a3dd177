import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse } from '../../src/control/protocol/audit-chain-events.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { NEW_CHAIN_LIMITS } from '../../src/control/server/new-chain-rate.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * A device's chains beyond its new-chain limit are counted in one coalesced event. Its count was rewritten in
 * place: an admin (or a SIEM) reading the events page by page with `after` had read it at "1 more" and never saw
 * it change. Each count is now stored as the event again, under a new id after every other, naming the one it
 * replaces: the next page holds it.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const hourly = NEW_CHAIN_LIMITS.find((limit) => limit.per === 'per hour')!;
const chainId = (n: number) => n.toString(16).padStart(32, '0');

describe('a coalesced new-chain event counting one more chain', () => {
  it('reaches an admin paging with `after`: it comes again after the cursor, with its new count and the event it replaces', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'vdi-pool-02' } });
    const snapshot = chainedRecords(1, 5, GENESIS_HASH, device.device_id, 'image');
    expect((await postAuditBatch(f.server.url, device.device_credential, buildAuditBatch(snapshot))).status).toBe(200);
    const session = (n: number) => postAuditBatch(f.server.url, device.device_credential,
      buildAuditBatch(chainedRecords(6, 3, snapshot[4]!.hash, device.device_id, `session${n}`), { chainId: chainId(n), fromSeq: 6 }));
    // The hour's compared chains, then the first beyond the limit: it opens the coalesced event.
    for (let n = 0; n <= hourly.max; n++) expect((await session(n)).status).toBe(200);

    let after = 0;
    const page = async () => {
      const body = (await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?after=${after}&limit=1000`)).json as AdminAuditChainEventsResponse;
      after = body.events.at(-1)?.id ?? after;
      return body.events;
    };
    const read = await page();
    const opened = read.at(-1)!;
    expect(read).toHaveLength(hourly.max + 1);
    expect(opened.details).toMatchObject({ coalesced: true, chains: 1 });

    // One more chain beyond the limit: the pager's next page holds the event again, counting two, kept as it opened.
    expect((await session(hourly.max + 1)).status).toBe(200);
    const next = await page();
    expect(next).toHaveLength(1);
    expect(next[0]!.id).toBeGreaterThan(opened.id);
    expect(next[0]).toMatchObject({
      kind: 'new_chain', chain: opened.chain, starts_at_seq: opened.starts_at_seq, batch_id: opened.batch_id, created_at: opened.created_at,
      details: { coalesced: true, chains: 2, since: opened.created_at, replaces: opened.id, latest_chain: `${device.device_id}/chain-${chainId(hourly.max + 1)}` },
    });
    expect(next[0]!.message).toMatch(/^2 more new audit chains from device /);

    // Once: the whole list holds the replacement, not the event it replaces.
    const all = ((await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?limit=1000`)).json as AdminAuditChainEventsResponse).events;
    expect(all.map((e) => e.id)).not.toContain(opened.id);
    expect(all.filter((e) => e.details['coalesced'] === true)).toEqual([next[0]]);
  });
});
