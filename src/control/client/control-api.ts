import { AuditAckSchema, type AuditAck, type AuditBatch } from '../protocol/audit.js';
import {
  EnrollmentMethodSchema, EnrollmentMethodsResponseSchema, EnrollmentResponseSchema,
  type EnrollmentMethod, type EnrollmentRequestInput, type EnrollmentResponse,
} from '../protocol/enrollment.js';
import { ControlErrorBodySchema } from '../protocol/errors.js';
import { HeartbeatResponseSchema, type HeartbeatRequestInput, type HeartbeatResponse } from '../protocol/heartbeat.js';
import { UNDERSTOOD_BUNDLE_FIELDS } from '../protocol/bundle-fields.js';
import { BUNDLE_BINDING_DEVICE, BUNDLE_BINDING_HEADER, BUNDLE_FIELDS_HEADER, EdgeControlPaths, endpointUrl, IDEMPOTENCY_KEY_HEADER } from '../protocol/paths.js';
import type { z } from 'zod';

/**
 * A failed Edge Control call. `status` 0 means the server was not reached at all; otherwise `type`
 * and `message` come from the server's `{error:{type,message}}` body when it sent one.
 */
export class ControlRequestError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
    this.name = 'ControlRequestError';
  }

  /** The server refused on purpose (bad token, disabled method…): retrying the same request will not help. */
  get isRefusal(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}

/** ControlRequestError's type when a failed call's body was not Edge Control's `{error}` (another server answered). */
export const UNRECOGNISED_ERROR_BODY = 'http_error';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** Per-call options: a timeout, and a signal that cancels the call early (e.g. when the client closes). */
export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * What this client asks of the bundles issued for it, on enrollment and each fetch: that they name the device (it
 * checks bundle.device_id, bundle-acceptance.ts), and that they carry the optional fields its schema knows.
 */
const BUNDLE_ASKS: Readonly<Record<string, string>> = {
  [BUNDLE_BINDING_HEADER]: BUNDLE_BINDING_DEVICE,
  [BUNDLE_FIELDS_HEADER]: UNDERSTOOD_BUNDLE_FIELDS,
};

export async function postEnrollment(controlUrl: string, request: EnrollmentRequestInput, options: CallOptions = {}): Promise<EnrollmentResponse> {
  const headers = { 'content-type': 'application/json', ...BUNDLE_ASKS };
  const res = await call(controlUrl, EdgeControlPaths.enroll, { method: 'POST', body: JSON.stringify(request), headers }, options);
  return parseAnswer(EnrollmentResponseSchema, await readJson(res), 'enrollment answer');
}

/**
 * The enrollment methods the server accepts (GET /enroll/methods, no auth). Methods this client does
 * not know are dropped rather than refused: a newer server may offer more than this device can use.
 */
export async function fetchEnrollmentMethods(controlUrl: string, options: CallOptions = {}): Promise<EnrollmentMethod[]> {
  // Asked by a person at a prompt, not the background sync: an unreachable server is just reported.
  const res = await call(controlUrl, EdgeControlPaths.enrollMethods, { headers: { accept: 'application/json' } }, options, [], '');
  const raw = await readJson(res);
  const methods = (raw as { methods?: unknown } | null)?.methods;
  const known = Array.isArray(methods) ? { ...(raw as object), methods: methods.filter((m) => EnrollmentMethodSchema.safeParse(m).success) } : raw;
  return parseAnswer(EnrollmentMethodsResponseSchema, known, 'list of enrollment methods').methods;
}

export type PolicyFetchResult = { kind: 'not_modified' } | { kind: 'bundle'; raw: unknown; etag?: string };

/** GET the device's bundle. The body is returned raw: its signature covers the bytes as sent. */
export async function fetchPolicy(controlUrl: string, credential: string, etag: string | undefined, options: CallOptions = {}): Promise<PolicyFetchResult> {
  const headers: Record<string, string> = { authorization: `Bearer ${credential}`, accept: 'application/json', ...BUNDLE_ASKS };
  if (etag) headers['if-none-match'] = etag;
  const res = await call(controlUrl, EdgeControlPaths.policy, { headers }, options, [304]);
  if (res.status === 304) {
    await res.body?.cancel();
    return { kind: 'not_modified' };
  }
  const raw = await readJson(res);
  const out: PolicyFetchResult = { kind: 'bundle', raw };
  const tag = res.headers.get('etag');
  if (tag) out.etag = tag;
  return out;
}

export async function postHeartbeat(controlUrl: string, credential: string, heartbeat: HeartbeatRequestInput, options: CallOptions = {}): Promise<HeartbeatResponse> {
  const res = await call(controlUrl, EdgeControlPaths.heartbeat, {
    method: 'POST', body: JSON.stringify(heartbeat), headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
  }, options);
  return parseAnswer(HeartbeatResponseSchema, await readJson(res), 'heartbeat answer');
}

/** Uploads one audit batch with its idempotency key; safe to repeat after a lost answer. */
export async function postAuditBatch(controlUrl: string, credential: string, batch: AuditBatch, options: CallOptions = {}): Promise<AuditAck> {
  const res = await call(controlUrl, EdgeControlPaths.auditBatches, {
    method: 'POST',
    body: JSON.stringify(batch),
    headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', [IDEMPOTENCY_KEY_HEADER]: batch.batch_id },
  }, options);
  return parseAnswer(AuditAckSchema, await readJson(res), 'audit acknowledgement');
}

/** Opens the push stream; the caller reads `body` and aborts `signal` to close it. */
export async function openPolicyStream(controlUrl: string, credential: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const url = endpointUrl(controlUrl, EdgeControlPaths.policyStream);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${credential}`, accept: 'text/event-stream' }, signal });
  } catch (err) {
    throw unreachable(url, err);
  }
  if (!res.ok || !res.body) throw await errorFrom(res);
  return res.body;
}

/** What the background sync does when the server is unreachable; said in its errors. */
const SYNC_WHEN_UNREACHABLE = 'keeping the current policy and retrying';

async function call(controlUrl: string, path: string, init: RequestInit, options: CallOptions, alsoOk: number[] = [], whenUnreachable = SYNC_WHEN_UNREACHABLE): Promise<Response> {
  const url = endpointUrl(controlUrl, path);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout });
  } catch (err) {
    throw unreachable(url, err, whenUnreachable);
  }
  if (!res.ok && !alsoOk.includes(res.status)) throw await errorFrom(res);
  return res;
}

function unreachable(url: URL, err: unknown, whenUnreachable = SYNC_WHEN_UNREACHABLE): ControlRequestError {
  const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
  return new ControlRequestError(0, 'unreachable', `cannot reach the Edge Control server at ${url.origin} (${cause})${whenUnreachable ? `; ${whenUnreachable}` : ''}`);
}

async function errorFrom(res: Response): Promise<ControlRequestError> {
  const text = await res.text().catch(() => '');
  try {
    const body = ControlErrorBodySchema.parse(JSON.parse(text));
    return new ControlRequestError(res.status, body.error.type, body.error.message);
  } catch {
    return new ControlRequestError(res.status, UNRECOGNISED_ERROR_BODY, `the Edge Control server answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlRequestError(res.status, 'invalid_response', `the Edge Control server answered ${res.status} with a body that is not JSON`);
  }
}

function parseAnswer<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ControlRequestError(200, 'invalid_response', `the Edge Control server's ${what} is malformed (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unexpected shape'})`);
  }
  return result.data;
}
