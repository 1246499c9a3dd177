import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postEnrollment } from '../../src/control/client/control-api.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { HttpAuditSink } from '../../src/audit/http-sink.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from '../control/support/control-fixture.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * The shipper against the real reference Edge Control server (src/control/server), not a stand-in:
 * proves both sides agree on the wire format, the hash, batch ids and duplicate handling.
 */
let fixture: ControlFixture;
let device: EnrollmentResponse;

beforeAll(async () => {
  fixture = await startControlFixture();
  device = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'audit-laptop' } });
});

afterAll(async () => {
  await fixture?.close();
});

async function storedAtServer(deviceId: string): Promise<{ seq: number; batch_id: string; record: { request_id: string } }[]> {
  const out: { seq: number; batch_id: string; record: { request_id: string } }[] = [];
  let after = 0;
  for (;;) {
    const page = await fixture.admin('GET', `/api/edge/v1/admin/audit?device_id=${encodeURIComponent(deviceId)}&limit=1000&after=${after}`);
    const body = page.json as { records: { seq: number; batch_id: string; record: { request_id: string } }[]; next_after?: number };
    out.push(...body.records);
    if (body.next_after === undefined) return out;
    after = body.next_after;
  }
}

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('shipping to the reference Edge Control server', () => {
  it('uploads in seq-ordered batches, and a resend after a crash is stored once', async () => {
    const dbPath = tempDbPath();
    const sink = new HttpAuditSink({ controlUrl: fixture.server.url, credential: () => device.device_credential });
    const record = (i: number) => sampleRecord(i, { device_id: device.device_id, findings: i % 5 === 0 ? [{ type: 'email', rule_id: 'pii.email', action: 'redact' }] : [] });

    // A "crash" between the server storing a batch and the device recording the acknowledgement:
    // the batch went out (the server stored it) but markSent never ran.
    const first = new AuditOutbox({ path: dbPath });
    for (let i = 1; i <= 30; i++) first.append(record(i));
    await first.flush();
    const interrupted = first.nextShipment(20);
    const ack = await sink.send(buildAuditBatch(interrupted), new AbortController().signal);
    expect(ack).toMatchObject({ stored: 20, duplicate: false });
    first.close();

    const outbox = new AuditOutbox({ path: dbPath });
    for (let i = 31; i <= 1200; i++) outbox.append(record(i));
    await outbox.flush();
    const acks: { batch: string; duplicate: boolean }[] = [];
    const shipper = new AuditShipper({ outbox, sink, batchSize: 500 });
    shipper.on('shipped', (batch, a) => acks.push({ batch: batch.batch_id, duplicate: a.duplicate }));
    shipper.start();
    await until(() => outbox.depth() === 0);
    await shipper.stop();
    outbox.close();

    const id = device.device_id;
    expect(acks).toEqual([
      { batch: `${id}:1-20`, duplicate: true },
      { batch: `${id}:21-520`, duplicate: false },
      { batch: `${id}:521-1020`, duplicate: false },
      { batch: `${id}:1021-1200`, duplicate: false },
    ]);
    const stored = await storedAtServer(id);
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(stored[0]).toMatchObject({ batch_id: `${id}:1-20`, record: { request_id: 'req-1' } });
  });
});
