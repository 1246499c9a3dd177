import { afterEach, describe, expect, it } from 'vitest';
import { openAuditDatabaseReadOnly } from '../../src/audit/database.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from '../control/support/control-fixture.js';
import { randomBetween, runFixture, sigkill, type RunningChild } from './support/child.js';
import { tempDbPath } from './support/records.js';
import { restartControl, storedAtServer, until } from './support/chain-gap.js';

/**
 * Edge Control restored from a backup older than records the device has uploaded and pruned since: the
 * device starts a new chain from the oldest record it still stores. The agent (agent-worker.mjs, under
 * load, a small cap so pruning runs all the time) is SIGKILLed at random moments around that switch,
 * Edge Control restored to the same old backup before every round, so every round starts with it.
 * Whatever the moment, nothing answered after the start of the chain is lost and nothing is stored twice.
 */
let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** What the device's audit database says now: pruned through, and its Edge Control cursor. */
function deviceState(dbPath: string): { prunedThrough: number; sentThrough: number } {
  const db = openAuditDatabaseReadOnly(dbPath);
  try {
    const prunedThrough = (db.prepare('SELECT pruned_through_seq AS seq FROM chain_checkpoint WHERE id = 1').get() as { seq: number }).seq;
    const sentThrough = (db.prepare("SELECT sent_through_seq AS seq FROM ship_cursors WHERE destination = 'control'").get() as { seq: number }).seq;
    return { prunedThrough, sentThrough };
  } finally {
    db.close();
  }
}

describe('agent SIGKILLed while it starts a new chain after Edge Control lost records it has pruned', () => {
  it('loses nothing from the new chain on and stores nothing twice', async () => {
    fixture = await startControlFixture();
    const f = fixture;
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'pruned-crash' } });
    const id = device.device_id;
    const dbPath = tempDbPath('edge-pruned-gap-crash-');
    const options = (round: number, drain = false) =>
      JSON.stringify({ dbPath, runId: `run${round}`, controlUrl: f.server.url, credential: device.device_credential, deviceId: id, maxRecords: 150, batchSize: 40, drain });
    const answered: { seq: number; requestId: string }[] = [];
    const kill = async (child: RunningChild) => {
      await sigkill(child);
      for (const line of child.lines) {
        const [seq, requestId] = line.split(' ');
        if (requestId !== undefined && /^\d+$/.test(seq!)) answered.push({ seq: Number(seq), requestId });
      }
    };
    const firstChainAtServer = async () => (await storedAtServer(f)).filter((r) => r.device_id === id);

    // The backup: taken once the server holds the device's first hundred records or so.
    const first = runFixture('agent-worker.mjs', [options(0)]);
    await first.waitForLine((l) => l === 'ready');
    await until(async () => (await firstChainAtServer()).length > 100, 'a hundred records at Edge Control', 30_000);
    await kill(first);
    await restartControl(f, 'back up');
    const backup = (await firstChainAtServer()).map((r) => r.seq);
    const backupHead = backup.at(-1)!;

    // Uploaded (and acknowledged, so pruned here at the cap) far beyond the backup.
    const second = runFixture('agent-worker.mjs', [options(1)]);
    await until(async () => (await firstChainAtServer()).length > backupHead + 400, 'records far beyond the backup at Edge Control', 60_000);
    await kill(second);
    expect(deviceState(dbPath).prunedThrough).toBeGreaterThan(backupHead);

    for (let round = 2; round <= 7; round++) {
      // Edge Control restored to the old backup: what the device pruned since is gone everywhere.
      await restartControl(f, 'restore');
      const child = runFixture('agent-worker.mjs', [options(round)]);
      await child.waitForLine((l) => /^\d+ /.test(l));
      await new Promise((resolve) => setTimeout(resolve, randomBetween(10, 400)));
      await kill(child);
    }

    await restartControl(f, 'restore');
    const atLastRestore = deviceState(dbPath);
    const drain = runFixture('agent-worker.mjs', [options(99, true)]);
    await drain.waitForLine((l) => l === 'drained', 60_000);
    await drain.exited;

    const stored = await storedAtServer(f);
    // The first chain exactly as the backup holds it…
    expect(stored.filter((r) => r.device_id === id).map((r) => r.seq)).toEqual(backup);
    // …and one new chain beside it, each seq once and consecutive, from the oldest record the device
    // still stored (not behind what it had pruned, not after what it had uploaded) to its last one.
    const further = stored.filter((r) => r.device_id !== id);
    expect(new Set(further.map((r) => r.device_id)).size).toBe(1);
    expect(further[0]!.device_id).toMatch(new RegExp(`^${id}/chain-[0-9a-f]{32}$`));
    const seqs = further.map((r) => r.seq);
    const start = seqs[0]!;
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => start + i));
    expect(start).toBeGreaterThan(backupHead + 1);
    expect(start).toBeGreaterThan(atLastRestore.prunedThrough);
    expect(start).toBeLessThanOrEqual(atLastRestore.sentThrough + 1);
    // Every request answered from there on is at Edge Control with its own record.
    const atServer = new Map(further.map((r) => [r.seq, r.record.request_id]));
    const since = answered.filter((a) => a.seq >= start);
    expect(since.length).toBeGreaterThan(50);
    for (const { seq, requestId } of since) expect(atServer.get(seq), `answered request ${requestId} (seq ${seq}) missing at Edge Control`).toBe(requestId);
    const requestIds = stored.map((r) => r.record.request_id);
    expect(new Set(requestIds).size).toBe(requestIds.length);
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  }, 180_000);
});
