import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAuditBatch } from '../../src/audit/batch.js';
import { GENESIS_HASH } from '../../src/audit/chain.js';
import { postEnrollment } from '../../src/control/client/control-api.js';
import { AUDIT_DIFFERS_AT_SEQ_HEADER } from '../../src/control/protocol/audit.js';
import { EdgeControlPaths } from '../../src/control/protocol/paths.js';
import { chainedRecords, postAuditBatch } from './support/audit-upload.js';
import { ADA_KEY, startControlFixture, type ControlFixture } from './support/control-fixture.js';

/**
 * The 409 audit_chain_gap header `Edge-Audit-Differs-At-Seq` is part of the contract: the committed
 * OpenAPI document declares it on the upload's 409, and the server's answer matches what it says (an
 * integer within the refused batch, at most the chain head it names).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let fixture: ControlFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

interface HeaderDoc { schema: { type: string; minimum?: number }; description: string }

function documentedHeader(): HeaderDoc | undefined {
  const doc = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'edge-control-openapi.json'), 'utf8')) as {
    paths: Record<string, { post?: { responses: Record<string, { headers?: Record<string, HeaderDoc> }> } }>;
  };
  return doc.paths[EdgeControlPaths.auditBatches]?.post?.responses['409']?.headers?.[AUDIT_DIFFERS_AT_SEQ_HEADER];
}

describe('Edge-Audit-Differs-At-Seq in the OpenAPI document', () => {
  it('is declared on the audit upload\'s 409, and the server\'s 409 for an overlapping batch keeps to it', async () => {
    const declared = documentedHeader();
    expect(declared).toMatchObject({ schema: { type: 'integer', minimum: 1 } });
    expect(declared!.description).toMatch(/first seq whose record the server does not hold as sent/);

    fixture = await startControlFixture();
    const device = await postEnrollment(fixture.server.url, { method: 'virtual_key', virtual_key: ADA_KEY.value, device: { hostname: 'contract' } });
    const stored = chainedRecords(1, 10, GENESIS_HASH, device.device_id, 'stored');
    expect((await postAuditBatch(fixture.server.url, device.device_credential, buildAuditBatch(stored))).status).toBe(200);
    // Seq 4-12: 4-6 as stored, other records from 7 on.
    const overlapping = [...stored.slice(3, 6), ...chainedRecords(7, 6, stored[5]!.hash, device.device_id, 'other')];
    const batch = buildAuditBatch(overlapping);
    const answer = await postAuditBatch(fixture.server.url, device.device_credential, { ...batch, batch_id: `${batch.batch_id}-b` });
    expect(answer.status).toBe(409);
    const value = answer.headers.get(AUDIT_DIFFERS_AT_SEQ_HEADER);
    expect(value).toMatch(/^[1-9][0-9]*$/);
    const head = (answer.body as { error: { chain_head: { seq: number } } }).error.chain_head;
    expect(Number(value)).toBe(7);
    expect(Number(value)).toBeLessThanOrEqual(Math.min(batch.last_seq, head.seq));
    expect(Number(value)).toBeGreaterThanOrEqual(Math.max(declared!.schema.minimum!, batch.first_seq));
  });
});
