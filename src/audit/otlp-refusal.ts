import type { AuditBatch } from '../control/protocol/audit.js';
import { AuditSinkError, parseRetryAfter } from './sink.js';

/** An OTLP collector's answer other than 2xx to one export request. */
export interface OtlpRefusedExport {
  /** The /v1/logs URL the batch was sent to. */
  url: string;
  batch: AuditBatch;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The answer's body, as text ('' when none). */
  body: string;
}

/**
 * What a non-2xx answer means for the audit logs it refused. The OTLP spec retries only 429, 502, 503
 * and 504 and gives up on everything else, which suits telemetry but not an audit trail: a redirect,
 * an expired API key, a proxy asking for its own credentials or a wrong path is about Edge's
 * configuration, lasts until someone fixes it, and giving up meanwhile would lose every record made
 * in that time. So only answers that are final for this very body drop it: 400 (malformed) and 413
 * (too large; the shipper splits a larger batch first and drops only a single record still refused).
 * Every other answer keeps the batch for the shipper's backoff and says what IT should change.
 */
export function otlpRefusal(answer: OtlpRefusedExport): AuditSinkError {
  const { status } = answer;
  const details = { status, retryAfterMs: parseRetryAfter(answer.headers['retry-after']) };
  if (status === 400 || status === 413) return new AuditSinkError(finalRefusalMessage(answer), { ...details, disposition: 'drop' });
  return new AuditSinkError(`${retryMessage(answer)} ${waiting(answer.batch)}`, { ...details, disposition: 'retry' });
}

function finalRefusalMessage({ url, batch, status, body }: OtlpRefusedExport): string {
  if (status === 413 && batch.records.length > 1) return `OTLP collector at ${url} refused ${batch.records.length} audit logs as too large (HTTP 413); sending smaller batches`;
  if (status === 413) {
    return `OTLP collector at ${url} refused audit log seq ${batch.first_seq} as too large even on its own (HTTP 413); it is skipped — raise the collector's request body limit (the OTLP receiver's max_request_body_size, or the proxy's in front of it) to receive records this large`;
  }
  return `OTLP collector at ${url} refused ${batch.records.length} audit logs as malformed (HTTP 400)${said(body)}; they are skipped, since it would refuse them again`;
}

function retryMessage({ url, batch, status, headers, body }: OtlpRefusedExport): string {
  if (status >= 300 && status < 400) {
    const target = redirectTarget(url, headers.location);
    // Not followed: the Location could hand audit records to a host nobody configured.
    if (!target) return `OTLP collector at ${url} answered HTTP ${status} (a redirect) without saying where to; check that audit.otlpEndpoint names the collector's OTLP/HTTP receiver.`;
    return `OTLP collector at ${url} redirects to ${target} (HTTP ${status}); Edge does not follow a collector's redirects, which could hand audit records to another host: set audit.otlpEndpoint to ${target} if that is the collector.`;
  }
  switch (status) {
    case 401:
      return `OTLP collector at ${url} refused Edge's credentials (HTTP 401)${said(body)}: the API key or token it requires is missing, or expired or rotated; give Edge the current one, or let this collector take Edge's audit logs without.`;
    case 403:
      return `OTLP collector at ${url} refused access (HTTP 403)${said(body)}: the credentials Edge sends lack permission to write logs there, or an allow-list in front of the collector blocks this device; grant it.`;
    case 407:
      return `a proxy between Edge and the OTLP collector at ${url} demands proxy authentication (HTTP 407)${said(body)}: let this device reach the collector without proxy credentials, or set audit.otlpEndpoint to a collector it reaches directly.`;
    case 408:
      return `OTLP collector at ${url} gave up waiting for the request (HTTP 408)${said(body)}; if this repeats, check the network to the collector, or raise its (or its proxy's) request read timeout.`;
  }
  if (status === 429 || status >= 500) return `OTLP collector at ${url} cannot take ${batch.records.length} audit logs now (HTTP ${status})${said(body)}; will retry.`;
  return `OTLP collector at ${url} answered HTTP ${status}${said(body)}, which is not about these audit logs: check that audit.otlpEndpoint names the collector's OTLP/HTTP receiver (Edge appends /v1/logs and sends JSON) and that the collector takes logs.`;
}

function waiting(batch: AuditBatch): string {
  return `The ${batch.records.length} audit logs wait in the outbox and go once the collector takes them.`;
}

/** The Location as an absolute URL (a relative one counts from the request's URL), or undefined. */
function redirectTarget(url: string, location: string | string[] | undefined): string | undefined {
  const value = (Array.isArray(location) ? location[0] : location)?.trim();
  if (!value) return undefined;
  try {
    return new URL(value, url).href;
  } catch {
    return value.slice(0, 300);
  }
}

/** `: the collector said "…"`: an OTLP Status' message when the body is one, else its text, cut short. */
function said(body: string): string {
  const text = body.trim();
  if (!text) return '';
  let message = text;
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed?.message === 'string' && parsed.message) message = parsed.message;
  } catch {
    // Not JSON (a proxy's page, plain text): quoted as it is.
  }
  const oneLine = message.replace(/\s+/g, ' ');
  return `: the collector said "${oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine}"`;
}
