import type { EdgeError } from '../edge-error.js';
import { isBifrostModelProvider } from './bifrost-providers.js';

/**
 * Error bodies in each provider family's own format, so a block made on the laptop reaches the app the way
 * the same block made by the Bifrost gateway would, and official SDKs raise their native error types.
 */

/** Bifrost's BifrostError (OpenAPI `BifrostError`/`ErrorField`/`BifrostErrorExtraFields`). */
export interface BifrostErrorBody {
  is_bifrost_error: boolean;
  status_code: number;
  type: string;
  error: { type: string; code: string; message: string };
  extra_fields?: { provider?: string; model_requested?: string; original_model_requested?: string };
}

/**
 * OpenAI-compatible routes. The OpenAI SDK reads `error.message` (and `error.type`/`error.code`).
 * `is_bifrost_error: false` matches what the gateway sends for governance decisions.
 */
export function bifrostErrorBody(err: EdgeError): BifrostErrorBody {
  const extra: NonNullable<BifrostErrorBody['extra_fields']> = {};
  if (isBifrostModelProvider(err.provider)) extra.provider = err.provider;
  if (err.model !== undefined) {
    // The published spec names the field `model_requested`; newer gateway releases write
    // `original_model_requested`. Both are sent so readers of either version find the model.
    extra.model_requested = err.model;
    extra.original_model_requested = err.model;
  }
  return {
    is_bifrost_error: false,
    status_code: err.status,
    type: err.type,
    error: { type: err.type, code: err.type, message: err.message },
    ...(Object.keys(extra).length > 0 ? { extra_fields: extra } : {}),
  };
}

/** Anthropic routes: Bifrost reshapes its error to Anthropic's envelope, keeping its own type. */
export function anthropicErrorBody(err: EdgeError): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: err.type, message: err.message } };
}

export interface GoogleErrorBody {
  error: {
    code: number;
    message: string;
    status: string;
    details: Array<{ '@type': string; reason: string; domain: string; metadata: Record<string, string> }>;
  };
}

/** Gemini routes: google.rpc.Status as JSON; the Bifrost type travels as an ErrorInfo reason. */
export function googleErrorBody(err: EdgeError): GoogleErrorBody {
  const metadata: Record<string, string> = { type: err.type };
  if (err.model !== undefined) metadata['model'] = err.model;
  return {
    error: {
      code: err.status,
      message: err.message,
      status: googleStatusFor(err.status),
      details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: err.type, domain: 'bifrost-edge', metadata }],
    },
  };
}

/**
 * google.rpc.Code name for an HTTP status, per Google's HTTP mapping. 402 (budget) and 446 (guardrail)
 * have no Google equivalent: a spent budget reads as an exhausted quota, a guardrail block as a refusal.
 */
export function googleStatusFor(status: number): string {
  switch (status) {
    case 400: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 402: return 'RESOURCE_EXHAUSTED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 409: return 'ABORTED';
    case 412: return 'FAILED_PRECONDITION';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 446: return 'PERMISSION_DENIED';
    case 499: return 'CANCELLED';
    case 500: return 'INTERNAL';
    case 501: return 'UNIMPLEMENTED';
    case 502:
    case 503: return 'UNAVAILABLE';
    case 504: return 'DEADLINE_EXCEEDED';
    default:
      if (status >= 500) return 'INTERNAL';
      if (status >= 400) return 'FAILED_PRECONDITION';
      return 'UNKNOWN';
  }
}

/**
 * Web apps (ChatGPT, Claude): the BifrostError, which is OpenAI-like, plus `detail`, the field ChatGPT's
 * FastAPI-style backend puts its error text in, so the web page has a message to show.
 */
export function webErrorBody(err: EdgeError): BifrostErrorBody & { detail: string } {
  return { ...bifrostErrorBody(err), detail: err.message };
}
