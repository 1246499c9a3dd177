import type { Dispatcher } from 'undici';
import { undici } from '../util/undici-on-demand.js';
import type { AuditBatch } from '../control/protocol/audit.js';
import type { Logger } from '../log.js';
import { encodeOtlpLogs, type OtlpResourceInfo } from './otlp-encoding.js';
import { otlpRefusal } from './otlp-refusal.js';
import { readOtlpExportAnswer } from './otlp-response.js';
import { AuditSinkError, type AuditSink, type AuditSinkAck } from './sink.js';

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
  /** Where a partial success (records the collector rejected) or a collector's warning is reported. */
  log?: Logger;
}

/**
 * Exports audit records to an OpenTelemetry collector as OTLP/HTTP JSON logs. A secondary copy:
 * collectors do not deduplicate, so a crash between upload and acknowledgement may deliver a batch
 * twice (every log carries bifrost.audit.seq and .hash to spot that). Only an answer that is final
 * for the body drops it (400, or 413 for a single record); every other refusal keeps it for a retry
 * and says what to change (see otlpRefusal). A 2xx counts only with an ExportLogsServiceResponse for
 * a body (see readOtlpExportAnswer); records it reports rejected are final, so they are logged and
 * named in the acknowledgement, not resent.
 */
export class OtlpLogsSink implements AuditSink {
  readonly destination: string;
  readonly url: string;

  constructor(private readonly options: OtlpLogsSinkOptions) {
    this.destination = options.destination ?? OTLP_DESTINATION;
    this.url = otlpLogsUrl(options.endpoint);
  }

  async send(batch: AuditBatch, signal: AbortSignal): Promise<AuditSinkAck> {
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
    if (statusCode < 200 || statusCode >= 300) throw otlpRefusal({ url: this.url, batch, status: statusCode, headers, body: text });
    const answer = readOtlpExportAnswer(headers['content-type'], text);
    const records = batch.records.length;
    if (!answer.accepted) {
      throw new AuditSinkError(
        `OTLP collector at ${this.url} answered HTTP ${statusCode} ${answer.problem}, not an OTLP ExportLogsServiceResponse: audit.otlpEndpoint ` +
        'seems to name a web page (a UI, a sign-in or captive portal) rather than a collector\'s OTLP/HTTP receiver (port 4318 by default); ' +
        `point it at the collector. The ${records} audit logs wait in the outbox and go once the collector takes them.`,
        { status: statusCode },
      );
    }
    const ack: AuditSinkAck = { batch_id: batch.batch_id, stored: records, duplicate: false, chain_head: batch.chain_head };
    if (answer.rejected > 0) {
      const rejected = Math.min(answer.rejected, records);
      this.options.log?.error(
        `OTLP collector at ${this.url} rejected ${rejected} of ${records} audit logs (seq ${batch.first_seq}-${batch.last_seq})` +
        `${answer.message ? `: "${answer.message}"` : ' without saying why'}; they are not sent again (the collector took the batch), ` +
        'so fix what it reports (a quota, a size or attribute limit, a filter) for it to receive records like these',
        { destination: this.destination, batch_id: batch.batch_id, rejected, records },
      );
      return { ...ack, stored: records - rejected, rejected: { records: rejected, message: answer.message } };
    }
    if (answer.message) {
      this.options.log?.warn(`OTLP collector at ${this.url} took all ${records} audit logs (seq ${batch.first_seq}-${batch.last_seq}) with a warning: "${answer.message}"`, { destination: this.destination, batch_id: batch.batch_id });
    }
    return ack;
  }
}

export function otlpLogsUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/logs') ? trimmed : `${trimmed}/v1/logs`;
}
