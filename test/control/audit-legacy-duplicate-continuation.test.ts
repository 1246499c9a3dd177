import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AdminAuditChainEventsResponse } from '../../src/control/protocol/audit-chain-events.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { batchFor, chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * The previous release stored a clone's copy of records it shared with the original (batches of 8: seq 9-10
 * again, under the clone's chain). The lookup by hash took the latest stored copy of the record a batch links
 * to, so the original's own continuation from its head was answered 409 as a fork of the clone's chain. Every
 * chain holding that record is looked at now, and the one whose head it is wins.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('a re-enrolled original going on from its head, when a clone\'s legacy chain holds a copy of that head', () => {
  it('continues its own chain (200, enrollment_continued), not a fork of the clone\'s', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    await f.server.backgroundWorkDone();
    const enroll = (hostname: string) => postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname, installation_id: 'inst-l' } });
    const original = await enroll('orig');
    const base = chainedRecords(1, 10, GENESIS_HASH, 'inst-l', 'o');
    expect((await postAuditBatch(f.server.url, original.device_credential, batchFor(original.device_id, base))).status).toBe(200);
    const clone = await enroll('clone');
    // What the previous release left for the clone: seq 9-10 as the original's, 11-16 its own, stored after the original's.
    const db = new Database(f.config.storage!.sqlite_path!);
    const insert = db.prepare('INSERT INTO audit_records (device_id, batch_id, seq, prev_hash, hash, record_json, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const r of [...base.slice(8), ...chainedRecords(11, 6, base[9]!.hash, 'inst-l', 'c')]) {
      insert.run(`${clone.device_id}/chain-${'a'.repeat(32)}`, 'legacy', r.seq, r.prev_hash, r.hash, JSON.stringify(r.record), new Date().toISOString());
    }
    db.close();

    const again = await enroll('orig');
    const answer = await postAuditBatch(f.server.url, again.device_credential, batchFor(again.device_id, chainedRecords(11, 5, base[9]!.hash, 'inst-l', 'o')));
    expect(answer.status).toBe(200);
    const events = ((await f.admin('GET', `${EdgeControlPaths.adminAuditChainEvents}?device_id=${again.device_id}`)).json as AdminAuditChainEventsResponse).events;
    expect(events).toMatchObject([{ kind: 'enrollment_continued', details: { continues: original.device_id } }]);
  });
});
