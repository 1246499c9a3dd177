import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditTrail } from '../../src/audit/audit-trail.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { createLogger } from '../../src/log.js';
import { until } from '../support/until.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * Only the primary destination (Edge Control when configured, else the first) keeps the never-lose
 * promise and counts against the cap. An optional copy that falls behind (an OTLP collector that is
 * down) used to fill the queue while Edge Control acknowledged everything, and failing closed every AI
 * request was refused, telling the user to connect to the VPN.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('info', (line) => lines.push(line)), lines };
}

function outbox(options: ConstructorParameters<typeof AuditOutbox>[0]): AuditOutbox {
  const o = new AuditOutbox(options);
  cleanups.push(() => o.close());
  return o;
}

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('a secondary audit destination that falls behind', () => {
  it('does not fill the queue: what only it still waits for is pruned for it when the cap needs room, saying how many', async () => {
    const dbPath = tempDbPath();
    const { log, lines } = capturingLogger();
    const o = outbox({ path: dbPath, maxRecords: 20, maxBytes: null, destinations: ['otlp', 'control'], log });
    const levels: string[] = [];
    for (const event of ['queue_near_cap', 'queue_full', 'queue_ok'] as const) o.on(event, () => levels.push(event));
    const losses: unknown[] = [];
    o.on('destination_records_lost', (loss) => losses.push(loss));

    for (let i = 1; i <= 100; i++) {
      await o.appendDurable(sampleRecord(i));
      o.markSent(i, 'control'); // Edge Control acknowledges everything; the collector nothing
    }
    expect(levels).toEqual([]);
    expect(o.status()).toMatchObject({ level: 'ok', unsentRecords: 0, destination: 'control' });
    expect(o.status().storedRecords).toBeLessThanOrEqual(20);
    // The collector's cursor moved past what was pruned: it resumes with the oldest record still stored.
    expect(o.nextShipment(500, 'otlp')[0]!.seq).toBe(101 - o.status().storedRecords);
    const lost = losses as { destination: string; records: number; firstSeq: number; lastSeq: number }[];
    expect(lost.every((l) => l.destination === 'otlp')).toBe(true);
    expect(lost.reduce((sum, l) => sum + l.records, 0)).toBe(100 - o.status().storedRecords);
    expect(lost[0]!.firstSeq).toBe(1);
    expect(lines.join('')).toMatch(/\d+ audit records were pruned .* before the OpenTelemetry collector received them/);
    // Nothing Edge Control waits for was touched, and verify sees no unsent record deleted.
    expect(runAuditVerifyCommand({ dbPath }).exitCode).toBe(0);
  });

  it('the primary still keeps every record and counts against the cap; the full queue names it', async () => {
    const o = outbox({ path: tempDbPath(), maxRecords: 10, maxBytes: null, destinations: ['otlp', 'control'] });
    for (let i = 1; i <= 10; i++) {
      await o.appendDurable(sampleRecord(i));
      o.markSent(i, 'otlp'); // the collector has everything; Edge Control nothing
    }
    expect(o.status()).toMatchObject({ level: 'full', unsentRecords: 10, destination: 'control' });
    await expect(o.appendDurable(sampleRecord(11))).rejects.toThrow(/audit queue is full of records Edge Control has not acknowledged .* Check that the device can reach Edge Control/);
  });

  it('without Edge Control, the first destination is the primary', async () => {
    const o = outbox({ path: tempDbPath(), maxRecords: 5, maxBytes: null, destinations: ['otlp'] });
    for (let i = 1; i <= 5; i++) await o.appendDurable(sampleRecord(i));
    expect(o.status()).toMatchObject({ level: 'full', destination: 'otlp' });
    await expect(o.appendDurable(sampleRecord(6))).rejects.toThrow(/not acknowledged by the OpenTelemetry collector|the OpenTelemetry collector has not acknowledged/);
  });

  it('through the audit trail: Edge Control acknowledging, the OTLP collector down, records keep being written', async () => {
    const control = new AuditControlServer();
    await control.start();
    cleanups.push(() => control.stop());
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-secondary-'));
    const trail = openAuditTrail({
      dataDir,
      outbox: { maxBytes: 300_000, offThreadCheckpoints: false },
      control: { url: control.url, credential: control.credential },
      otlp: { endpoint: `http://127.0.0.1:${await closedPort()}` },
      shipping: { backoff: { baseMs: 20, maxMs: 50 } },
    });
    cleanups.push(() => trail.close());
    for (let i = 1; i <= 1500; i++) {
      await trail.outbox.appendDurable(sampleRecord(i));
      if (i % 100 === 0) expect(await until(() => trail.outbox.depth('control') === 0, 10_000)).toBe(true);
    }
    expect(trail.outbox.status().level).toBe('ok');
    expect(trail.outbox.depth('otlp')).toBeLessThan(1500);
  }, 60_000);
});
