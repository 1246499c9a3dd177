import type { EdgeError } from '../edge-error.js';
import type { Mode } from '../config/schema.js';
import type { BifrostRouteMapping } from '../gateway/upstream-plan.js';
import type { ErrorResponse, HttpRequestInfo, NormalizedRequest } from '../providers/types.js';

/** An AI surface (host + API shape) as the proxy needs it: who it is and how it phrases errors. */
export interface AiSurface {
  provider: string;
  /** `requestBody`: the parsed body, when known (JSON-RPC errors carry the refused request's id). */
  errorResponse(error: EdgeError, options: { stream: boolean; requestBody?: unknown }): ErrorResponse;
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
      /**
       * Set on a route recognised only to be refused (a look-alike of an API path, a prompt route sent by PUT): what
       * parse returns whatever the body. Given here too so a WebSocket opened on it, which has no body to parse, is
       * refused as the request is (websocket-decision.ts) rather than relayed unread.
       */
      refusal?: EdgeError;
      /**
       * Parses the (content-decoded) body bytes; errors name what is wrong and where. Uninspected
       * routes are parsed without a body (undefined): provider, operation and any model in the path.
       */
      parse(body: Buffer | undefined): ParsedBody;
      /** The Bifrost route for this request in gateway/pass-through mode; null means go to the origin. */
      bifrostRoute(request: NormalizedRequest | null, mode: Exclude<Mode, 'local'>): BifrostRouteMapping | null;
    };

/** A parse result that also hands back the body value, so the body is parsed once. */
export type ParsedBody =
  /** `encode`: the bytes for a rewritten value (JSON re-serialised, or the adapter's own format); default JSON. */
  | { ok: true; request: NormalizedRequest; body: unknown; encode?: (body: unknown) => Buffer }
  | { ok: false; error: EdgeError };

export type SurfaceResolver = (info: HttpRequestInfo) => Resolution;

/** What a decision step noticed, for the audit trail and metrics (never the sensitive text itself). */
export interface InspectionNotes {
  findings?: Array<{ type: string; ruleId: string; action: 'block' | 'redact' | 'flag'; location: string }>;
  /** The request goes through but is marked for review (warn-only guardrails, flag actions). */
  flagged?: boolean;
}

/** A decision step run on every inspected request, in order (policy, guardrails, ...). */
export type InspectionResult =
  | { action: 'allow'; notes?: InspectionNotes }
  | { action: 'block'; error: EdgeError; notes?: InspectionNotes }
  /** Forward a modified body (e.g. with secrets redacted). */
  | { action: 'rewrite'; body: unknown; notes?: InspectionNotes };

export interface InspectionInput {
  request: NormalizedRequest;
  body: unknown;
  info: HttpRequestInfo;
  app: string;
}

export type RequestInspector = (input: InspectionInput) => InspectionResult | Promise<InspectionResult>;
