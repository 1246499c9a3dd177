import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditDbPath, openAuditTrail } from '../../src/audit/audit-trail.js';
import { runAuditVerifyCommand } from '../../src/audit/verify.js';
import { createLogger } from '../../src/log.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { startOtlpCollector } from './support/otlp-collector.js';
import { sampleRecord } from './support/records.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('openAuditTrail', () => {
  it('keeps records written before enrollment and uploads them once Edge Control is configured', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-trail-'));
    const before = openAuditTrail({ dataDir });
    await before.outbox.appendDurable(sampleRecord(1));
    expect(before.outbox.depth()).toBe(1);
    await before.close();

    const server = new AuditControlServer();
    await server.start();
    cleanups.push(() => server.stop());
    const after = openAuditTrail({ dataDir, control: { url: server.url, credential: server.credential } });
    cleanups.push(() => after.close());
    await after.outbox.appendDurable(sampleRecord(2));
    const deadline = Date.now() + 5000;
    while (after.outbox.depth() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.stored.map((r) => r.seq)).toEqual([1, 2]);
    await after.close();
    expect(runAuditVerifyCommand({ dbPath: auditDbPath(dataDir) }).exitCode).toBe(0);
  });

  it('logs what an OTLP collector rejected in a partial success through the agent\'s log', async () => {
    // The sink reports rejected records only through a logger: the trail must hand it the agent's.
    const partialSuccess = { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ partialSuccess: { rejectedLogRecords: 1, errorMessage: 'quota exceeded' } }) };
    const collector = await startOtlpCollector(() => partialSuccess);
    cleanups.push(() => collector.close());
    const lines: string[] = [];
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-trail-'));
    const trail = openAuditTrail({
      dataDir, awaitEnrollment: false, log: createLogger('info', (line) => lines.push(line)),
      otlp: { endpoint: collector.url },
    });
    cleanups.push(() => trail.close());
    await trail.outbox.appendDurable(sampleRecord(1));
    const deadline = Date.now() + 5000;
    while (!lines.some((line) => line.includes('rejected 1 of 1')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines.find((line) => line.includes('rejected 1 of 1'))).toMatch(/ERROR.*quota exceeded/);
  });
});
