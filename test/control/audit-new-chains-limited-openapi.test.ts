import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { HttpAuditSink } from '../../src/audit/http-sink.js';
import { AuditSinkError } from '../../src/audit/sink.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { ControlErrorBodySchema, CONTROL_ERROR_TYPES } from '../../src/control/protocol/errors.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { startControlServer } from '../../src/control/server/control-server.js';
import { NEW_CHAIN_LIMITS } from '../../src/control/server/new-chain-rate.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, captureLogger, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * The 429 `audit_new_chains_limited` is part of the contract: the committed OpenAPI document declares it on
 * the upload, with its Retry-After header and the server's limits, and the server's answer to a device past
 * its hourly limit keeps to it; the device reads that answer as what it is (records queued, retried later).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

interface ResponseDoc { description: string; headers?: Record<string, { schema: { type: string; minimum?: number } }>; content?: Record<string, { schema: unknown }> }

function documented429(): ResponseDoc | undefined {
  const doc = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'edge-control-openapi.json'), 'utf8')) as {
    paths: Record<string, { post?: { responses: Record<string, ResponseDoc> } }>;
  };
  return doc.paths[EdgeControlPaths.auditBatches]?.post?.responses['429'];
}

const hourly = NEW_CHAIN_LIMITS.find((limit) => limit.per === 'per hour')!;

function chainId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

describe('429 audit_new_chains_limited in the OpenAPI document', () => {
  it('is declared on the audit upload with Retry-After and the server\'s limits, and the server\'s 429 keeps to it', async () => {
    const declared = documented429();
    expect(declared).toBeDefined();
    expect(declared!.description).toMatch(/^audit_new_chains_limited: /);
    for (const limit of NEW_CHAIN_LIMITS) expect(declared!.description).toContain(`${limit.max} ${limit.per}`);
    expect(declared!.content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/ControlError' } } });
    const retryAfterDoc = declared!.headers?.['Retry-After'];
    expect(retryAfterDoc).toMatchObject({ schema: { type: 'integer', minimum: 1 } });
    expect(CONTROL_ERROR_TYPES).toContain('audit_new_chains_limited');

    fixture = await startControlFixture();
    const f = fixture;
    // The same server, with its log kept: the refusal is a warning for IT, not the debug line of any 4xx.
    const serverLog = captureLogger();
    await f.server.close();
    f.server = await startControlServer({ ...f.config, listen: { port: 0 } }, { log: serverLog.log });
    const device = await postEnrollment(f.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'contract' } });
    const batchOfChain = (n: number) => buildAuditBatch(chainedRecords(1, 1, GENESIS_HASH, device.device_id, `c${n}`), { chainId: chainId(n), fromSeq: 1 });
    for (let n = 0; n < hourly.max; n++) expect((await postAuditBatch(f.server.url, device.device_credential, batchOfChain(n))).status).toBe(200);

    const answer = await postAuditBatch(f.server.url, device.device_credential, batchOfChain(hourly.max));
    expect(answer.status).toBe(429);
    const retryAfter = answer.headers.get('retry-after');
    expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(retryAfterDoc!.schema.minimum!);
    expect(Number(retryAfter)).toBeLessThanOrEqual(hourly.windowMs / 1000);
    const body = ControlErrorBodySchema.parse(answer.body);
    expect(body.error.type).toBe('audit_new_chains_limited');
    expect(serverLog.lines.filter((line) => / WARN +audit batch refused: device \S+ started \d+ new audit chains/.test(line))).toHaveLength(1);

    // The device's own client, against the same server: a refusal to retry after the wait, saying why.
    const sink = new HttpAuditSink({ controlUrl: f.server.url, credential: device.device_credential });
    const refusal = await sink.send(batchOfChain(hourly.max), AbortSignal.timeout(10_000)).then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(AuditSinkError);
    const error = refusal as AuditSinkError;
    expect(error.status).toBe(429);
    expect(error.disposition).toBe('retry');
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(error.message).toContain('Edge Control limits how many new audit chains a device starts');
    expect(error.message).toContain(`retrying after ${error.retryAfterMs! / 1000} s; records stay queued`);
    expect(error.message).toContain(`server said: audit_new_chains_limited: device ${device.device_id} started ${hourly.max} new audit chains in the last hour`);
  });
});
