import { afterEach, describe, expect, it } from 'vitest';
import { startOtlpCollector } from './support/otlp-collector.js';
import { shipToOtlp } from './support/otlp-shipping.js';
import { sampleRecord } from './support/records.js';

/**
 * An OpenTelemetry collector (or the proxy in front of it) with a body limit: it refuses larger
 * requests with 413 and stores nothing of them. A 413 is about size, not content: the exporter must
 * split the batch, and give up only a single record that still does not fit.
 */

/** Refuses a request larger than `maxBodyBytes` with 413 and takes nothing of it. */
function startLimitedCollector(maxBodyBytes: number) {
  return startOtlpCollector(({ body }) => (body.length > maxBodyBytes ? { status: 413, headers: { 'content-type': 'text/plain' }, body: 'request entity too large' } : undefined));
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('an OTLP collector that refuses a batch as too large (413)', () => {
  it('gets the batch again in smaller batches, every record delivered once', async () => {
    const collector = await startLimitedCollector(100_000);
    cleanups.push(() => collector.close());
    const { drained, dropped } = await shipToOtlp(collector.url, 50, cleanups, (i) => sampleRecord(i, { message: 'm'.repeat(5000) }));
    expect(drained).toBe(true);
    expect(dropped).toEqual([]);
    expect(collector.statuses[0]).toBe(413);
    expect(collector.seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('skips only a single record it still refuses, and says so in the log', async () => {
    const collector = await startLimitedCollector(100_000);
    cleanups.push(() => collector.close());
    const { drained, dropped, lines } = await shipToOtlp(collector.url, 10, cleanups, (i) => sampleRecord(i, { message: i === 4 ? 'x'.repeat(150_000) : 'small' }));
    expect(drained).toBe(true);
    expect(dropped).toEqual(['4-4']);
    expect(collector.seqs).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10]);
    const skipped = lines.filter((line) => line.includes('"first_seq":4') && /ERROR/.test(line));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/too large/);
  });
});
