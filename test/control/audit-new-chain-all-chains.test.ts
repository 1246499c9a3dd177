import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, captureLogger, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * A device holding several chains here (its first; one from a replaced audit database; …): the log of a
 * further new chain compares it with every one of them, so it names each chain holding other records
 * under its seqs, and never calls seqs "not held" that another chain of the device holds.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('the log of a device\'s new audit chain', () => {
  it('compares it with every chain held for the device: held by chain X, differs from chain Y at seq N', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'many-chains' } });
    await f.server.close();
    const serverLog = captureLogger();
    f.server = await startControlServer({ ...f.config, listen: { port: f.server.port } }, { log: serverLog.log });
    const id = device.device_id;
    const upload = async (batch: Parameters<typeof postAuditBatch>[2]) => (await postAuditBatch(f.server.url, device.device_credential, batch)).status;
    const started = (seq: number, chainId: string) => {
      const lines = serverLog.lines.filter((l) => l.includes(`device started a new audit chain at seq ${seq}`) && l.includes(`"chain_id":"${chainId}"`));
      expect(lines).toHaveLength(1);
      return lines[0]!;
    };
    const [replaced, resumed, again] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)];

    expect(await upload(buildAuditBatch(chainedRecords(1, 20, GENESIS_HASH, id, 'first')))).toBe(200);
    const replacement = chainedRecords(1, 3, GENESIS_HASH, id, 'replaced');
    expect(await upload(buildAuditBatch(replacement, { chainId: replaced, fromSeq: 1 }))).toBe(200);

    // From seq 15, linked to nothing held here: the first chain holds other records for seq 15-20, and
    // seq 1-14 are held (by the first chain), not "not held" as the most recent chain (ending at 3) suggests.
    expect(await upload(buildAuditBatch(chainedRecords(15, 3, 'cd'.repeat(32), id, 'resumed'), { chainId: resumed, fromSeq: 15 }))).toBe(200);
    const fromFifteen = started(15, resumed);
    expect(fromFifteen).toContain(`conflicts with its earlier chain ${id}: this server holds other records for seq 15-20 there`);
    expect(fromFifteen).toContain(`seq 1-3 held by chain ${id}/chain-${replaced}; seq 1-14 held by chain ${id}; differs from chain ${id} at seq 15`);
    expect(fromFifteen).toContain(`"earlier_chain":"${id}"`);
    expect(fromFifteen).not.toContain('not held here');

    // From seq 1 again, with the replacement's records 1-3 as sent, then others: held by the replacement
    // chain, differing from the first chain at seq 1 (the resumed chain starts after this batch).
    const second = chainedRecords(4, 2, replacement[2]!.hash, id, 'again');
    expect(await upload(buildAuditBatch([...replacement, ...second].map((r) => ({ ...r })), { chainId: again, fromSeq: 1 }))).toBe(200);
    const fromOne = started(1, again);
    expect(fromOne).toContain(`conflicts with its earlier chain ${id}: this server holds other records for seq 1-20 there`);
    expect(fromOne).toContain(`seq 1-3 held by chain ${id}/chain-${replaced} as sent; differs from chain ${id} at seq 1`);
    expect(fromOne).toContain(`"held_by":[{"chain":"${id}/chain-${replaced}","seqs":"1-3"}]`);
    expect(fromOne).not.toContain(`differs from chain ${id}/chain-${replaced}`);
  });
});
