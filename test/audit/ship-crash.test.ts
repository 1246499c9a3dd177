import { afterEach, describe, expect, it } from 'vitest';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { randomBetween, runFixture, sigkill, type RunningChild } from './support/child.js';
import { tempDbPath } from './support/records.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function acknowledged(lines: string[]): { seq: number; requestId: string }[] {
  return lines.filter((l) => /^\d+ \S+$/.test(l)).map((l) => {
    const [seq, requestId] = l.split(' ');
    return { seq: Number(seq), requestId: requestId! };
  });
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('agent SIGKILLed repeatedly under load while shipping', () => {
  it('every answered request ends up at the server exactly once', async () => {
    const server = new AuditControlServer();
    await server.start();
    cleanups.push(() => server.stop());
    const dbPath = tempDbPath('edge-ship-crash-');
    const options = (round: number, drain = false) => JSON.stringify({ dbPath, runId: `run${round}`, controlUrl: server.url, credential: server.credential, batchSize: 40, drain });
    const printed: { seq: number; requestId: string }[] = [];
    const kill = async (child: RunningChild) => {
      await sigkill(child);
      printed.push(...acknowledged(child.lines));
    };

    // Round 0, deterministic: killed after the server stored a batch but before it answered.
    server.ackDelayMs = 60_000;
    const first = runFixture('agent-worker.mjs', [options(0)]);
    await first.waitForLine((l) => l === 'ready');
    await until(() => server.stored.length > 0, 10_000, 'the first batch to reach the server');
    await kill(first);

    // Rounds 1-5: killed at random moments, with the server answering at varying speed.
    for (let round = 1; round <= 5; round++) {
      server.ackDelayMs = randomBetween(0, 40);
      const child = runFixture('agent-worker.mjs', [options(round)]);
      await child.waitForLine((l) => /^\d+ /.test(l));
      await new Promise((resolve) => setTimeout(resolve, randomBetween(30, 400)));
      await kill(child);
    }

    // Restart once more without load and let the shipper catch up.
    server.ackDelayMs = 0;
    const drain = runFixture('agent-worker.mjs', [options(99, true)]);
    await drain.waitForLine((l) => l === 'drained', 20_000);
    await drain.exited;

    expect(printed.length).toBeGreaterThan(100);
    const atServer = new Map<number, string>();
    for (const r of server.stored) atServer.set(r.seq, r.record.request_id);
    for (const { seq, requestId } of printed) expect(atServer.get(seq), `answered request ${requestId} (seq ${seq}) missing at the server`).toBe(requestId);
    const counts = server.storedSeqCounts();
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: counts.size }, (_, i) => i + 1));
    const requestIds = server.stored.map((r) => r.record.request_id);
    expect(new Set(requestIds).size).toBe(requestIds.length);
    expect(server.duplicates).toBeGreaterThanOrEqual(1); // round 0's batch was resent and recognised
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });
});
