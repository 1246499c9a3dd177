import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { OtlpLogsSink } from '../../src/audit/otlp-sink.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { createLogger } from '../../src/log.js';
import { sampleRecord, tempDbPath } from './support/records.js';
import { until } from '../support/until.js';

/**
 * An OpenTelemetry collector (or the proxy in front of it) with a body limit: it refuses larger
 * requests with 413 and stores nothing of them. A 413 is about size, not content: the exporter must
 * split the batch, and give up only a single record that still does not fit.
 */

interface LimitedCollector {
  url: string;
  statuses: number[];
  /** bifrost.audit.seq of every log record taken, in arrival order. */
  seqs: number[];
  close(): Promise<void>;
}

async function startLimitedCollector(maxBodyBytes: number): Promise<LimitedCollector> {
  const statuses: number[] = [];
  const seqs: number[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (body.length > maxBodyBytes) {
      statuses.push(413);
      return void res.writeHead(413, { 'content-type': 'text/plain' }).end('request entity too large');
    }
    statuses.push(200);
    const logs = (JSON.parse(body.toString('utf8')) as { resourceLogs: { scopeLogs: { logRecords: { attributes: { key: string; value: { intValue?: string } }[] }[] }[] }[] })
      .resourceLogs[0]!.scopeLogs[0]!.logRecords;
    for (const log of logs) seqs.push(Number(log.attributes.find((a) => a.key === 'bifrost.audit.seq')!.value.intValue));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    statuses,
    seqs,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function shipTo(collector: LimitedCollector, records: number, message: (i: number) => string) {
  const outbox = new AuditOutbox({ path: tempDbPath(), destinations: ['otlp'] });
  cleanups.push(() => outbox.close());
  for (let i = 1; i <= records; i++) outbox.append(sampleRecord(i, { message: message(i) }));
  await outbox.flush();
  const lines: string[] = [];
  const shipper = new AuditShipper({
    outbox,
    sink: new OtlpLogsSink({ endpoint: collector.url }),
    backoff: { baseMs: 10, maxMs: 20 },
    log: createLogger('info', (line) => lines.push(line)),
  });
  cleanups.push(() => shipper.stop());
  const dropped: string[] = [];
  shipper.on('batch_dropped', (batch) => dropped.push(`${batch.first_seq}-${batch.last_seq}`));
  shipper.start();
  const drained = await until(() => outbox.depth('otlp') === 0);
  return { drained, dropped, lines };
}

describe('an OTLP collector that refuses a batch as too large (413)', () => {
  it('gets the batch again in smaller batches, every record delivered once', async () => {
    const collector = await startLimitedCollector(100_000);
    cleanups.push(() => collector.close());
    const { drained, dropped } = await shipTo(collector, 50, () => 'm'.repeat(5000));
    expect(drained).toBe(true);
    expect(dropped).toEqual([]);
    expect(collector.statuses[0]).toBe(413);
    expect(collector.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('skips only a single record it still refuses, and says so in the log', async () => {
    const collector = await startLimitedCollector(100_000);
    cleanups.push(() => collector.close());
    const { drained, dropped, lines } = await shipTo(collector, 10, (i) => (i === 4 ? 'x'.repeat(150_000) : 'small'));
    expect(drained).toBe(true);
    expect(dropped).toEqual(['4-4']);
    expect(collector.seqs).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10]);
    const skipped = lines.filter((line) => line.includes('"first_seq":4') && /ERROR/.test(line));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/too large/);
  });
});
