/**
 * The one error shape every layer of Edge raises when it refuses or fails a request.
 * Provider adapters turn it into the client's own wire format; `type` and `status` follow
 * Bifrost's governance vocabulary (see shared/DESIGN.md) so a block made on the laptop reads
 * exactly like the same block made by the gateway.
 */
export interface EdgeError {
  /** HTTP status the client receives (403 model_blocked, 446 guardrail block, 502 upstream_unreachable, ...). */
  status: number;
  /** Bifrost error type, e.g. `model_blocked`, `virtual_key_required`, or an Edge type such as `invalid_request`. */
  type: string;
  /** A sentence a person can act on: what was refused, why, and what to do next. Never contains a secret. */
  message: string;
  /** Provider the request was for, when known (`openai`, `anthropic`, `gemini`, ...). */
  provider?: string;
  /** Model the client asked for, exactly as requested. */
  model?: string;
}

export function edgeError(status: number, type: string, message: string, extra: Partial<EdgeError> = {}): EdgeError {
  return { status, type, message, ...extra };
}
