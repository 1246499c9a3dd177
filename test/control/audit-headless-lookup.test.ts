import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { batchFor, chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { countingStore } from './support/counting-store.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * A batch the server holds no chain for (a re-enrolled device's, under its new id) was checked against every
 * chain of every earlier enrollment of its installation by listing them (a GROUP BY over all their records,
 * synchronous: a million-record chain blocked the server for a third of a second, once per batch). Now it is
 * looked up by its first record's hash (and the hash it links to), through an index on the hash that is added
 * without raising the schema version, so the previous release still opens the file.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const INSTALLATION = 'inst-backlog';

describe('a batch for a chain the server holds nothing of', () => {
  it('is looked up by hash: a re-enrolled device resending its backlog lists no chain', async () => {
    const calls = new Map<string, number>();
    fixture = await startControlFixture({ store: (config) => countingStore(new SqliteControlStore(config.storage!.sqlite_path!), calls) });
    const url = fixture.server.url;
    // The index is built after the server listens (audit-hash-lookup-build.test.ts covers the time before).
    await fixture.server.backgroundWorkDone();
    const enroll = () => postEnrollment(url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'laptop', installation_id: INSTALLATION } });
    const first = await enroll();
    const records = chainedRecords(1, 100, GENESIS_HASH, INSTALLATION, 'r');
    expect((await postAuditBatch(url, first.device_credential, batchFor(first.device_id, records))).status).toBe(200);

    const second = await enroll();
    calls.clear();
    for (let i = 0; i < 10; i++) {
      const answer = await postAuditBatch(url, second.device_credential, batchFor(second.device_id, records.slice(i * 10, i * 10 + 10)));
      expect(answer.body).toMatchObject({ duplicate: true, chain_head: records[99]!.hash });
    }
    // One hash lookup per batch (its first record is held), no listing of chains (each a pass over their records before).
    expect({ auditChains: calls.get('auditChains') ?? 0, auditRecordsWithHash: calls.get('auditRecordsWithHash') ?? 0 }).toEqual({ auditChains: 0, auditRecordsWithHash: 10 });
  });

});
