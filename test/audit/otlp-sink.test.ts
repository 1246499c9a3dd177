import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AuditOutbox } from '../../src/audit/outbox.js';
import { OtlpLogsSink, otlpLogsUrl } from '../../src/audit/otlp-sink.js';
import { AuditShipper } from '../../src/audit/shipper.js';
import { startOtlpCollector } from './support/otlp-collector.js';
import { sampleRecord, tempDbPath } from './support/records.js';
import { until } from '../support/until.js';

/**
 * OTLP/JSON logs as the collector's receiver accepts them (opentelemetry-proto logs/v1, JSON mapping):
 * written from the spec, strict, so a misspelled or snake_case field fails.
 */
const AnyValue: z.ZodType = z.lazy(() => z.union([
  z.strictObject({ stringValue: z.string() }),
  z.strictObject({ boolValue: z.boolean() }),
  z.strictObject({ intValue: z.string().regex(/^-?\d+$/) }),
  z.strictObject({ doubleValue: z.number() }),
  z.strictObject({ arrayValue: z.strictObject({ values: z.array(AnyValue) }) }),
  z.strictObject({ kvlistValue: z.strictObject({ values: z.array(KeyValue) }) }),
]));
const KeyValue = z.strictObject({ key: z.string().min(1), value: AnyValue });
const Attributes = z.array(KeyValue).refine((attrs) => new Set(attrs.map((a) => a.key)).size === attrs.length, 'attribute keys must be unique');
const LogRecord = z.strictObject({
  timeUnixNano: z.string().regex(/^\d{19}$/),
  observedTimeUnixNano: z.string().regex(/^\d{19}$/),
  severityNumber: z.number().int().min(1).max(24),
  severityText: z.string(),
  body: AnyValue,
  attributes: Attributes,
  traceId: z.string().optional(),
  spanId: z.string().optional(),
});
const ExportLogsServiceRequest = z.strictObject({
  resourceLogs: z.array(z.strictObject({
    resource: z.strictObject({ attributes: Attributes }),
    scopeLogs: z.array(z.strictObject({
      scope: z.strictObject({ name: z.string(), version: z.string() }),
      logRecords: z.array(LogRecord).min(1),
    })),
    schemaUrl: z.string().optional(),
  })).min(1),
});
type ExportLogs = z.infer<typeof ExportLogsServiceRequest>;

const json = { 'content-type': 'application/json' };

/**
 * A collector that takes only what its receiver would (a POST to /v1/logs, in JSON, that parses as an
 * ExportLogsServiceRequest) and answers a status pushed onto `nextStatus` first (then 200 again).
 */
async function startStrictCollector() {
  const nextStatus: number[] = [];
  const collector = await startOtlpCollector(({ method, url, headers, body }) => {
    if (method !== 'POST' || url !== '/v1/logs') return { status: 404 };
    if (headers['content-type'] !== 'application/json') return { status: 415 };
    const status = nextStatus.shift();
    if (status) return { status, headers: json, body: '{"code":3,"message":"rejected"}' };
    const parsed = ExportLogsServiceRequest.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? undefined : { status: 400, headers: json, body: JSON.stringify({ message: z.prettifyError(parsed.error) }) };
  });
  return {
    url: collector.url,
    nextStatus,
    get received(): ExportLogs[] { return collector.taken.map((request) => ExportLogsServiceRequest.parse(request.body)); },
    get headers() { return collector.taken.map((request) => request.headers); },
    close: () => collector.close(),
  };
}

function attr(attrs: { key: string; value: unknown }[], key: string): unknown {
  return attrs.find((a) => a.key === key)?.value;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('OtlpLogsSink', () => {
  it('exports records as OTLP/HTTP JSON logs a collector accepts, on its own cursor', async () => {
    const collector = await startStrictCollector();
    cleanups.push(() => collector.close());
    const outbox = new AuditOutbox({ path: tempDbPath(), destinations: ['control', 'otlp'] });
    cleanups.push(() => outbox.close());
    outbox.append(sampleRecord(1, {
      decision: 'blocked', reason: 'guardrail_blocked', status: 446, user: { sub: 'u-1', email: 'a@example.com' },
      findings: [{ type: 'aws_access_key', rule_id: 'secret.aws', action: 'block' }],
      content: { mode: 'digest', sha256: 'f'.repeat(64) }, cost_usd: 0.01, policy_version: 4,
    }));
    for (let i = 2; i <= 7; i++) outbox.append(sampleRecord(i));
    await outbox.flush();

    const sink = new OtlpLogsSink({ endpoint: `${collector.url}/`, headers: { 'x-api-key': 'k' }, resource: { serviceVersion: '0.1.0' } });
    const shipper = new AuditShipper({ outbox, sink, batchSize: 4 });
    cleanups.push(() => shipper.stop());
    shipper.start();
    expect(await until(() => outbox.depth('otlp') === 0, 10_000)).toBe(true);

    expect(collector.received).toHaveLength(2);
    expect(outbox.depth('control')).toBe(7); // Edge Control's cursor is independent
    expect(collector.headers[0]!['x-api-key']).toBe('k');
    const [request] = collector.received;
    const resource = request!.resourceLogs[0]!.resource.attributes;
    expect(attr(resource, 'service.name')).toEqual({ stringValue: 'bifrost-edge' });
    expect(attr(resource, 'service.version')).toEqual({ stringValue: '0.1.0' });
    expect(attr(resource, 'host.id')).toEqual({ stringValue: 'device-1' });
    const scopeLogs = request!.resourceLogs[0]!.scopeLogs[0]!;
    expect(scopeLogs.scope).toEqual({ name: 'bifrost-edge.audit', version: '1' });
    const blocked = scopeLogs.logRecords[0]!;
    expect(blocked.timeUnixNano).toBe(String(Date.parse(sampleRecord(1).ts) * 1_000_000));
    expect(blocked).toMatchObject({ severityNumber: 13, severityText: 'WARN', body: { stringValue: 'blocked POST api.openai.com/v1/chat/completions openai/gpt-4o: guardrail_blocked' } });
    expect(attr(blocked.attributes, 'bifrost.audit.seq')).toEqual({ intValue: '1' });
    expect(attr(blocked.attributes, 'http.response.status_code')).toEqual({ intValue: '446' });
    expect(attr(blocked.attributes, 'bifrost.latency_ms')).toEqual({ doubleValue: 121 });
    expect(attr(blocked.attributes, 'bifrost.guardrail.finding_types')).toEqual({ arrayValue: { values: [{ stringValue: 'aws_access_key' }] } });
    expect(attr(blocked.attributes, 'bifrost.content.sha256')).toEqual({ stringValue: 'f'.repeat(64) });
    expect(attr(blocked.attributes, 'user.email')).toEqual({ stringValue: 'a@example.com' });
    expect(JSON.parse((attr(blocked.attributes, 'bifrost.audit.record') as { stringValue: string }).stringValue)).toMatchObject({ request_id: 'req-1', decision: 'blocked' });
    expect(scopeLogs.logRecords[1]).toMatchObject({ severityNumber: 9, severityText: 'INFO' });
  });

  it('retries what the collector may take later and drops what it never will', async () => {
    const collector = await startStrictCollector();
    cleanups.push(() => collector.close());
    collector.nextStatus.push(503, 400);
    const outbox = new AuditOutbox({ path: tempDbPath(), destinations: ['otlp'] });
    cleanups.push(() => outbox.close());
    for (let i = 1; i <= 4; i++) outbox.append(sampleRecord(i));
    await outbox.flush();
    const shipper = new AuditShipper({ outbox, sink: new OtlpLogsSink({ endpoint: collector.url }), batchSize: 2, backoff: { baseMs: 10, maxMs: 20 } });
    cleanups.push(() => shipper.stop());
    const failed: number[] = [];
    const dropped: string[] = [];
    shipper.on('ship_failed', (error) => failed.push((error as { status?: number }).status ?? 0));
    shipper.on('batch_dropped', (batch) => dropped.push(batch.batch_id));
    shipper.start();
    expect(await until(() => outbox.depth('otlp') === 0, 10_000)).toBe(true);
    expect(failed).toEqual([503]);
    expect(dropped).toEqual(['device-1:1-2']);
    expect(collector.received.flatMap((r) => r.resourceLogs[0]!.scopeLogs[0]!.logRecords)).toHaveLength(2);
  });

  it('appends /v1/logs to a base endpoint only once', () => {
    expect(otlpLogsUrl('http://collector:4318')).toBe('http://collector:4318/v1/logs');
    expect(otlpLogsUrl('http://collector:4318/v1/logs')).toBe('http://collector:4318/v1/logs');
  });
});
