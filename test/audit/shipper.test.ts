import { afterEach, describe, expect, it } from 'vitest';
import { backoffCeilingMs, fullJitterDelayMs } from '../../src/audit/backoff.js';
import { auditBatchId } from '../../src/audit/batch.js';
import { HttpAuditSink, auditBatchesUrl } from '../../src/audit/http-sink.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AuditShipper, type AuditShipperOptions } from '../../src/audit/shipper.js';
import { parseRetryAfter } from '../../src/audit/sink.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { sampleRecord, tempDbPath } from './support/records.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(): Promise<AuditControlServer> {
  const server = new AuditControlServer();
  await server.start();
  cleanups.push(() => server.stop());
  return server;
}

function openOutbox(dbPath = tempDbPath()): AuditOutbox {
  const outbox = new AuditOutbox({ path: dbPath });
  cleanups.push(() => outbox.close());
  return outbox;
}

function startShipper(outbox: AuditOutbox, server: AuditControlServer, options: Partial<AuditShipperOptions> = {}): AuditShipper {
  const shipper = new AuditShipper({
    outbox,
    sink: new HttpAuditSink({ controlUrl: server.url, credential: server.credential }),
    backoff: { baseMs: 20, maxMs: 200 },
    ...options,
  });
  shipper.start();
  cleanups.push(() => shipper.stop());
  return shipper;
}

async function until(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function appendMany(outbox: AuditOutbox, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) outbox.append(sampleRecord(i));
  return outbox.flush();
}

function expectEachOnce(server: AuditControlServer, lastSeq: number): void {
  const counts = server.storedSeqCounts();
  expect(counts.size).toBe(lastSeq);
  for (let seq = 1; seq <= lastSeq; seq++) expect(counts.get(seq), `seq ${seq}`).toBe(1);
}

describe('backoff with full jitter', () => {
  it('stays within [0, min(cap, base·2^(n−1))) and reaches the cap', () => {
    const policy = { baseMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffCeilingMs(n, policy))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = backoffCeilingMs(attempt, policy);
      expect(fullJitterDelayMs(attempt, policy, () => 0)).toBe(0);
      expect(fullJitterDelayMs(attempt, policy, () => 0.999999)).toBeLessThan(ceiling);
      for (let i = 0; i < 200; i++) {
        const delay = fullJitterDelayMs(attempt, policy);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it('spreads delays over the whole window (not clustered at the ceiling)', () => {
    const samples = Array.from({ length: 2000 }, () => fullJitterDelayMs(6, { baseMs: 1000, maxMs: 60_000 }));
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(mean).toBeGreaterThan(32_000 * 0.4);
    expect(mean).toBeLessThan(32_000 * 0.6);
  });

  it('reads Retry-After in seconds or as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('HttpAuditSink', () => {
  it('posts to <controlUrl>/api/edge/v1/audit/batches with the credential and the batch id as idempotency key', async () => {
    const server = await startServer();
    const outbox = openOutbox();
    await appendMany(outbox, 1, 12);
    const shipper = startShipper(outbox, server, { batchSize: 5 });
    await until(() => outbox.depth() === 0, 10_000, 'outbox drained');
    await shipper.stop();
    expect(server.requests.map((r) => r.batchId)).toEqual([
      auditBatchId('device-1', 1, 5), auditBatchId('device-1', 6, 10), auditBatchId('device-1', 11, 12),
    ]);
    for (const request of server.requests) {
      expect(request.idempotencyKey).toBe(request.batchId);
      expect(request.authorization).toBe(`Bearer ${server.credential}`);
    }
    expectEachOnce(server, 12);
    expect(auditBatchesUrl('https://edge.example.com/control')).toBe('https://edge.example.com/control/api/edge/v1/audit/batches');
  });

  it('explains a rejected credential and a chain the server cannot continue', async () => {
    const server = await startServer();
    const batch = { device_id: 'd', batch_id: 'd:1-1', first_seq: 1, last_seq: 1, chain_head: 'a'.repeat(64), records: [] };
    const wrongCredential = new HttpAuditSink({ controlUrl: server.url, credential: () => 'stale' });
    await expect(wrongCredential.send(batch, new AbortController().signal)).rejects.toMatchObject({ status: 401, message: expect.stringContaining('sign in again or re-enroll') });

    // Two databases claiming the same device: the second one's seq 1 does not continue the first's chain.
    const first = openOutbox();
    await appendMany(first, 1, 3);
    const firstShipper = startShipper(first, server);
    await until(() => first.depth() === 0);
    await firstShipper.stop();
    const second = openOutbox();
    await appendMany(second, 100, 101);
    const failures: string[] = [];
    const secondShipper = startShipper(second, server, { backoff: { baseMs: 1000, maxMs: 1000 } });
    secondShipper.on('ship_failed', (error) => failures.push(error.message));
    await until(() => failures.length > 0);
    expect(failures[0]).toMatch(/HTTP 409.*does not continue with seq 1.*audit verify/);
    expect(secondShipper.status()).toMatchObject({ state: 'backing_off', consecutiveFailures: 1, pending: 2 });
  });

  it('fails cleanly when nothing listens', async () => {
    const server = new AuditControlServer();
    await server.start();
    await server.stop();
    const sink = new HttpAuditSink({ controlUrl: server.url, credential: 'x' });
    const batch = { device_id: 'd', batch_id: 'd:1-1', first_seq: 1, last_seq: 1, chain_head: 'a'.repeat(64), records: [] };
    await expect(sink.send(batch, new AbortController().signal)).rejects.toThrow(/could not reach Edge Control at .*ECONNREFUSED.*stay queued/);
  });
});

describe('AuditShipper', () => {
  it('loses nothing and duplicates nothing when the server is down for a while, then back', async () => {
    const server = await startServer();
    const port = server.port;
    await server.stop();
    const outbox = openOutbox();
    const shipper = startShipper(outbox, server, { batchSize: 25 });
    const failures: number[] = [];
    shipper.on('ship_failed', (_error, attempt) => failures.push(attempt));

    await appendMany(outbox, 1, 60);
    await until(() => failures.length >= 4, 10_000, 'several failed attempts');
    await appendMany(outbox, 61, 130); // traffic continues while the server is down
    expect(outbox.depth()).toBe(130);
    // Retrying: between two attempts (backing off) or in one (sending), whichever a loaded machine catches it in.
    expect(shipper.status()).toMatchObject({ state: expect.stringMatching(/^(?:backing_off|sending)$/), consecutiveFailures: expect.any(Number) });
    expect(shipper.status().consecutiveFailures).toBeGreaterThanOrEqual(4);

    await server.start(port);
    await until(() => outbox.depth() === 0, 10_000, 'outbox drained after the server came back');
    expectEachOnce(server, 130);
    expect(shipper.status()).toMatchObject({ state: 'idle', consecutiveFailures: 0, pending: 0 });

    // After a success, a new record goes out on its own, in one request: the idle shipper wakes for it.
    const before = server.requests.length;
    await outbox.appendDurable(sampleRecord(131));
    await until(() => server.stored.length === 131, 10_000, 'the new record shipped');
    expect(server.requests.length).toBe(before + 1);
  });

  it('retries after a failure at delays within the jitter bounds, and new records do not cut a backoff short', async () => {
    const server = await startServer();
    server.failNext = { count: 4, status: 503 };
    const outbox = openOutbox();
    await appendMany(outbox, 1, 3);
    const delays: number[] = [];
    const attemptTimes: number[] = [];
    const shipper = startShipper(outbox, server, { backoff: { baseMs: 80, maxMs: 300 }, random: () => 0.75 });
    shipper.on('ship_failed', (_error, _attempt, delay) => { delays.push(delay); attemptTimes.push(Date.now()); });
    await until(() => delays.length === 1);
    await appendMany(outbox, 4, 6); // must not trigger an immediate retry (checked by the gaps below)
    await until(() => outbox.depth() === 0, 10_000, 'drained after the failures');
    // Ceilings 80, 160, 300 (capped), 300 → with random 0.75: 60, 120, 225, 225.
    expect(delays).toEqual([60, 120, 225, 225]);
    // Each retry waited at least its drawn delay, including the first one during which new records arrived.
    for (let i = 1; i < attemptTimes.length; i++) expect(attemptTimes[i]! - attemptTimes[i - 1]!).toBeGreaterThanOrEqual(delays[i - 1]! - 5);
    expectEachOnce(server, 6);
  });

  it('honours Retry-After as a floor on the next delay, beyond the backoff cap (up to its own cap)', async () => {
    const server = await startServer();
    server.failNext = { count: 2, status: 503, retryAfter: '1' };
    const outbox = openOutbox();
    await appendMany(outbox, 1, 1);
    const delays: number[] = [];
    const shipper = startShipper(outbox, server, { backoff: { baseMs: 10, maxMs: 400 }, maxRetryAfterMs: 700, random: () => 0 });
    shipper.on('ship_failed', (_e, _a, delay) => delays.push(delay));
    await until(() => outbox.depth() === 0);
    // The server asked for 1 s: more than the backoff's 400 ms cap, cut at the 700 ms Retry-After cap.
    expect(delays).toEqual([700, 700]);
  });

  it('a batch refused as too large (413) is given up and sent again in smaller batches, each record once', async () => {
    const server = await startServer();
    const outbox = openOutbox();
    await appendMany(outbox, 1, 40);
    // A body limit in front of Edge Control that a 40-record batch exceeds and a 10-record one does not.
    const oneRecordBytes = Buffer.byteLength(JSON.stringify(outbox.pending(1)[0]));
    server.maxBodyBytes = oneRecordBytes * 12;
    startShipper(outbox, server);
    await until(() => outbox.depth() === 0, 5000, 'every record to be acknowledged');
    expectEachOnce(server, 40);
    const statuses = server.requests.map((r) => r.status);
    expect(statuses[0]).toBe(413);
    expect(statuses.filter((status) => status === 413).length).toBeLessThanOrEqual(3);
    expect(statuses.at(-1)).toBe(200);
  });

  it('stop() waits for the batch in flight to be acknowledged', async () => {
    const server = await startServer();
    server.ackDelayMs = 300;
    const outbox = openOutbox();
    const shipper = startShipper(outbox, server);
    await appendMany(outbox, 1, 10);
    await until(() => server.stored.length === 10, 5000, 'the server to store the batch');
    expect(outbox.depth()).toBe(10); // stored, not yet acknowledged
    await shipper.stop();
    expect(outbox.depth()).toBe(0);
    expect(shipper.status().state).toBe('stopped');
    await appendMany(outbox, 11, 12);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.requests).toHaveLength(1); // stopped means stopped
  });

  it('stop() does not wait for ever on an upload that cannot start (a device still waiting to be enrolled)', async () => {
    const outbox = openOutbox();
    // The agent's sink waits for the enrollment's credential; nobody signs in.
    const sink = new HttpAuditSink({ controlUrl: 'http://127.0.0.1:9', credential: () => new Promise<string>(() => {}) });
    const shipper = new AuditShipper({ outbox, sink, stopGraceMs: 200 });
    shipper.start();
    await appendMany(outbox, 1, 3);
    await until(() => shipper.status().state === 'sending', 5000, 'the upload to start');
    const started = Date.now();
    await shipper.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(shipper.status().state).toBe('stopped');
    expect(outbox.depth()).toBe(3); // kept for the next start
  });

  it('resends an unacknowledged batch with the same id after a restart, and the server stores it once', async () => {
    const server = await startServer();
    server.ackDelayMs = 10_000; // the server stores, then never answers in time
    const dbPath = tempDbPath();
    const first = new AuditOutbox({ path: dbPath });
    await appendMany(first, 1, 8);
    const shipper = new AuditShipper({ outbox: first, sink: new HttpAuditSink({ controlUrl: server.url, credential: server.credential }), sendTimeoutMs: 200, backoff: { baseMs: 5000, maxMs: 5000 } });
    const failed = new Promise<Error>((resolve) => shipper.once('ship_failed', resolve));
    shipper.start();
    expect((await failed).message).toMatch(/longer than 200 ms|abort/i);
    await shipper.stop();
    await appendMany(first, 9, 20); // more records arrive before the restart
    first.close();

    server.ackDelayMs = 0;
    const second = openOutbox(dbPath);
    startShipper(second, server, { batchSize: 500 });
    await until(() => second.depth() === 0);
    // The first upload of 1-8 was stored but its answer never arrived (so it is not in the answered log);
    // after the restart the same range went again, under the same key, and was answered as a duplicate.
    expect(server.requests.map((r) => `${r.batchId}:${r.status}`)).toEqual(['device-1:1-8:200', 'device-1:9-20:200']);
    expect(server.duplicates).toBe(1);
    expectEachOnce(server, 20);
  });
});
