import type { EdgeError } from '../edge-error.js';
import type { AdapterId, SurfaceEntry } from './catalog.js';
import type { RequestLocation } from './route-path.js';
import { expectObject, parseGuarded, type JsonObject } from './body-shape.js';
import type { BodyReading, Extraction } from './extraction.js';
import type { ErrorResponse, HttpRequestInfo, NormalizedRequest, ParseResult } from './types.js';

/** A route an adapter recognised on its surface. */
export interface RouteMatch extends RequestLocation {
  /** Short operation name: `chat.completions`, `models`, `messages`, `generateContent`, `conversation`, ... */
  operation: string;
  /** False for known routes whose body Edge forwards without reading (model listing, file uploads, ...). */
  inspected: boolean;
  /** Streaming decided by the route itself (Gemini `streamGenerateContent`, the web apps); else the body says. */
  stream?: boolean;
  /** Model named in the path (Gemini `models/{model}:...`), without the `models/` prefix. */
  pathModel?: string;
}

export interface ErrorResponseOptions {
  /**
   * `true`: the body is an error event in the provider's SSE dialect, for a response already streaming
   * (status line sent) or a client that only reads the stream. Before any byte is sent, `false` is usually
   * better: official SDKs map the HTTP status of a JSON error to their typed errors (PermissionDeniedError...).
   */
  stream: boolean;
  /**
   * The parsed request body, when the refusal comes after it was read. Formats whose errors answer the
   * request itself need it: a JSON-RPC error must carry the id of the request it refuses.
   */
  requestBody?: unknown;
  /**
   * The route the adapter recognised, when known: for formats whose error shape depends on how the request
   * was framed rather than on what the client accepts (Connect: unary JSON error vs. end-of-stream envelope).
   */
  route?: RouteMatch;
}

/** A non-JSON body read into the value `parse` reads and guardrails redact, with the way back to bytes. */
export type BodyReadResult =
  | { ok: true; value: unknown; /** The bytes to forward for a changed value (a redaction), in the request's framing. */ encode(value: unknown): Buffer }
  | { ok: false; error: EdgeError };

/** One API shape: recognises its routes, reads request bodies, and phrases errors the way its SDKs expect. */
export interface ProviderAdapter {
  readonly id: AdapterId;
  recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined;
  /** Reads an inspected route's parsed JSON body. Uninspected routes get an empty, `inspected: false` request. */
  parse(route: RouteMatch, body: unknown, entry: SurfaceEntry): ParseResult;
  errorResponse(err: EdgeError, opts: ErrorResponseOptions): ErrorResponse;
  /**
   * Reads an inspected route's (content-decoded) body when it is not JSON (Connect protobuf). Adapters
   * without it get JSON, re-serialised with JSON.stringify after a redaction.
   */
  readBody?(route: RouteMatch, raw: Uint8Array | undefined, entry: SurfaceEntry): BodyReadResult;
}

function normalizedRequest(
  entry: SurfaceEntry,
  adapter: AdapterId,
  route: RouteMatch,
  fields: { model: string | null; stream: boolean; extraction: Extraction },
): NormalizedRequest {
  return {
    provider: entry.provider,
    adapter,
    operation: route.operation,
    model: fields.model,
    stream: fields.stream,
    texts: fields.extraction.texts,
    tools: fields.extraction.tools,
    inspected: true,
  };
}

/** The request view of a known route whose body Edge does not read. */
function uninspectedRequest(entry: SurfaceEntry, adapter: AdapterId, route: RouteMatch): NormalizedRequest {
  return {
    provider: entry.provider,
    adapter,
    operation: route.operation,
    model: route.pathModel ?? null,
    stream: route.stream ?? false,
    texts: [],
    tools: [],
    inspected: false,
  };
}

/** Reads one operation's body; the adapter's table maps operation names to readers. */
export type BodyReader = (body: JsonObject) => BodyReading;

/**
 * The `parse` every adapter shares: uninspected routes get an empty request without touching the body;
 * inspected ones go through their operation's reader, with shape errors turned into a 400.
 * The route decides stream and model where it carries them (Gemini's path), else the body does.
 */
export function parseWithReaders(adapter: AdapterId, readers: Readonly<Record<string, BodyReader>>): ProviderAdapter['parse'] {
  return (route, body, entry) => {
    if (!route.inspected) return { ok: true, request: uninspectedRequest(entry, adapter, route) };
    const reader = readers[route.operation];
    if (reader === undefined) throw new Error(`Adapter ${adapter} recognised inspected operation ${route.operation} but has no body reader for it.`);
    return parseGuarded(route, entry, body, () => {
      const reading = reader(expectObject(body, [], 'a JSON object'));
      return normalizedRequest(entry, adapter, route, {
        model: route.pathModel ?? reading.model,
        stream: route.stream ?? reading.stream,
        extraction: reading.extraction,
      });
    });
  };
}
