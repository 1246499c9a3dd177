import type { EdgeError } from '../edge-error.js';
import type { Mode } from '../config/schema.js';
import type { BifrostRouteMapping } from '../gateway/upstream-plan.js';
import type { ErrorResponse, HttpRequestInfo, NormalizedRequest } from '../providers/types.js';

/** An AI surface (host + API shape) as the proxy needs it: who it is and how it phrases errors. */
export interface AiSurface {
  provider: string;
  errorResponse(error: EdgeError, options: { stream: boolean }): ErrorResponse;
}

/** What the provider layer says about one request. */
export type Resolution =
  | { kind: 'not-ai' }
  | { kind: 'unrecognized'; surface: AiSurface; passThrough: true }
  | { kind: 'unrecognized'; surface: AiSurface; passThrough: false; error: EdgeError }
  | {
      kind: 'recognized';
      surface: AiSurface;
      /** False for known routes whose body Edge forwards without reading (model lists, file uploads). */
      inspected: boolean;
      /** Parses the (content-decoded) body bytes; errors name what is wrong and where. */
      parse(body: Buffer): ParsedBody;
      /** The Bifrost route for this request in gateway/pass-through mode; null means go to the origin. */
      bifrostRoute(request: NormalizedRequest | null, mode: Exclude<Mode, 'local'>): BifrostRouteMapping | null;
    };

/** A parse result that also hands back the JSON value, so the body is parsed once. */
export type ParsedBody =
  | { ok: true; request: NormalizedRequest; body: unknown }
  | { ok: false; error: EdgeError };

export type SurfaceResolver = (info: HttpRequestInfo) => Resolution;

/** A decision step run on every inspected request, in order (policy, guardrails, ...). */
export type InspectionResult =
  | { action: 'allow' }
  | { action: 'block'; error: EdgeError }
  /** Forward a modified body (e.g. with secrets redacted). */
  | { action: 'rewrite'; body: unknown };

export interface InspectionInput {
  request: NormalizedRequest;
  body: unknown;
  info: HttpRequestInfo;
  app: string;
}

export type RequestInspector = (input: InspectionInput) => InspectionResult | Promise<InspectionResult>;
