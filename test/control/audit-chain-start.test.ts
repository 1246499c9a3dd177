import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH, recordJson } from '../../src/audit/chain.js';
import type { ChainedAuditRecord } from '../../src/control/protocol/audit.js';
import { checkBatchIntegrity, decideAuditAppend } from '../../src/control/server/audit-chain-check.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { AuditBatch } from '../../src/control/protocol/audit.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, captureLogger, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * Where Edge Control lets a device's further chain (chain_id) begin when it holds nothing of it: at
 * seq 1 from the genesis hash, or at the seq the batch declares (chain_start_seq: the device no longer
 * holds what came before). Anywhere else is a gap, so that a chain whose start a restore of the
 * server lost is sent again from its start instead of being stored with a hole.
 */
const CHAIN = '0123456789abcdef0123456789abcdef';

/** chainedRecords, by default linked to a hash this server never stored, on device dev-1. */
const chained = (fromSeq: number, count: number, prevHash = 'ab'.repeat(32), deviceId = 'dev-1', tag = 'r'): ChainedAuditRecord[] =>
  chainedRecords(fromSeq, count, prevHash, deviceId, tag);

function raw(records: ChainedAuditRecord[]): unknown[] {
  return records.map((r) => JSON.parse(recordJson(r.record)) as unknown);
}

describe('a further chain Edge Control holds nothing of', () => {
  const cases: { name: string; records: ChainedAuditRecord[]; fromSeq?: number; expected: string; message?: RegExp }[] = [
    { name: 'from seq 1 at the genesis hash', records: chained(1, 3, GENESIS_HASH), expected: 'new_chain' },
    { name: 'declared to start at seq 81, from seq 81', records: chained(81, 3), fromSeq: 81, expected: 'new_chain' },
    { name: 'from seq 81 without a declared start', records: chained(81, 3), expected: 'gap', message: /upload the chain from its start, seq 1/ },
    { name: 'declared to start at seq 81, from seq 91 (its start lost)', records: chained(91, 3), fromSeq: 81, expected: 'gap', message: /upload the chain from its start, seq 81/ },
  ];
  for (const { name, records, fromSeq, expected, message } of cases) {
    it(`${name}: ${expected}`, () => {
      const batch = buildAuditBatch(records, { chainId: CHAIN, fromSeq: fromSeq ?? 1 });
      expect(checkBatchIntegrity(batch, raw(records))).toEqual({ ok: true });
      const decision = decideAuditAppend(batch, undefined, undefined);
      expect(decision.kind).toBe(expected);
      if (decision.kind === 'new_chain') expect(decision.startSeq).toBe(fromSeq ?? 1);
      if (decision.kind === 'gap') expect(decision).toMatchObject({ head: { seq: 0, hash: GENESIS_HASH }, message: expect.stringMatching(message!) });
    });
  }

  it('a declared start needs a chain id and cannot lie after the batch', () => {
    const records = chained(81, 3);
    const withoutChain = { ...buildAuditBatch(records), chain_start_seq: 81 };
    expect(checkBatchIntegrity(withoutChain, raw(records))).toMatchObject({ ok: false, message: expect.stringMatching(/needs a chain_id/) });
    const after = { ...buildAuditBatch(records, { chainId: CHAIN, fromSeq: 81 }), chain_start_seq: 82 };
    expect(checkBatchIntegrity(after, raw(records))).toMatchObject({ ok: false });
  });
});

describe('a device starting a chain with a declared start, against the real Edge Control', () => {
  let fixture: ControlFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  /**
   * A device whose Edge Control was restored from an older backup starts a new chain from the oldest
   * record it still stores (chain_start_seq). That must only ever add a chain beside what the server
   * holds: no batch, however it declares its start, may replace records already stored.
   */
  it('stores it beside the chains it holds and refuses every batch that would replace a stored record', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'declared-start' } });
    const id = device.device_id;
    const post = async (batch: AuditBatch) => {
      const answer = await postAuditBatch(f.server.url, device.device_credential, batch);
      return { status: answer.status, body: answer.body as { error?: { type: string } } };
    };
    const stored = async () => {
      const body = (await f.admin('GET', '/api/edge/v1/admin/audit?limit=1000')).json as { records: { device_id: string; seq: number; record: { request_id: string } }[] };
      return body.records.map((r) => `${r.device_id === id ? 'first' : r.device_id.replace(`${id}/chain-`, '')}:${r.seq}:${r.record.request_id}`);
    };

    const first = chained(1, 20, GENESIS_HASH, id, 'first');
    expect((await post(buildAuditBatch(first))).status).toBe(200);
    // The new chain from seq 29 (seqs 21-28 gone everywhere), beside the first.
    const further = chained(29, 12, 'cd'.repeat(32), id, 'further');
    expect((await post(buildAuditBatch(further, { chainId: CHAIN, fromSeq: 29 }))).status).toBe(200);
    const before = await stored();
    expect(before).toHaveLength(32);

    const attempts: { name: string; batch: AuditBatch; status: number; type: string }[] = [
      // The same chain id and declared start, other records: a replacement of the stored start.
      { name: 'the stored further chain again from its start', batch: buildAuditBatch(chained(29, 12, 'cd'.repeat(32), id, 'forged'), { chainId: CHAIN, fromSeq: 29 }), status: 409, type: 'audit_chain_gap' },
      // Declaring a later start for a chain the server holds: it must continue, not restart.
      { name: 'the stored further chain "starting" again at seq 35', batch: buildAuditBatch(chained(35, 3, 'ef'.repeat(32), id, 'forged'), { chainId: CHAIN, fromSeq: 35 }), status: 409, type: 'audit_chain_gap' },
      // The first chain cannot be named by a chain id; a declared start needs one.
      { name: 'a declared start without a chain id over the first chain', batch: { ...buildAuditBatch(chained(5, 3, 'ab'.repeat(32), id, 'forged')), chain_start_seq: 5 }, status: 422, type: 'audit_batch_invalid' },
      { name: 'the first chain again from seq 5 with other records', batch: buildAuditBatch(chained(5, 3, first[3]!.hash, id, 'forged')), status: 409, type: 'audit_chain_gap' },
    ];
    for (const attempt of attempts) {
      const answer = await post(attempt.batch);
      expect({ name: attempt.name, status: answer.status, type: answer.body.error?.type }).toEqual({ name: attempt.name, status: attempt.status, type: attempt.type });
    }
    expect(await stored()).toEqual(before);
  });
  /**
   * A device with several chains here (its audit database replaced: a chain from seq 1; then records
   * pruned while it had no Edge Control configured: another from where it resumed): the log of each
   * new chain names the chain it follows and what lies between, not the device's first chain.
   */
  it('logs a new chain against the chain holding the record it links to, else the most recent one', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'several-chains' } });
    await f.server.close();
    const serverLog = captureLogger();
    f.server = await startControlServer({ ...f.config, listen: { port: f.server.port } }, { log: serverLog.log });
    const id = device.device_id;
    const post = async (batch: AuditBatch) => (await postAuditBatch(f.server.url, device.device_credential, batch)).status;
    const started = (seq: number) => {
      const lines = serverLog.lines.filter((l) => l.includes(`device started a new audit chain at seq ${seq}`));
      expect(lines).toHaveLength(1);
      return lines[0]!;
    };
    const [replaced, pruned, reverted] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)];

    expect(await post(buildAuditBatch(chained(1, 10, GENESIS_HASH, id, 'first')))).toBe(200);
    const replacement = chained(1, 20, GENESIS_HASH, id, 'replaced');
    expect(await post(buildAuditBatch(replacement, { chainId: replaced, fromSeq: 1 }))).toBe(200);
    expect(started(1)).toContain(`conflicts with its earlier chain ${id}: this server holds other records for seq 1-10 there (its audit database was replaced)`);

    // Pruned while unconfigured, resumed at seq 81: what is missing lies after the replacement chain's seq 20.
    expect(await post(buildAuditBatch(chained(81, 5, 'cd'.repeat(32), id, 'resumed'), { chainId: pruned, fromSeq: 81 }))).toBe(200);
    expect(started(81)).toContain("the device's records seq 21-80 are not held here");
    expect(started(81)).toContain(`"earlier_chain":"${id}/chain-${replaced}"`);

    // The replacement database reverted to its seq 15: it links to that chain (not the most recent one) and contradicts its seq 16-20.
    expect(await post(buildAuditBatch(chained(16, 3, replacement[14]!.hash, id, 'reverted'), { chainId: reverted, fromSeq: 16 }))).toBe(200);
    expect(started(16)).toContain(`conflicts with its earlier chain ${id}/chain-${replaced}: this server holds other records for seq 16-20 there`);
    expect(started(16)).toContain('Both hold the same records through seq 15 and part after it');
    expect(started(16)).toContain('"continues_earlier_chain":true');
  });
});
