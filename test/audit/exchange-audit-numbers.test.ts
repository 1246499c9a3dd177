import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRecordFromExchange, type ExchangeAuditContext } from '../../src/audit/exchange-audit.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import type { AuditRecord } from '../../src/control/protocol/audit.js';
import { usageFromJson } from '../../src/policy/usage.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { tempDbPath } from './support/records.js';

/**
 * Token counts and costs come from what an upstream answered. The audit format wants whole,
 * non-negative token counts and a finite cost; a record that breaks that is refused by the outbox,
 * so an answer reporting `prompt_tokens: 10.5` was delivered without a record (fail open) or cut off
 * (fail closed). Whatever the upstream reports, the exchange must be recorded.
 */

const open: AuditOutbox[] = [];
afterEach(() => {
  for (const outbox of open.splice(0)) outbox.close();
});

function exchange(overrides: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return { id: randomUUID(), method: 'POST', host: 'api.openai.com', path: '/v1/chat/completions', provider: 'openai', model: 'gpt-4o', app: 'curl', decision: 'forwarded', status: 200, findings: [], latencyMs: 5, ...overrides };
}

const base: ExchangeAuditContext = { deviceId: 'device-1', retention: { mode: 'none', maxChars: 20_000 } };

/** Appends the records to a real outbox and reads back what was stored. */
async function storeAll(contexts: Array<{ exchange?: Partial<ExchangeRecord>; context: Partial<ExchangeAuditContext> }>): Promise<AuditRecord[]> {
  const dbPath = tempDbPath();
  const outbox = new AuditOutbox({ path: dbPath, destinations: [] });
  open.push(outbox);
  for (const { exchange: e, context } of contexts) await outbox.appendDurable(auditRecordFromExchange(exchange(e), { ...base, ...context }));
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT record_json FROM audit_records ORDER BY seq').all() as { record_json: string }[]).map((row) => JSON.parse(row.record_json) as AuditRecord);
  } finally {
    db.close();
  }
}

/** What the agent hands the audit for an answer's usage (src/agent.ts onCharge). */
function chargeFor(body: unknown, costUsd: number): Partial<ExchangeAuditContext> {
  const usage = usageFromJson(body)!;
  return { usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens }, costUsd };
}

describe('audit records of answers with odd usage figures', () => {
  it('records an answer whose usage is fractional, rounded to whole tokens', async () => {
    const [record] = await storeAll([{ context: chargeFor({ usage: { prompt_tokens: 10.5, completion_tokens: 2.4, total_tokens: 12.9 } }, 0.00003) }]);
    expect(record!.usage).toEqual({ input_tokens: 11, output_tokens: 2 });
    expect(record!.cost_usd).toBe(0.00003);
  });

  it('records an answer whose counts are astronomically large, with the count capped and a finite cost', async () => {
    const huge = chargeFor({ usage: { input_tokens: 1e308, output_tokens: 1e308, cache_read_input_tokens: 1e308 } }, Infinity);
    expect(huge.usage!.input_tokens).toBe(Infinity); // 1e308 + 1e308 overflowed while being added up
    const [record] = await storeAll([{ context: huge }]);
    expect(record!.usage).toEqual({ input_tokens: Number.MAX_SAFE_INTEGER, output_tokens: Number.MAX_SAFE_INTEGER });
    expect(record!.cost_usd).toBe(Number.MAX_VALUE);
  });

  it('records figures that make no sense as the nearest valid ones, never refusing the record', async () => {
    const records = await storeAll([
      { context: { usage: { input_tokens: -3, output_tokens: Number.NaN }, costUsd: -0.5 } },
      { context: { usage: { input_tokens: 4, output_tokens: 1 }, costUsd: Number.NaN } },
      // The wall clock stepped back during the exchange (latency is measured with Date.now()).
      { exchange: { latencyMs: -1500 }, context: {} },
    ]);
    expect(records[0]).toMatchObject({ usage: { input_tokens: 0, output_tokens: 0 }, cost_usd: 0 });
    expect(records[1]!.usage).toEqual({ input_tokens: 4, output_tokens: 1 });
    expect(records[1]).not.toHaveProperty('cost_usd'); // unknown, not a made-up figure
    expect(records[2]!.latency_ms).toBe(0);
  });

  it('keeps ordinary figures exactly', async () => {
    const [record] = await storeAll([{ exchange: { latencyMs: 12.5 }, context: chargeFor({ usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }, 0.000125) }]);
    expect(record).toMatchObject({ usage: { input_tokens: 10, output_tokens: 2 }, cost_usd: 0.000125, latency_ms: 12.5 });
  });
});
