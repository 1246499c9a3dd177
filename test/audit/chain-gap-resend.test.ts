import { afterEach, describe, expect, it } from 'vitest';
import { HttpAuditSink } from '../../src/audit/http-sink.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { randomBetween, runFixture, sigkill, type RunningChild } from './support/child.js';
import { sampleRecord, tempDbPath } from './support/records.js';
import { until } from './support/chain-gap.js';

/**
 * Edge Control restored from a backup lacks records the device counted as acknowledged; the device sends
 * them again. While it does, they are unacknowledged again: pruning (the queue cap) must not take them, and
 * a SIGKILL at any moment must lose nothing and store nothing twice.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Each seq at the server once, 1..n in order. */
function expectWholeChainOnce(server: AuditControlServer): void {
  const counts = server.storedSeqCounts();
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: counts.size }, (_, i) => i + 1));
}

describe('records Edge Control lost, sent again', () => {
  it('are held against pruning while they go, though the cap is small enough that pruning runs meanwhile', async () => {
    const server = new AuditControlServer();
    server.reportsChainHead = true;
    await server.start();
    cleanups.push(() => server.stop());
    const outbox = new AuditOutbox({ path: tempDbPath(), maxRecords: 60 });
    // Written before the shipper starts: batches 1-8, 9-16, 17-24, …
    for (let i = 1; i <= 50; i++) await outbox.appendDurable(sampleRecord(i));
    const shipper = new AuditShipper({ outbox, sink: new HttpAuditSink({ controlUrl: server.url, credential: server.credential }), batchSize: 8, backoff: { baseMs: 50, maxMs: 100 } });
    const gaps: string[] = [];
    shipper.on('chain_gap', (_gap, error) => gaps.push(error.message));
    shipper.start();
    cleanups.push(async () => {
      await shipper.stop();
      outbox.close();
    });
    await until(() => outbox.depth() === 0, 'records 1-50 acknowledged', 15_000, 5);

    expect(server.restoreBackup('device-1', 24)).toBe(24);
    server.ackDelayMs = 300;
    for (let i = 51; i <= 52; i++) await outbox.appendDurable(sampleRecord(i));
    // The next upload meets the gap; the device starts sending 25 on.
    await until(() => server.stored.some((r) => r.seq === 25), 'the first record Edge Control lost sent again', 15_000, 5);

    // A burst while that batch is in flight: stored records pass the cap, so pruning runs.
    const burst = await Promise.allSettled(Array.from({ length: 60 }, (_, k) => outbox.appendDurable(sampleRecord(53 + k))));
    const accepted = burst.filter((r) => r.status === 'fulfilled').length;
    const refused = burst.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code?: string }).code] : []));
    server.ackDelayMs = 0;
    await until(() => outbox.depth() === 0 || gaps.length > 0, 'everything acknowledged, or the device giving up', 15_000, 5);
    expect(gaps).toEqual([]);
    // Records 25-52 count as unsent again: with them the cap holds 60 unsent records, so the rest wait.
    expect(refused.every((code) => code === 'audit_queue_full')).toBe(true);
    expect(accepted).toBe(60 - (52 - 24));

    const last = 52 + accepted;
    expectWholeChainOnce(server);
    expect(server.stored.map((r) => r.seq).at(-1)).toBe(last);
    expect(server.stored.map((r) => r.record.request_id)).toEqual(Array.from({ length: last }, (_, i) => `req-${i + 1}`));
    expect(outbox.status()).toMatchObject({ unsentRecords: 0, level: 'ok' });
  });
});

describe('AuditOutbox.rewindCursor', () => {
  it('counts the records after the new position as unsent again, raising the level, and refuses to go behind what was pruned', async () => {
    const outbox = new AuditOutbox({ path: tempDbPath(), maxRecords: 20, destinations: ['control'] });
    cleanups.push(() => outbox.close());
    for (let i = 1; i <= 20; i++) await outbox.appendDurable(sampleRecord(i));
    outbox.markSent(20);
    // Past the cap: the oldest acknowledged records are pruned, 1-6.
    for (let i = 21; i <= 26; i++) await outbox.appendDurable(sampleRecord(i));
    const events: string[] = [];
    outbox.on('queue_near_cap', () => events.push('queue_near_cap'));

    expect(() => outbox.rewindCursor(3)).toThrow(/pruned its records through seq 6, so they cannot be sent again/);
    expect(outbox.depth('control')).toBe(6);
    outbox.rewindCursor(9);
    expect(outbox.depth('control')).toBe(17);
    expect(outbox.status()).toMatchObject({ unsentRecords: 17, level: 'near_cap' });
    expect(events).toEqual(['queue_near_cap']);
    expect(outbox.nextShipment(5).map((r) => r.seq)).toEqual([10, 11, 12, 13, 14]);
    outbox.rewindCursor(12); // not behind the cursor: nothing changes
    expect(outbox.depth('control')).toBe(17);
  });
});

describe('agent SIGKILLed repeatedly while it sends again what a restored Edge Control lost', () => {
  it('every answered request ends up at the server exactly once', async () => {
    const server = new AuditControlServer();
    server.reportsChainHead = true;
    await server.start();
    cleanups.push(() => server.stop());
    const dbPath = tempDbPath('edge-gap-crash-');
    const batchSize = 40;
    const options = (round: number, drain = false) => JSON.stringify({ dbPath, runId: `run${round}`, controlUrl: server.url, credential: server.credential, batchSize, drain });
    const answered: { seq: number; requestId: string }[] = [];
    const kill = async (child: RunningChild) => {
      await sigkill(child);
      for (const line of child.lines) {
        const [seq, requestId] = line.split(' ');
        if (requestId !== undefined && /^\d+$/.test(seq!)) answered.push({ seq: Number(seq), requestId });
      }
    };

    const first = runFixture('agent-worker.mjs', [options(0)]);
    await first.waitForLine((l) => l === 'ready');
    await until(() => server.stored.length > 300, 'a few hundred records at the server', 15_000, 5);
    await kill(first);

    let restores = 0;
    for (let round = 1; round <= 6; round++) {
      // A backup from about half-way through what the server holds past its first batch: the device must send the
      // rest again. Never one older than the first batch: a server holding nothing of the device takes the rest only
      // as a new chain, which this stand-in (one chain per device) cannot store, so the device would wait for an
      // upgraded server (chain-gap-empty-server.test.ts covers that case against the real Edge Control).
      const held = server.stored.length;
      if (held > batchSize && server.restoreBackup('agent-device', batchSize + Math.floor((held - batchSize) / 2)) < held) restores += 1;
      const restored = server.stored.length;
      server.ackDelayMs = randomBetween(0, 40);
      const child = runFixture('agent-worker.mjs', [options(round)]);
      await child.waitForLine((l) => /^\d+ /.test(l));
      // The device has sent the server something again before it dies, so the next round has records past the first
      // batch to restore from a backup: on a loaded machine a child killed before its first resend left the chain at
      // the first batch after three rounds, and the rounds after it tested no restore at all.
      await until(() => server.stored.length > restored + batchSize, 'a resent batch at the server', 15_000, 5);
      await new Promise((resolve) => setTimeout(resolve, randomBetween(30, 400)));
      await kill(child);
    }

    server.ackDelayMs = 0;
    const drain = runFixture('agent-worker.mjs', [options(99, true)]);
    await drain.waitForLine((l) => l === 'drained', 30_000);
    await drain.exited;

    expect(restores).toBeGreaterThanOrEqual(5);
    expect(answered.length).toBeGreaterThan(100);
    const atServer = new Map(server.stored.map((r) => [r.seq, r.record.request_id]));
    for (const { seq, requestId } of answered) expect(atServer.get(seq), `answered request ${requestId} (seq ${seq}) missing at the server`).toBe(requestId);
    expectWholeChainOnce(server);
    const requestIds = server.stored.map((r) => r.record.request_id);
    expect(new Set(requestIds).size).toBe(requestIds.length);
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  }, 120_000);
});
