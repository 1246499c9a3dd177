import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAuditSink } from '../../src/audit/http-sink.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import type { AuditBatch } from '../../src/control/protocol/audit.js';
import { ControlHttpError, sendError, sendJson } from '../../src/control/server/http-io.js';
import { captureLogger } from '../control/support/control-fixture.js';
import { until } from './support/chain-gap.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * Edge Control answers a device that starts too many new audit chains (its audit database replaced or
 * reverted again and again) with 429 `audit_new_chains_limited` and Retry-After. The device's log must say
 * what that means for it, not just "refused": the records stay queued, and it retries after the wait.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Refuses the first upload as Edge Control does past its new-chain limit (its own error writer), then acknowledges every batch. */
async function startLimitingServer(retryAfterSeconds: number): Promise<{ url: string; arrivals: { batch: AuditBatch; at: number }[] }> {
  const arrivals: { batch: AuditBatch; at: number }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => {
      const batch = JSON.parse(body) as AuditBatch;
      arrivals.push({ batch, at: Date.now() });
      if (arrivals.length === 1) {
        sendError(res, new ControlHttpError(429, 'audit_new_chains_limited',
          `device ${batch.device_id} started 10 new audit chains in the last hour, the most this server takes per hour: ` +
            'each one means its audit database was replaced or reverted, so check the device (`bifrost-edge audit verify`). ' +
            `Its records stay queued on it; retry after ${retryAfterSeconds} s`,
          { 'retry-after': String(retryAfterSeconds) }));
        return;
      }
      sendJson(res, 200, { batch_id: batch.batch_id, stored: batch.records.length, duplicate: false, chain_head: batch.chain_head });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals };
}

describe('an upload refused with 429 audit_new_chains_limited', () => {
  it('is logged as the server\'s new-chain limit, the records stay queued, and the batch is sent again after Retry-After', async () => {
    const server = await startLimitingServer(1);
    const outbox = new AuditOutbox({ path: tempDbPath() });
    cleanups.push(() => outbox.close());
    for (let i = 1; i <= 5; i++) outbox.append(sampleRecord(i));
    await outbox.flush();
    const log = captureLogger();
    // A backoff far below Retry-After: the wait comes from the server's answer.
    const shipper = new AuditShipper({ outbox, sink: new HttpAuditSink({ controlUrl: server.url, credential: 'c' }), backoff: { baseMs: 20, maxMs: 50 }, log: log.log });
    shipper.start();
    cleanups.push(() => shipper.stop());

    await until(() => log.lines.some((line) => line.includes('audit upload failed; will retry')), 'the refusal logged');
    expect(outbox.depth()).toBe(5);
    const refused = log.lines.filter((line) => line.includes('audit upload failed; will retry'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain(
      'Edge Control limits how many new audit chains a device starts (this device\'s audit database was replaced or reverted more times lately than it takes); ' +
        'retrying after 1 s; records stay queued',
    );
    expect(refused[0]).toContain('server said: audit_new_chains_limited: device device-1 started 10 new audit chains in the last hour');

    await until(() => outbox.depth() === 0, 'the records uploaded after the wait');
    const [first, second] = server.arrivals;
    expect(second!.batch.batch_id).toBe(first!.batch.batch_id);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });
});
