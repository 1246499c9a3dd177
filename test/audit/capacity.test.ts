import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { nextLevel, type CapacityLimits } from '../../src/audit/capacity.js';
import { AuditQueueFullError, type AuditQueueStatus } from '../../src/audit/errors.js';
import { AuditOutbox, type AuditOutboxOptions } from '../../src/audit/outbox.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { sampleRecord, tempDbPath } from './support/records.js';

const open: AuditOutbox[] = [];
function outbox(options: AuditOutboxOptions): AuditOutbox {
  const o = new AuditOutbox(options);
  open.push(o);
  return o;
}
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function storedSeqs(dbPath: string): number[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT seq FROM audit_records ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
  } finally {
    db.close();
  }
}

function checkpoint(dbPath: string): { pruned_through_seq: number; pruned_head_hash: string } {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT pruned_through_seq, pruned_head_hash FROM chain_checkpoint').get() as { pruned_through_seq: number; pruned_head_hash: string };
  } finally {
    db.close();
  }
}

function recordEvents(o: AuditOutbox): string[] {
  const events: string[] = [];
  o.on('queue_near_cap', (s) => events.push(`near_cap@${s.unsentRecords}`));
  o.on('queue_full', (s) => events.push(`full@${s.unsentRecords}`));
  o.on('queue_ok', (s) => events.push(`ok@${s.unsentRecords}`));
  return events;
}

describe('audit queue cap', () => {
  it('warns near the cap, refuses at the cap with audit_queue_full, and clears once drained', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath, maxRecords: 10, maxBytes: null });
    const events = recordEvents(o);
    for (let i = 1; i <= 7; i++) await o.appendDurable(sampleRecord(i));
    expect(events).toEqual([]);
    await o.appendDurable(sampleRecord(8));
    expect(events).toEqual(['near_cap@8']);
    expect(o.status().level).toBe('near_cap');
    await o.appendDurable(sampleRecord(9));
    await o.appendDurable(sampleRecord(10));
    expect(events).toEqual(['near_cap@8', 'full@10']);

    let refused: unknown;
    try {
      o.append(sampleRecord(11));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(AuditQueueFullError);
    expect(refused).toMatchObject({ code: 'audit_queue_full', status: { unsentRecords: 10, maxRecords: 10, level: 'full' } });
    expect((refused as Error).message).toMatch(/reach Edge Control/);
    await expect(o.appendDurable(sampleRecord(12))).rejects.toMatchObject({ code: 'audit_queue_full' });
    expect(events.filter((e) => e.startsWith('full'))).toHaveLength(1); // once per episode
    expect(storedSeqs(dbPath)).toHaveLength(10); // nothing unsent was dropped to make room

    o.markSent(6);
    expect(events.at(-1)).toBe('ok@4');
    expect(o.status().level).toBe('ok');
  });

  it('prunes the oldest sent records first, never unsent ones, and the chain still verifies', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath, maxRecords: 10, maxBytes: null });
    for (let i = 1; i <= 10; i++) await o.appendDurable(sampleRecord(i));
    o.markSent(5);
    const fifthHash = o.pending(1)[0]!.prev_hash; // prev of seq 6 = hash of seq 5

    for (let i = 11; i <= 15; i++) await o.appendDurable(sampleRecord(i));
    const seqs = storedSeqs(dbPath);
    expect(seqs.length).toBeLessThanOrEqual(10);
    expect(seqs).toEqual(expect.arrayContaining([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
    expect(seqs[0]).toBeGreaterThan(1);
    const cp = checkpoint(dbPath);
    expect(cp.pruned_through_seq).toBe(seqs[0]! - 1);
    if (cp.pruned_through_seq === 5) expect(cp.pruned_head_hash).toBe(fifthHash);
    o.close();

    const verify = runAuditVerifyCommand({ dbPath, json: true });
    expect(verify.exitCode).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, prunedThroughSeq: cp.pruned_through_seq, lastSeq: 15 });
  });

  it('caps by bytes as well as rows', async () => {
    const dbPath = tempDbPath();
    const o = outbox({ path: dbPath, maxBytes: 4000, maxRecords: null });
    let accepted = 0;
    for (let i = 1; i <= 100; i++) {
      try {
        await o.appendDurable(sampleRecord(i));
        accepted += 1;
      } catch (error) {
        expect(error).toMatchObject({ code: 'audit_queue_full' });
        break;
      }
    }
    expect(accepted).toBeGreaterThan(3);
    expect(accepted).toBeLessThan(20);
    expect(o.status().unsentBytes).toBeLessThanOrEqual(4000);
  });

  it('with no destinations keeps a rolling window, even down to an empty table, and the chain continues', async () => {
    const dbPath = tempDbPath();
    const rolling = outbox({ path: dbPath, maxRecords: 5, maxBytes: null, destinations: [] });
    for (let i = 1; i <= 12; i++) await rolling.appendDurable(sampleRecord(i));
    expect(storedSeqs(dbPath).at(-1)).toBe(12);
    expect(storedSeqs(dbPath).length).toBeLessThanOrEqual(5);
    rolling.close();
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);

    const tiny = tempDbPath();
    const empty = outbox({ path: tiny, maxRecords: 1, maxBytes: null, destinations: [] });
    await empty.appendDurable(sampleRecord(1));
    const last = await empty.appendDurable(sampleRecord(2));
    expect(storedSeqs(tiny)).toEqual([]); // over the cap: pruned down to 90% of 1 row, i.e. nothing but the checkpoint
    expect(checkpoint(tiny)).toEqual({ pruned_through_seq: 2, pruned_head_hash: last.hash });
    empty.close();
    const reopened = outbox({ path: tiny, maxRecords: 1, maxBytes: null, destinations: [] });
    expect(reopened.head()).toEqual({ seq: 2, hash: last.hash });
    expect((await reopened.appendDurable(sampleRecord(3))).seq).toBe(3);
    reopened.close();
    expect(runAuditVerifyCommand({ dbPath: tiny }).exitCode).toBe(0);
  });

  it('rejects a nonsensical cap with a clear error', () => {
    expect(() => new AuditOutbox({ path: tempDbPath(), maxRecords: 0 })).toThrow(/positive integer/);
  });
});

describe('nextLevel', () => {
  const limits: CapacityLimits = { maxRecords: 100, maxBytes: null, nearCapRatio: 0.8 };
  const cases: [AuditQueueStatus['level'], number, boolean, AuditQueueStatus['level']][] = [
    ['ok', 0.5, false, 'ok'],
    ['ok', 0.8, false, 'near_cap'],
    ['ok', 1, false, 'full'],
    ['ok', 0.3, true, 'full'],
    ['near_cap', 0.77, false, 'near_cap'], // hysteresis: no flapping just under the threshold
    ['near_cap', 0.74, false, 'ok'],
    ['full', 0.97, false, 'full'],
    ['full', 0.9, false, 'near_cap'],
    ['full', 0.2, false, 'ok'],
  ];
  it.each(cases)('%s at %d (refused=%s) → %s', (previous, ratio, refused, expected) => {
    expect(nextLevel(previous, ratio, limits, refused)).toBe(expected);
  });
});
