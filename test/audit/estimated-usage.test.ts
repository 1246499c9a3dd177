import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { auditDbPath, openAuditTrail, type AuditTrail } from '../../src/audit/audit-trail.js';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { openAuditDatabaseReadOnly } from '../../src/audit/database.js';
import { auditRecordFromExchange, type ExchangeAuditContext } from '../../src/audit/exchange-audit.js';
import { encodeOtlpLogs } from '../../src/audit/otlp-encoding.js';
import { readRecentRecords, runAuditTailCommand } from '../../src/audit/tail.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { AuditBatchSchema, AuditRecordSchema, type AuditAck, type AuditRecord } from '../../src/control/protocol/audit.js';
import type { EnrollmentResponse } from '../../src/control/protocol/enrollment.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from '../control/support/control-fixture.js';

/**
 * When the provider never reports an exchange's usage (a stream the client stopped, a request it
 * abandoned after it was sent), Edge charges its own estimate to the key's budgets and limits. The
 * audit record showed only the provider's usage (none), so an auditor saw zero tokens for an exchange
 * the budget was charged for. The record now carries the estimate as `estimated_usage`, apart from
 * `usage`; and only for an Edge Control that announced the field, since older servers (strict record
 * schema) refuse a record holding it, which would stall the device's uploads.
 */

/** A stream the client stopped (the IDE's stop button): the provider's last event, with usage, never came. */
function stoppedStream(): ExchangeRecord {
  return { id: randomUUID(), method: 'POST', host: 'api.openai.com', path: '/v1/chat/completions', provider: 'openai', model: 'gpt-4o', app: 'curl', decision: 'forwarded', status: 200, errorType: 'client_aborted', findings: [], latencyMs: 40 };
}

/** What the enforcer charged it (src/policy/enforcer.ts chargeUnreported): 10,000 prompt tokens, 25 seen in the answer. */
const CHARGED: ExchangeAuditContext['estimatedUsage'] = { input_tokens: 10_000, output_tokens: 25, costUsd: 0.0101 };

const trails: AuditTrail[] = [];
afterEach(async () => {
  for (const trail of trails.splice(0)) await trail.close();
});

function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'edge-estimated-usage-'));
}

function storedRecords(dataDir: string): AuditRecord[] {
  const db = openAuditDatabaseReadOnly(auditDbPath(dataDir));
  try {
    return readRecentRecords(db, 100).map((r) => r.record!);
  } finally {
    db.close();
  }
}

function chainVerifies(dataDir: string): boolean {
  const db = openAuditDatabaseReadOnly(auditDbPath(dataDir));
  try {
    return verifyAuditChain(db).ok;
  } finally {
    db.close();
  }
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the audit upload');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Records one stopped stream through the trail, as the agent does, and waits until Edge Control acknowledged it. */
async function recordStoppedStream(trail: AuditTrail, deviceId: string): Promise<void> {
  await trail.outbox.appendDurable(auditRecordFromExchange(stoppedStream(), { deviceId, retention: { mode: 'none', maxChars: 0 }, estimatedUsage: CHARGED }));
  await until(() => trail.outbox.depth() === 0);
}

describe("Edge's usage estimate in an exchange's audit record", () => {
  it('is recorded apart from the provider-reported usage, which stays absent', async () => {
    const dataDir = tempDataDir();
    // No Edge Control reads this outbox (a rolling local log): every field is kept.
    const trail = openAuditTrail({ dataDir, awaitEnrollment: false, outbox: { offThreadCheckpoints: false } });
    trails.push(trail);
    await trail.outbox.appendDurable(auditRecordFromExchange(stoppedStream(), { deviceId: 'device-1', retention: { mode: 'none', maxChars: 0 }, estimatedUsage: CHARGED }));
    const [record] = storedRecords(dataDir);
    expect(record).toMatchObject({ decision: 'allowed', reason: 'client_aborted', estimated_usage: { input_tokens: 10_000, output_tokens: 25, cost_usd: 0.0101 } });
    expect(record!.usage).toBeUndefined();
    expect(record!.cost_usd).toBeUndefined();
    expect(chainVerifies(dataDir)).toBe(true);

    // The OTLP export carries it as its own attributes, not as gen_ai.usage.* (provider figures).
    const db = openAuditDatabaseReadOnly(auditDbPath(dataDir));
    const chained = readRecentRecords(db, 1).map(({ seq, hash, prev_hash, record: r }) => ({ seq, hash, prev_hash, record: r! }));
    db.close();
    const attributes = encodeOtlpLogs(buildAuditBatch(chained), { serviceName: 'bifrost-edge' }).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.attributes;
    const attribute = (key: string) => attributes.find((a) => a.key === key)?.value;
    expect(attribute('bifrost.estimated_usage.input_tokens')).toEqual({ intValue: '10000' });
    expect(attribute('bifrost.estimated_usage.output_tokens')).toEqual({ intValue: '25' });
    expect(attribute('bifrost.estimated_usage.cost_usd')).toEqual({ doubleValue: 0.0101 });
    expect(attribute('gen_ai.usage.input_tokens')).toBeUndefined();

    // `audit tail` shows the tokens charged, marked as Edge's estimate.
    const table = runAuditTailCommand({ dbPath: auditDbPath(dataDir) }).stdout;
    expect(table.split('\n')[0]).toMatch(/TOKENS/);
    expect(table.split('\n')[1]).toMatch(/~10000\/25 est/);
  });

  it('brings odd estimates to what the format accepts instead of losing the record', async () => {
    const record = AuditRecordSchema.parse(auditRecordFromExchange(stoppedStream(), {
      deviceId: 'device-1', retention: { mode: 'none', maxChars: 0 }, estimatedUsage: { input_tokens: 10.6, output_tokens: -3, costUsd: Infinity },
    }));
    expect(record.estimated_usage).toEqual({ input_tokens: 11, output_tokens: 0, cost_usd: Number.MAX_VALUE });
  });
});

describe('an Edge Control server that knows the field', () => {
  let fixture: ControlFixture;
  let device: EnrollmentResponse;

  beforeAll(async () => {
    fixture = await startControlFixture();
    device = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'estimate-laptop' } });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it('announces it on its first answer; from then on records carry the estimate, and it stores them', async () => {
    const dataDir = tempDataDir();
    const trail = openAuditTrail({ dataDir, control: { url: fixture.server.url, credential: device.device_credential }, outbox: { offThreadCheckpoints: false } });
    trails.push(trail);
    // Before the server's first answer the device cannot know it takes the field: the record goes without.
    await recordStoppedStream(trail, device.device_id);
    await recordStoppedStream(trail, device.device_id);
    const [first, second] = storedRecords(dataDir);
    expect(first!.estimated_usage).toBeUndefined();
    expect(second!.estimated_usage).toEqual({ input_tokens: 10_000, output_tokens: 25, cost_usd: 0.0101 });
    expect(chainVerifies(dataDir)).toBe(true);

    const page = await fixture.admin('GET', `/api/edge/v1/admin/audit?device_id=${encodeURIComponent(device.device_id)}&limit=10`);
    expect(page.status).toBe(200);
    const atServer = (page.json as { records: Array<{ seq: number; record: AuditRecord }> }).records;
    expect(atServer.map((r) => [r.seq, r.record.estimated_usage])).toEqual([[1, undefined], [2, { input_tokens: 10_000, output_tokens: 25, cost_usd: 0.0101 }]]);
  });
});

describe('an Edge Control server that predates the field', () => {
  /** The audit record format before `estimated_usage`: strict, as that server's schema was. */
  const PreviousRecordSchema = z.strictObject(Object.fromEntries(Object.entries(AuditRecordSchema.shape).filter(([key]) => key !== 'estimated_usage')));
  let server: http.Server;
  let url: string;
  const refused: string[] = [];
  const stored: unknown[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const batch = AuditBatchSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        const invalid = batch.records.map((r) => PreviousRecordSchema.safeParse(r.record)).find((parsed) => !parsed.success);
        if (invalid) {
          refused.push(batch.batch_id);
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type: 'invalid_request', message: invalid.error!.issues[0]!.message } }));
          return;
        }
        stored.push(...batch.records.map((r) => r.record));
        const ack: AuditAck = { batch_id: batch.batch_id, stored: batch.records.length, duplicate: false, chain_head: batch.chain_head };
        // No AUDIT_RECORD_FIELDS_HEADER: it knows no field beyond the first format.
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ack));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('still accepts every record: the device never writes the field for it', async () => {
    const dataDir = tempDataDir();
    const trail = openAuditTrail({ dataDir, control: { url, credential: 'device-credential-0123456789' }, outbox: { offThreadCheckpoints: false } });
    trails.push(trail);
    for (let i = 0; i < 3; i++) await recordStoppedStream(trail, 'device-old');
    expect(refused).toEqual([]);
    expect(stored).toHaveLength(3);
    expect(storedRecords(dataDir).map((r) => r.estimated_usage)).toEqual([undefined, undefined, undefined]);
    expect(chainVerifies(dataDir)).toBe(true);
  });
});
