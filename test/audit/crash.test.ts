import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { randomBetween, runFixture, sigkill } from './support/child.js';
import { tempDbPath } from './support/records.js';

/** `<seq> <request_id>` lines the child printed after appendDurable resolved: the acknowledged records. */
function acknowledged(lines: string[]): { seq: number; requestId: string }[] {
  return lines.filter((l) => /^\d+ \S+$/.test(l)).map((l) => {
    const [seq, requestId] = l.split(' ');
    return { seq: Number(seq), requestId: requestId! };
  });
}

describe('crash safety (SIGKILL)', () => {
  it.each([['NORMAL', 'inline'], ['FULL', 'inline'], ['NORMAL', 'worker']] as const)('every record acknowledged before a SIGKILL is on disk exactly once, and the chain verifies (synchronous=%s, checkpoints %s)', async (synchronous, checkpoints) => {
    const dbPath = tempDbPath('edge-crash-');
    const printed: { seq: number; requestId: string }[] = [];
    const rounds = synchronous === 'NORMAL' ? 6 : 3;
    for (let round = 0; round < rounds; round++) {
      const child = runFixture('append-worker.mjs', [dbPath, `run${round}`, '16', synchronous, checkpoints]);
      await child.waitForLine((l) => l === 'ready');
      await child.waitForLine((l) => /^\d+ /.test(l));
      await new Promise((resolve) => setTimeout(resolve, randomBetween(20, 250)));
      await sigkill(child);
      expect(child.child.signalCode).toBe('SIGKILL');
      const acked = acknowledged(child.lines);
      expect(acked.length).toBeGreaterThan(0);
      printed.push(...acked);
    }

    const db = new Database(dbPath, { readonly: true });
    const rows = db.prepare('SELECT seq, json_extract(record_json, \'$.request_id\') AS request_id FROM audit_records ORDER BY seq').all() as { seq: number; request_id: string }[];
    db.close();
    const bySeq = new Map(rows.map((r) => [r.seq, r.request_id]));
    for (const { seq, requestId } of printed) expect(bySeq.get(seq), `seq ${seq} (${requestId}) was acknowledged but is missing`).toBe(requestId);
    const requestIds = rows.map((r) => r.request_id);
    expect(new Set(requestIds).size).toBe(requestIds.length); // nothing written twice
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1)); // no holes across restarts
    expect(runAuditVerifyCommand({ dbPath }).stdout).toMatch(/^audit chain OK/);
  });
});
