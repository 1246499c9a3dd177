import { afterEach, describe, expect, it } from 'vitest';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { createLogger } from '../../src/log.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * Sent records are kept until the cap, so a long-running device holds 90-100 % of it. A destination
 * added later (Edge Control on a device that ran as a rolling log, an OTLP collector) used to start at
 * the prune checkpoint: all that history counted as unsent at once, near_cap at start without any
 * event, full after a few requests, and failing closed AI was refused.
 */

const open: AuditOutbox[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

function outbox(options: ConstructorParameters<typeof AuditOutbox>[0]): AuditOutbox {
  const o = new AuditOutbox(options);
  open.push(o);
  return o;
}

async function rollingLog(dbPath: string, records: number): Promise<void> {
  const rolling = new AuditOutbox({ path: dbPath, maxRecords: 100, maxBytes: null, destinations: [] });
  for (let i = 1; i <= records; i++) await rolling.appendDurable(sampleRecord(i));
  rolling.close();
}

describe('a destination added to an outbox with history', () => {
  it('starts at the head: the history does not count against the cap, and new records are sent from there', async () => {
    const dbPath = tempDbPath();
    await rollingLog(dbPath, 300);

    const enrolled = outbox({ path: dbPath, maxRecords: 100, maxBytes: null, destinations: ['control'] });
    expect(enrolled.status()).toMatchObject({ level: 'ok', unsentRecords: 0, storedRecords: expect.any(Number) as number });
    expect(enrolled.status().storedRecords).toBeGreaterThan(80);
    for (let i = 301; i <= 370; i++) await enrolled.appendDurable(sampleRecord(i));
    expect(enrolled.status()).toMatchObject({ level: 'ok', unsentRecords: 70 });
    expect(enrolled.nextShipment(500).map((r) => r.seq)[0]).toBe(301);
  });

  it('an existing cursor keeps its place (a destination returning is not new)', async () => {
    const dbPath = tempDbPath();
    const first = new AuditOutbox({ path: dbPath, destinations: ['control'] });
    for (let i = 1; i <= 5; i++) await first.appendDurable(sampleRecord(i));
    first.close();
    const again = outbox({ path: dbPath, destinations: ['control'] });
    expect(again.nextShipment(500).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('the queue level found at start', () => {
  it('is published like any change: an event listeners attached right after opening receive, and a log line', async () => {
    const dbPath = tempDbPath();
    const first = new AuditOutbox({ path: dbPath, maxRecords: 10, maxBytes: null, destinations: ['control'] });
    for (let i = 1; i <= 9; i++) await first.appendDurable(sampleRecord(i));
    first.close();

    const lines: string[] = [];
    const reopened = outbox({ path: dbPath, maxRecords: 10, maxBytes: null, destinations: ['control'], log: createLogger('info', (line) => lines.push(line)) });
    const events: string[] = [];
    reopened.on('queue_near_cap', (status) => events.push(`near_cap@${status.unsentRecords}`));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reopened.status().level).toBe('near_cap');
    expect(events).toEqual(['near_cap@9']);
    expect(lines.join('')).toMatch(/audit queue is nearly full at start.*Edge Control has not acknowledged 9 records/);
  });
});
