import { describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { chainHash, GENESIS_HASH, recordJson } from '../../src/audit/chain.js';
import { AuditRecordSchema, type ChainedAuditRecord } from '../../src/control/protocol/audit.js';
import { checkBatchIntegrity, decideAuditAppend } from '../../src/control/server/audit-chain-check.js';

/**
 * Where Edge Control lets a device's further chain (chain_id) begin when it holds nothing of it: at
 * seq 1 from the genesis hash, or at the seq the batch declares (chain_start_seq: the device no longer
 * holds what came before). Anywhere else is a gap, so that a chain whose start a restore of the
 * server lost is sent again from its start instead of being stored with a hole.
 */
const CHAIN = '0123456789abcdef0123456789abcdef';

function chained(fromSeq: number, count: number, prevHash = 'ab'.repeat(32)): ChainedAuditRecord[] {
  const out: ChainedAuditRecord[] = [];
  let prev = prevHash;
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    const record = AuditRecordSchema.parse({ request_id: `r-${seq}`, ts: '2025-01-01T12:00:00.000Z', device_id: 'dev-1', app: 'curl', host: 'api.openai.com', decision: 'allowed', latency_ms: 1 });
    const hash = chainHash(prev, recordJson(record));
    out.push({ seq, record, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

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
