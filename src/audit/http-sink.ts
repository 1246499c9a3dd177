import type { Dispatcher } from 'undici';
import { undici } from '../util/undici-on-demand.js';
import { AUDIT_DIFFERS_AT_SEQ_HEADER, AuditAckSchema, AuditChainGapErrorSchema, type AuditAck, type AuditBatch } from '../control/protocol/audit.js';
import { AUDIT_RECORD_FIELDS_HEADER, EdgeControlPaths, endpointUrl, IDEMPOTENCY_KEY_HEADER } from '../control/protocol/paths.js';
import { CONTROL_DESTINATION } from './outbox.js';
import { auditBatchId } from './batch.js';
import { AuditChainGapError, type ServerChainHead } from './chain-gap.js';
import { AuditSinkError, parseRetryAfter, type AuditSink } from './sink.js';

export interface HttpAuditSinkOptions {
  /** Edge Control base URL, e.g. https://bifrost.example.com (a path prefix is kept). */
  controlUrl: string;
  /** The device credential, read per upload so a rotated credential is picked up without a restart. */
  credential: string | (() => string | Promise<string>);
  /**
   * The device id Edge Control enrolled this device under. Records keep the id they were written
   * with (possibly a local one, before the first enrollment); the batch is filed under the
   * enrolled id, which is what the server checks against the credential.
   */
  deviceId?: () => string | Promise<string>;
  /** For a private CA or a proxy (undici Agent / ProxyAgent). */
  dispatcher?: Dispatcher;
  /** Header and body timeouts of one upload. Default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
  /** Given AUDIT_RECORD_FIELDS_HEADER of every accepted upload: the newer record fields the server takes. */
  onRecordFields?: (header: string | string[] | undefined) => void;
}

/**
 * Uploads batches to Edge Control: POST <controlUrl>/api/edge/v1/audit/batches with the batch as
 * JSON, `Authorization: Bearer <device credential>` and `Idempotency-Key: <batch_id>`. A 2xx answer
 * carrying an AuditAck for this batch (duplicate or not) is the only success.
 */
export class HttpAuditSink implements AuditSink {
  readonly destination = CONTROL_DESTINATION;
  readonly url: string;

  constructor(private readonly options: HttpAuditSinkOptions) {
    this.url = auditBatchesUrl(options.controlUrl);
  }

  async send(recordBatch: AuditBatch, signal: AbortSignal): Promise<AuditAck> {
    // The credential may wait for the device's enrollment: an abort (timeout, stop) ends that wait too.
    const credential = typeof this.options.credential === 'function' ? await untilAborted(this.options.credential(), signal) : this.options.credential;
    const deviceId = this.options.deviceId ? await untilAborted(this.options.deviceId(), signal) : recordBatch.device_id;
    const batch = deviceId === recordBatch.device_id
      ? recordBatch
      : { ...recordBatch, device_id: deviceId, batch_id: auditBatchId(deviceId, recordBatch.first_seq, recordBatch.last_seq, recordBatch.chain_id) };
    const timeout = this.options.timeoutMs ?? 30_000;
    let response: Dispatcher.ResponseData;
    try {
      const { request } = await undici();
      response = await request(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: `Bearer ${credential}`,
          [IDEMPOTENCY_KEY_HEADER]: batch.batch_id,
          'user-agent': this.options.userAgent ?? 'bifrost-edge',
        },
        body: JSON.stringify(batch),
        dispatcher: this.options.dispatcher,
        signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new AuditSinkError(`could not reach Edge Control at ${this.url} (${code ?? (error as Error).message}); audit records stay queued and will be retried`, { cause: error });
    }

    const { statusCode, headers, body } = response;
    if (statusCode >= 200 && statusCode < 300) {
      let parsed: unknown;
      try {
        parsed = await body.json();
      } catch (error) {
        throw new AuditSinkError(`Edge Control answered HTTP ${statusCode} to audit batch ${batch.batch_id} without a JSON AuditAck; is ${this.url} really Edge Control?`, { status: statusCode, cause: error });
      }
      const ack = AuditAckSchema.safeParse(parsed);
      if (!ack.success) {
        throw new AuditSinkError(`Edge Control answered HTTP ${statusCode} to audit batch ${batch.batch_id} but not with an AuditAck (${ack.error.issues[0]?.message ?? 'invalid'}); check the server version`, { status: statusCode });
      }
      this.options.onRecordFields?.(headers[AUDIT_RECORD_FIELDS_HEADER]);
      // The shipper knows the batch by the id it built; answer in those terms when it was refiled.
      return ack.data.batch_id === batch.batch_id ? { ...ack.data, batch_id: recordBatch.batch_id } : ack.data;
    }

    const text = await body.text().catch(() => '');
    const detail = serverExplanation(text);
    const message = `${refusalMessage(statusCode, batch)}${detail ? ` — server said: ${detail}` : ''}`;
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    const serverHead = statusCode === 409 ? chainGapHead(text) : undefined;
    if (serverHead) throw new AuditChainGapError(message, serverHead, { status: statusCode, retryAfterMs }, seqHeader(headers[AUDIT_DIFFERS_AT_SEQ_HEADER]));
    throw new AuditSinkError(message, { status: statusCode, retryAfterMs });
  }
}

export function auditBatchesUrl(controlUrl: string): string {
  return endpointUrl(controlUrl, EdgeControlPaths.auditBatches).toString();
}

/** Edge Control errors are `{"error":{"type","message"}}`; fall back to the raw text for anything else. */
function serverExplanation(text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: { type?: unknown; message?: unknown } }).error;
    if (error && typeof error.message === 'string') return `${typeof error.type === 'string' ? `${error.type}: ` : ''}${error.message}`.slice(0, 500);
  } catch {
    // not JSON: show it as it came
  }
  return text.slice(0, 500);
}

/** Where Edge Control's copy of the chain ends, from its 409 `audit_chain_gap` answer (absent from older servers). */
function chainGapHead(text: string): ServerChainHead | undefined {
  try {
    const parsed = AuditChainGapErrorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.error.chain_head : undefined;
  } catch {
    return undefined;
  }
}

/** A seq in a header (AUDIT_DIFFERS_AT_SEQ_HEADER); anything else is ignored, as from a server that does not send it. */
function seqHeader(value: string | string[] | undefined): number | undefined {
  const seq = typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value.trim()) ? Number(value.trim()) : undefined;
  return seq !== undefined && Number.isSafeInteger(seq) ? seq : undefined;
}

function refusalMessage(status: number, batch: AuditBatch): string {
  const what = `Edge Control refused audit batch ${batch.batch_id} (HTTP ${status})`;
  if (status === 401 || status === 403) return `${what}: the device credential was not accepted; sign in again or re-enroll the device`;
  if (status === 409) {
    return `${what}: its copy of this device's chain does not continue with seq ${batch.first_seq} ` +
      '(its database restored from a backup, or this device\'s audit database replaced or reverted); if this persists, run ' +
      '`bifrost-edge audit verify` and contact your administrator';
  }
  if (status === 400 || status === 422) return `${what}: the batch was rejected as invalid; client and server versions may disagree on the audit format`;
  if (status === 413) return `${what}: the batch is too large for it (or a proxy in front of it); sending smaller batches`;
  return `${what}; will retry`;
}

/** `value`, unless `signal` aborts first (then its reason is thrown). */
function untilAborted<T>(value: T | Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(value).then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e as Error); },
    );
  });
}
