import type { Dispatcher } from 'undici';
import { undici } from '../util/undici-on-demand.js';
import type { AuditAck, AuditBatch } from '../control/protocol/audit.js';
import { encodeOtlpLogs, type OtlpResourceInfo } from './otlp-encoding.js';
import { otlpRefusal } from './otlp-refusal.js';
import { AuditSinkError, type AuditSink } from './sink.js';

export const OTLP_DESTINATION = 'otlp';

export interface OtlpLogsSinkOptions {
  /** Collector base URL (OTEL_EXPORTER_OTLP_ENDPOINT style, e.g. http://127.0.0.1:4318); `/v1/logs` is appended unless already there. */
  endpoint: string;
  /** Extra headers, e.g. an API key for a hosted collector. */
  headers?: Record<string, string>;
  resource?: Partial<OtlpResourceInfo>;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  /** Outbox cursor name, when shipping to more than one collector. Default 'otlp'. */
  destination?: string;
}

/**
 * Exports audit records to an OpenTelemetry collector as OTLP/HTTP JSON logs. A secondary copy:
 * collectors do not deduplicate, so a crash between upload and acknowledgement may deliver a batch
 * twice (every log carries bifrost.audit.seq and .hash to spot that). Only an answer that is final
 * for the body drops it (400, or 413 for a single record); every other refusal keeps it for a retry
 * and says what to change (see otlpRefusal).
 */
export class OtlpLogsSink implements AuditSink {
  readonly destination: string;
  readonly url: string;

  constructor(private readonly options: OtlpLogsSinkOptions) {
    this.destination = options.destination ?? OTLP_DESTINATION;
    this.url = otlpLogsUrl(options.endpoint);
  }

  async send(batch: AuditBatch, signal: AbortSignal): Promise<AuditAck> {
    const payload = encodeOtlpLogs(batch, { serviceName: 'bifrost-edge', ...this.options.resource });
    const timeout = this.options.timeoutMs ?? 30_000;
    let response: Dispatcher.ResponseData;
    try {
      const { request } = await undici();
      response = await request(this.url, {
        method: 'POST',
        headers: { ...this.options.headers, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        dispatcher: this.options.dispatcher,
        signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new AuditSinkError(`could not reach the OTLP collector at ${this.url} (${code ?? (error as Error).message}); will retry`, { cause: error });
    }
    const { statusCode, headers, body } = response;
    const text = await body.text().catch(() => '');
    if (statusCode >= 200 && statusCode < 300) {
      const rejected = rejectedCount(text);
      return { batch_id: batch.batch_id, stored: Math.max(0, batch.records.length - rejected), duplicate: false, chain_head: batch.chain_head };
    }
    throw otlpRefusal({ url: this.url, batch, status: statusCode, headers, body: text });
  }
}

export function otlpLogsUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/logs') ? trimmed : `${trimmed}/v1/logs`;
}

/** ExportLogsServiceResponse.partialSuccess.rejectedLogRecords (int64, so a string or a number), or 0. */
function rejectedCount(text: string): number {
  if (!text) return 0;
  try {
    const value = (JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: string | number } }).partialSuccess?.rejectedLogRecords;
    const n = Number(value ?? 0);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}
