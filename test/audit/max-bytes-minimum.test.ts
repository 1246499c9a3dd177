import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRecordFromExchange } from '../../src/audit/exchange-audit.js';
import { LARGEST_RECORD_ROW_BYTES } from '../../src/audit/largest-record.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { tempDbPath } from './support/records.js';

/**
 * The smallest audit.maxBytes that holds every record Edge can write, computed from the record bounds
 * (largest-record.ts): a cap at it takes the largest record Edge actually builds from a request.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('audit.maxBytes', () => {
  it('at the minimum holds the largest record Edge builds from a request', async () => {
    // Past every bound (4 KiB a field, 256 bytes a finding text, 128 KiB of prompt), in characters that JSON escapes.
    const huge = 'é"\u0001'.repeat(8 * 1024);
    const findingText = 'é"\u0001'.repeat(512);
    const record = auditRecordFromExchange({
      id: randomUUID(), method: huge, host: huge, path: huge, provider: huge, model: huge, app: huge,
      decision: 'blocked', status: 403, errorType: huge, message: huge, latencyMs: 5, prompt: huge.repeat(32),
      findings: Array.from({ length: 500 }, (_, i) => ({ type: `${findingText}${i}`, ruleId: `${findingText}${i}`, action: 'redact' as const, location: findingText })),
    }, { deviceId: 'device-1', user: { sub: huge, email: huge }, virtualKeyId: huge, retention: { mode: 'full', maxChars: Number.MAX_SAFE_INTEGER } });
    const outbox = new AuditOutbox({ path: tempDbPath(), maxBytes: LARGEST_RECORD_ROW_BYTES });
    cleanups.push(() => outbox.close());
    await expect(outbox.appendDurable(record)).resolves.toMatchObject({ seq: 1 });
  });
});
