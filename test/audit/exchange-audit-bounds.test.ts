import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { auditRecordFromExchange, type ExchangeAuditContext } from '../../src/audit/exchange-audit.js';
import { HttpAuditSink } from '../../src/audit/http-sink.js';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { AuditRecordSchema } from '../../src/control/protocol/audit.js';
import type { ExchangeRecord } from '../../src/proxy/exchange.js';
import { canonicalJson } from '../../src/util/canonical-json.js';
import { AuditControlServer } from './support/audit-control-server.js';
import { sampleRecord, tempDbPath } from './support/records.js';

/**
 * A record holds text the client chose (model, path, user agent, the message repeating the model, …).
 * Unbounded, one 17 MiB model name made a 34 MiB record that no receiver accepts (Edge Control: 32 MiB,
 * a proxy in front: 1 MiB); the shipper resent it forever and nothing after it was ever uploaded.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MIB = 1024 * 1024;
/** What a record may hold at most, whatever the request carried: far below a 1 MiB proxy body limit. */
const RECORD_CEILING_BYTES = 512 * 1024;
const FIELD_CEILING_BYTES = 4096;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function exchange(overrides: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    id: randomUUID(),
    method: 'POST',
    host: 'api.openai.com',
    path: '/v1/chat/completions',
    provider: 'openai',
    model: 'gpt-4o',
    app: 'curl',
    decision: 'forwarded',
    status: 200,
    findings: [],
    latencyMs: 5,
    ...overrides,
  };
}

const context: ExchangeAuditContext = { deviceId: 'device-1', retention: { mode: 'digest', maxChars: 20_000 } };

/** Bytes of a string as the record's JSON holds it (escapes included, quotes not). */
function jsonBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('audit records of requests carrying huge text', () => {
  it('a 17 MiB model name leaves a small record that ships through a 1 MiB body limit, and the records after it ship too', async () => {
    const model = 'm'.repeat(17 * MIB);
    const record = auditRecordFromExchange(exchange({
      model,
      decision: 'blocked',
      status: 403,
      errorType: 'model_blocked',
      message: `Model '${model}' is not allowed for your virtual key. Ask your administrator.`,
    }), context);

    const outbox = new AuditOutbox({ path: tempDbPath() });
    cleanups.push(() => outbox.close());
    await outbox.appendDurable(record);
    for (let i = 2; i <= 4; i++) await outbox.appendDurable(sampleRecord(i, { device_id: 'device-1' }));

    const server = new AuditControlServer();
    server.maxBodyBytes = MIB; // a reverse proxy's default body limit in front of Edge Control
    await server.start();
    cleanups.push(() => server.stop());
    const shipper = new AuditShipper({ outbox, sink: new HttpAuditSink({ controlUrl: server.url, credential: server.credential }), backoff: { baseMs: 20, maxMs: 100 } });
    shipper.start();
    cleanups.push(() => shipper.stop());

    await until(() => outbox.depth() === 0, 'every record to be acknowledged');
    // The server recomputed every hash: the bounded record is what was chained.
    expect(server.stored.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const shipped = server.stored[0]!.record;
    expect(shipped.reason).toBe('model_blocked');
    expect(Buffer.byteLength(canonicalJson(shipped))).toBeLessThan(16 * 1024);
    expect(jsonBytes(shipped.model!)).toBeLessThanOrEqual(FIELD_CEILING_BYTES);
    expect(shipped.model).toMatch(new RegExp(`^m{1000,}…\\(truncated, ${17 * MIB} bytes\\)$`));
    expect(shipped.message).toMatch(/^Model 'm{1000,}…\(truncated, \d+ bytes\)$/);
  });

  it('bounds every free-text field, cutting on a character boundary and saying how much was cut', () => {
    // Each field ends its kept part with a character that must not be split: an emoji (two UTF-16 units).
    const huge = (prefix: string) => `${prefix}${'x'.repeat(FIELD_CEILING_BYTES - prefix.length - 30)}${'😀'.repeat(MIB)}`;
    const record = auditRecordFromExchange(exchange({
      method: huge('POST'),
      host: huge('api.'),
      path: huge('/v1/'),
      provider: huge('openai'),
      model: huge('gpt-'),
      app: huge('curl'),
      decision: 'blocked',
      status: 403,
      errorType: huge('model_'),
      message: huge('Model '),
    }), {
      ...context,
      user: { sub: huge('user-'), email: huge('ada@') },
      virtualKeyId: huge('vk-'),
    });

    const fields = {
      method: record.method, host: record.host, path: record.path, provider: record.provider, model: record.model, app: record.app,
      reason: record.reason, message: record.message, 'user.sub': record.user?.sub, 'user.email': record.user?.email, virtual_key_id: record.virtual_key_id,
    };
    for (const [field, value] of Object.entries(fields)) {
      expect(jsonBytes(value!), field).toBeLessThanOrEqual(FIELD_CEILING_BYTES);
      expect(value, field).toMatch(/…\(truncated, \d+ bytes\)$/);
      expect(LONE_SURROGATE.test(value!), `${field} has half a character`).toBe(false);
    }
    expect(record.model).toMatch(/^gpt-x+(😀)*…/);
    expect(AuditRecordSchema.safeParse(record).success).toBe(true);
  });

  it('counts JSON escapes: a name of quotes and control characters stays within the field bound as stored', () => {
    const record = auditRecordFromExchange(exchange({ model: '"\u0001\\'.repeat(MIB) }), context);
    expect(jsonBytes(record.model!)).toBeLessThanOrEqual(FIELD_CEILING_BYTES);
    expect(record.model).toMatch(/…\(truncated, \d+ bytes\)$/);
    expect(record.model!.startsWith('"\u0001\\"\u0001\\')).toBe(true);
  });

  it('bounds the findings: huge names and locations are cut, and thousands of matches are summed up per rule', () => {
    const manyAtOnePlace = Array.from({ length: 200_000 }, () => ({ type: 'email', ruleId: 'pii.email', action: 'flag' as const, location: 'response' }));
    const manyPlaces = Array.from({ length: 50_000 }, (_, i) => ({ type: 'aws_key', ruleId: 'secrets.aws', action: 'block' as const, location: `messages[${i}].content` }));
    const hugeNames = [{ type: 't'.repeat(MIB), ruleId: 'r'.repeat(MIB), action: 'redact' as const, location: `metadata[${JSON.stringify('k'.repeat(MIB))}]` }];
    const record = auditRecordFromExchange(exchange({ decision: 'blocked', findings: [...manyPlaces, ...manyAtOnePlace, ...hugeNames] }), context);

    expect(record.findings).toHaveLength(3);
    expect(record.findings![0]).toEqual({ type: 'aws_key', rule_id: 'secrets.aws', action: 'block', location: 'messages[0].content (+49999 more matches)' });
    expect(record.findings![1]).toEqual({ type: 'email', rule_id: 'pii.email', action: 'flag', location: 'response (+199999 more matches)' });
    const named = record.findings![2]!;
    for (const value of [named.type, named.rule_id, named.location!]) {
      expect(jsonBytes(value)).toBeLessThanOrEqual(512);
      expect(value).toMatch(/…\(truncated, \d+ bytes\)$/);
    }
    expect(Buffer.byteLength(canonicalJson(AuditRecordSchema.parse(record)))).toBeLessThan(RECORD_CEILING_BYTES);
  });

  it('keeps a few findings as they are, one per match', () => {
    const findings = [
      { type: 'email', ruleId: 'pii.email', action: 'redact' as const, location: 'messages[0].content' },
      { type: 'email', ruleId: 'pii.email', action: 'redact' as const, location: 'messages[0].content' },
      { type: 'aws_key', ruleId: 'secrets.aws', action: 'block' as const, location: 'messages[1].content' },
    ];
    const record = auditRecordFromExchange(exchange({ decision: 'blocked', findings }), context);
    expect(record.findings).toEqual(findings.map((f) => ({ type: f.type, rule_id: f.ruleId, action: f.action, location: f.location })));
  });

  it('caps a fully retained prompt below any receiver limit even when the policy keeps millions of characters', () => {
    const prompt = 'secret-free text \u0001 '.repeat(MIB);
    const record = auditRecordFromExchange(exchange({ prompt }), { ...context, retention: { mode: 'full', maxChars: 100_000_000 } });
    const content = record.content as { mode: 'full'; text: string; truncated: boolean };
    expect(Buffer.byteLength(canonicalJson(AuditRecordSchema.parse(record)))).toBeLessThan(RECORD_CEILING_BYTES);
    expect(content.truncated).toBe(true);
    expect(prompt.startsWith(content.text)).toBe(true);
    expect(content.text.length).toBeGreaterThan(10_000);
  });

  it('leaves ordinary records exactly as they were', () => {
    const record = auditRecordFromExchange(exchange({ id: 'req-1', latencyMs: 7, prompt: 'hello ☃ 😀' }), { ...context, user: { sub: 'u1', email: 'ada@example.com' }, virtualKeyId: 'vk-eng', retention: { mode: 'full', maxChars: 20_000 } });
    expect(record).toMatchObject({
      request_id: 'req-1', device_id: 'device-1', user: { sub: 'u1', email: 'ada@example.com' }, virtual_key_id: 'vk-eng', app: 'curl', host: 'api.openai.com',
      method: 'POST', path: '/v1/chat/completions', provider: 'openai', model: 'gpt-4o', decision: 'allowed', findings: [], status: 200, latency_ms: 7,
      content: { mode: 'full', text: 'hello ☃ 😀', truncated: false },
    });
  });
});
