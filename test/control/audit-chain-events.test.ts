import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { SqliteControlStore } from '../../src/control/server/sqlite-control-store.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { storedAtServer } from '../audit/support/chain-gap.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * A device's new chain (a fork here) was only a WARN log line, written after the batch was stored: a
 * server dying in between stored the chain and lost the only trace of why. The event is stored with the
 * batch, in the same transaction, so it survives that and an admin can list it.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** Stands in for the server dying as it writes the log line: nothing after the store happens. */
const diesAtWarn: Logger = { ...silentLogger, warn: () => { throw new Error('server died before its log line was written'); } };

describe('a device\'s new audit chain', () => {
  it('is recorded with the batch, so it survives the server dying before its log line, and is recorded once', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'fork' } });
    const id = device.device_id;
    await f.server.close();
    f.server = await startControlServer({ ...f.config, listen: { port: f.server.port } }, { log: diesAtWarn });
    const upload = (batch: Parameters<typeof postAuditBatch>[2]) => postAuditBatch(f.server.url, device.device_credential, batch);

    expect((await upload(buildAuditBatch(chainedRecords(1, 10, GENESIS_HASH, id, 'first')))).status).toBe(200);
    const chainId = '4'.repeat(32);
    const replaced = buildAuditBatch(chainedRecords(1, 5, GENESIS_HASH, id, 'replaced'), { chainId, fromSeq: 1 });
    expect((await upload(replaced)).status).not.toBe(200);
    await f.server.close();

    const readEvents = async () => {
      const store = new SqliteControlStore(f.config.storage!.sqlite_path!);
      try {
        return await store.listAuditChainEvents({ deviceId: id, after: 0, limit: 100 });
      } finally {
        await store.close();
      }
    };
    const events = await readEvents();
    expect(events.map((e) => ({ kind: e.kind, chain: e.chain, starts_at_seq: e.starts_at_seq, batch_id: e.batch_id }))).toEqual([
      { kind: 'fork', chain: `${id}/chain-${chainId}`, starts_at_seq: 1, batch_id: replaced.batch_id },
    ]);
    expect(events[0]!.message).toContain(`conflicts with its earlier chain ${id}: this server holds other records for seq 1-10 there`);
    expect(events[0]!.details).toMatchObject({ conflicting_seqs: '1-10', differs_from: [{ chain: id, at_seq: 1, conflicting_seqs: '1-10' }] });

    // The device, which got no ack, sends the batch again: a duplicate, and still one event.
    await f.restart({ listen: { port: f.server.port } });
    expect(await upload(replaced)).toMatchObject({ status: 200, body: { duplicate: true } });
    expect((await storedAtServer(f)).filter((r) => r.device_id === `${id}/chain-${chainId}`)).toHaveLength(5);
    await f.server.close();
    expect(await readEvents()).toHaveLength(1);
    await f.restart();
  });
});
