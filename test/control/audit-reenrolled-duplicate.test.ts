import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { ChainedAuditRecord } from '../../src/control/protocol/audit.js';
import { storedAtServer } from '../audit/support/chain-gap.js';
import { batchFor, chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * A device that enrolled again before the ack of its last upload reached it sends that batch again under
 * its new device id. Edge Control holds those records (same hashes) under the earlier enrollment: it
 * acknowledges the batch as a duplicate and stores nothing twice, instead of refusing it as a chain it
 * holds nothing of (which made the device upload it again as a new chain).
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const INSTALLATION = 'inst-dup';

describe('a re-enrolled device resending records its earlier enrollment uploaded', () => {
  it('gets them acknowledged as duplicates, and a batch going on past them the earlier chain\'s head', async () => {
    fixture = await startControlFixture();
    const url = fixture.server.url;
    const enroll = () => postEnrollment(url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: INSTALLATION } });
    const first = await enroll();
    const records = chainedRecords(1, 12, GENESIS_HASH, INSTALLATION, 'r');
    expect((await postAuditBatch(url, first.device_credential, batchFor(first.device_id, records.slice(0, 10)))).status).toBe(200);

    const second = await enroll();
    const post = (slice: ChainedAuditRecord[]) => postAuditBatch(url, second.device_credential, batchFor(second.device_id, slice));
    for (const slice of [records.slice(0, 10), records.slice(5, 10)]) {
      const answer = await post(slice);
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 200,
        body: { batch_id: `${second.device_id}:${slice[0]!.seq}-${slice.at(-1)!.seq}`, stored: 0, duplicate: true, chain_head: records[9]!.hash },
      });
    }

    // Seq 8-12: 8-10 held, the rest new. The 409 names the earlier chain's head, so the device counts
    // 8-10 as acknowledged and sends 11-12, which continue that chain.
    const overlapping = await post(records.slice(7, 12));
    expect(overlapping.status).toBe(409);
    expect((overlapping.body as { error: { chain_head: unknown } }).error.chain_head).toEqual({ seq: 10, hash: records[9]!.hash });
    expect(await post(records.slice(10, 12))).toMatchObject({ status: 200, body: { stored: 2, duplicate: false } });

    const stored = await storedAtServer(fixture);
    expect(stored.map((r) => `${r.device_id === first.device_id ? 'first' : 'second'}:${r.seq}`))
      .toEqual([...Array.from({ length: 10 }, (_, i) => `first:${i + 1}`), 'second:11', 'second:12']);
  });
});
