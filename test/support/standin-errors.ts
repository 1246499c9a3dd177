/**
 * Error bodies as the Bifrost gateway writes them, per route family:
 * - `bifrost` (`/v1/...`, `/openai/...`, `/openai_passthrough/...`, governance errors other than quota):
 *   BifrostError `{is_bifrost_error, status_code, type, error:{type,message}, extra_fields}`
 * - `anthropic` (`/anthropic/...`, `/anthropic_passthrough/...`): `{type:"error", error:{type,message}}`
 * - `genai` (`/genai/...`, `/genai_passthrough/...`): Google `{error:{code,message,status,details}}`
 * - `quota` (`/api/governance/virtual-keys/quota` 401): `{error: "..."}` as the OpenAPI spec documents it.
 */

export type RouteFamily = 'bifrost' | 'anthropic' | 'genai' | 'quota';

export interface StandinError {
  status: number;
  /** Bifrost type: virtual_key_required, virtual_key_not_found, virtual_key_blocked, model_blocked, ... */
  type: string;
  message: string;
  provider?: string;
  model?: string;
  requestType?: string;
}

/** Type used when a test injects a failure by status alone (`failNext(429)`). */
export function defaultErrorType(status: number): string {
  switch (status) {
    case 400: return 'invalid_request';
    case 401: return 'virtual_key_not_found';
    case 402: return 'budget_exceeded';
    case 403: return 'model_blocked';
    case 404: return 'not_found';
    case 405: return 'method_not_allowed';
    case 429: return 'rate_limited';
    case 446: return 'guardrail_blocked';
    case 500: return 'internal_error';
    case 502: return 'upstream_error';
    case 503: return 'service_unavailable';
    case 504: return 'upstream_timeout';
    default: return status >= 500 ? 'internal_error' : 'request_failed';
  }
}

/** google.rpc.Code name for an HTTP status, as Gemini reports it. */
export function googleStatus(status: number): string {
  switch (status) {
    case 400: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 402: return 'RESOURCE_EXHAUSTED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 409: return 'ABORTED';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 446: return 'PERMISSION_DENIED';
    case 499: return 'CANCELLED';
    case 501: return 'UNIMPLEMENTED';
    case 503: return 'UNAVAILABLE';
    case 504: return 'DEADLINE_EXCEEDED';
    default: return status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION';
  }
}

export function errorBody(family: RouteFamily, err: StandinError): Record<string, unknown> {
  switch (family) {
    case 'anthropic':
      return { type: 'error', error: { type: err.type, message: err.message } };
    case 'genai':
      return {
        error: {
          code: err.status,
          message: err.message,
          status: googleStatus(err.status),
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: err.type, domain: 'bifrost' }],
        },
      };
    case 'quota':
      return { error: err.message };
    case 'bifrost': {
      const extra: Record<string, string> = {};
      if (err.provider) extra['provider'] = err.provider;
      if (err.model) {
        extra['model_requested'] = err.model;
        extra['original_model_requested'] = err.model;
      }
      if (err.requestType) extra['request_type'] = err.requestType;
      return {
        is_bifrost_error: false,
        status_code: err.status,
        type: err.type,
        error: { type: err.type, message: err.message },
        extra_fields: extra,
      };
    }
  }
}

/** Governance refusals for a virtual key, with the message the real gateway's wording suggests. */
export function virtualKeyError(kind: 'required' | 'not_found' | 'blocked', detail?: string): StandinError {
  switch (kind) {
    case 'required':
      return {
        status: 401,
        type: 'virtual_key_required',
        message: 'virtual key is required: send it in the x-bf-vk header (or Authorization: Bearer sk-bf-...)',
      };
    case 'not_found':
      return { status: 401, type: 'virtual_key_not_found', message: `virtual key not found${detail ? `: ${detail}` : ''}` };
    case 'blocked':
      return { status: 403, type: 'virtual_key_blocked', message: `virtual key is blocked (inactive)${detail ? `: ${detail}` : ''}` };
  }
}
