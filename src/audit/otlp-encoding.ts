import type { AuditBatch, AuditDecision, ChainedAuditRecord } from '../control/protocol/audit.js';
import { canonicalJson } from '../util/canonical-json.js';

/**
 * OTLP/JSON (opentelemetry-proto, logs v1) as sent over OTLP/HTTP: camelCase field names, enums as
 * numbers, 64-bit integers as decimal strings.
 */
export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } };

export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: OtlpAnyValue;
  attributes: OtlpKeyValue[];
}

export interface OtlpExportLogsRequest {
  resourceLogs: {
    resource: { attributes: OtlpKeyValue[] };
    scopeLogs: { scope: { name: string; version: string }; logRecords: OtlpLogRecord[] }[];
  }[];
}

export interface OtlpResourceInfo {
  serviceName: string;
  serviceVersion?: string;
  /** Extra resource attributes (deployment.environment, …). */
  attributes?: Record<string, string>;
}

export const OTLP_SCOPE = { name: 'bifrost-edge.audit', version: '1' };

/** SeverityNumber values from the OTel logs data model. */
const SEVERITY: Record<AuditDecision, { number: number; text: string }> = {
  allowed: { number: 9, text: 'INFO' },
  redacted: { number: 10, text: 'INFO2' },
  flagged: { number: 11, text: 'INFO3' },
  blocked: { number: 13, text: 'WARN' },
  failed: { number: 17, text: 'ERROR' },
};

/** One OTLP logs export request for a batch: one log record per audit record, device as the resource. */
export function encodeOtlpLogs(batch: AuditBatch, resource: OtlpResourceInfo, observedAt: Date = new Date()): OtlpExportLogsRequest {
  const resourceAttributes: OtlpKeyValue[] = [
    str('service.name', resource.serviceName),
    ...(resource.serviceVersion ? [str('service.version', resource.serviceVersion)] : []),
    str('host.id', batch.device_id),
    ...Object.entries(resource.attributes ?? {}).map(([key, value]) => str(key, value)),
  ];
  const observed = unixNanos(observedAt.getTime());
  return {
    resourceLogs: [{
      resource: { attributes: resourceAttributes },
      scopeLogs: [{ scope: OTLP_SCOPE, logRecords: batch.records.map((r) => encodeLogRecord(r, observed)) }],
    }],
  };
}

function encodeLogRecord(chained: ChainedAuditRecord, observedTimeUnixNano: string): OtlpLogRecord {
  const r = chained.record;
  const severity = SEVERITY[r.decision];
  const target = [r.provider, r.model].filter(Boolean).join('/');
  const summary = `${r.decision} ${r.method ?? ''} ${r.host}${r.path ?? ''}${target ? ` ${target}` : ''}${r.reason ? `: ${r.reason}` : ''}`.replace(/\s+/g, ' ').trim();
  const attributes: (OtlpKeyValue | undefined)[] = [
    int('bifrost.audit.seq', chained.seq),
    str('bifrost.audit.hash', chained.hash),
    str('bifrost.audit.prev_hash', chained.prev_hash),
    // The exact record, so a collector-side pipeline can re-verify the chain or archive it whole.
    str('bifrost.audit.record', canonicalJson(r)),
    str('bifrost.request_id', r.request_id),
    str('bifrost.device_id', r.device_id),
    str('bifrost.decision', r.decision),
    opt(str, 'bifrost.reason', r.reason),
    str('bifrost.app', r.app),
    str('server.address', r.host),
    opt(str, 'http.request.method', r.method),
    opt(str, 'url.path', r.path),
    opt(int, 'http.response.status_code', r.status),
    double('bifrost.latency_ms', r.latency_ms),
    opt(str, 'gen_ai.system', r.provider),
    opt(str, 'gen_ai.request.model', r.model ?? undefined),
    opt(int, 'gen_ai.usage.input_tokens', r.usage?.input_tokens),
    opt(int, 'gen_ai.usage.output_tokens', r.usage?.output_tokens),
    opt(double, 'bifrost.cost_usd', r.cost_usd),
    // Edge's estimate when the provider reported no usage: apart from gen_ai.usage.*, which are provider figures.
    opt(int, 'bifrost.estimated_usage.input_tokens', r.estimated_usage?.input_tokens),
    opt(int, 'bifrost.estimated_usage.output_tokens', r.estimated_usage?.output_tokens),
    opt(double, 'bifrost.estimated_usage.cost_usd', r.estimated_usage?.cost_usd),
    opt(str, 'bifrost.virtual_key_id', r.virtual_key_id),
    opt(str, 'user.id', r.user?.sub),
    opt(str, 'user.email', r.user?.email),
    opt(int, 'bifrost.policy_version', r.policy_version),
    r.findings.length > 0 ? strings('bifrost.guardrail.finding_types', r.findings.map((f) => f.type)) : undefined,
    r.findings.length > 0 ? strings('bifrost.guardrail.rule_ids', r.findings.map((f) => f.rule_id)) : undefined,
    r.content?.mode === 'digest' ? str('bifrost.content.sha256', r.content.sha256) : undefined,
    r.content?.mode === 'full' ? str('bifrost.content.text', r.content.text) : undefined,
  ];
  return {
    timeUnixNano: unixNanos(Date.parse(r.ts)),
    observedTimeUnixNano,
    severityNumber: severity.number,
    severityText: severity.text,
    body: { stringValue: summary },
    attributes: attributes.filter((a): a is OtlpKeyValue => a !== undefined),
  };
}

function unixNanos(ms: number): string {
  return (BigInt(Math.round(ms)) * 1_000_000n).toString();
}

function str(key: string, value: string): OtlpKeyValue {
  return { key, value: { stringValue: value } };
}

function int(key: string, value: number): OtlpKeyValue {
  return { key, value: { intValue: String(Math.trunc(value)) } };
}

function double(key: string, value: number): OtlpKeyValue {
  return { key, value: { doubleValue: value } };
}

function strings(key: string, values: string[]): OtlpKeyValue {
  return { key, value: { arrayValue: { values: values.map((v) => ({ stringValue: v })) } } };
}

function opt<T>(make: (key: string, value: T) => OtlpKeyValue, key: string, value: T | undefined): OtlpKeyValue | undefined {
  return value === undefined || value === null ? undefined : make(key, value);
}
