import { edgeError, type EdgeError } from '../edge-error.js';
import type { BodyReadResult, ErrorResponseOptions, ProviderAdapter, RouteMatch } from './adapter.js';
import { expectObject, parseGuarded, wrongType } from './body-shape.js';
import type { SurfaceEntry } from './catalog.js';
import { connectStreamErrorResponse, connectUnaryErrorResponse } from './connect-error.js';
import { readConnectProtoBody, type ConnectFraming, type TextsByPath } from './connect-proto-body.js';
import { modelFromTexts } from './cursor-model.js';
import { locateRequest } from './route-path.js';
import type { ErrorResponse, HttpRequestInfo, ParseResult, TextSpan } from './types.js';
import { header } from '../util/header.js';

/**
 * Cursor (api2.cursor.sh): Connect RPC with protobuf bodies, `POST /<package>.<Service>/<Method>` such as
 * `/aiserver.v1.ChatService/StreamUnifiedChatWithTools`. Every such call in protobuf is read, unary
 * (`application/proto`, possibly Content-Encoding gzip, which the proxy undoes) and streaming
 * (`application/connect+proto` envelopes, compressed per message with Connect-Content-Encoding), because
 * prompts and code travel in many of them (chat, agent, Tab completions, and in HTTP/1.1 mode the
 * hex-encoded BidiAppend calls). Connect's JSON codec and GET calls are not read: they fall to the
 * catalog's unknown-route rule (`pass`) and go through uninspected (the calls seen from Cursor use protobuf).
 *
 * There are no .proto schemas: the body is read schema-less (protobuf/schema-less-reader.ts) and every
 * text field becomes a span whose path is its field-number path (`1.1[0].1`), so guardrails block, redact
 * (the writer fixes every length prefix) or flag. The model is guessed (cursor-model.ts); tool calls are
 * not identified (no schema says which fields carry them), so `tools` stays empty while their text is
 * still scanned. Errors are Connect errors (connect-error.ts), unary or end-of-stream by the request's
 * framing.
 */

interface CursorRouteMatch extends RouteMatch {
  connect: { framing: ConnectFraming; messageEncoding?: string };
}

function isCursorRoute(route: RouteMatch): route is CursorRouteMatch {
  return typeof (route as Partial<CursorRouteMatch>).connect === 'object';
}

/** Connect's Procedure-Name for protobuf: an optional package, the service, the method. */
const PROCEDURE = /^\/((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*)\/([A-Za-z_][A-Za-z0-9_]*)$/;

/** Decompressed streaming messages are bounded like a request body (the proxy's default 32 MiB). */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

function recognize(req: HttpRequestInfo, entry: SurfaceEntry): RouteMatch | undefined {
  const location = locateRequest(req, entry.pathPrefixes);
  if (location === undefined || location.method !== 'POST') return undefined;
  const procedure = PROCEDURE.exec(location.operationPath);
  const framing = framingOf(header(req.headers['content-type']));
  if (procedure === null || framing === undefined) return undefined;
  const messageEncoding = header(req.headers['connect-content-encoding']);
  const route: CursorRouteMatch = {
    ...location,
    operation: `${procedure[1]}/${procedure[2]}`,
    inspected: true,
    stream: framing === 'streaming',
    connect: { framing, ...(messageEncoding !== undefined ? { messageEncoding } : {}) },
  };
  return route;
}

function framingOf(contentType: string | undefined): ConnectFraming | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/proto') return 'unary';
  if (type === 'application/connect+proto') return 'streaming';
  return undefined;
}

function readBody(route: RouteMatch, raw: Uint8Array | undefined, entry: SurfaceEntry): BodyReadResult {
  if (!isCursorRoute(route)) throw new Error(`Cursor adapter asked to read a body for a route it did not recognise (${route.pathname}).`);
  const read = readConnectProtoBody(raw ?? new Uint8Array(0), route.connect.framing, {
    ...(route.connect.messageEncoding !== undefined ? { messageEncoding: route.connect.messageEncoding } : {}),
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
  if (!read.ok) return { ok: false, error: unreadableBody(route, entry, read.status, read.problem) };
  const value: TextsByPath = {};
  for (const { path, text } of read.body.texts) value[path] = text;
  return { ok: true, value, encode: (changed) => read.body.encode(expectTexts(changed)) };
}

function unreadableBody(route: RouteMatch, entry: SurfaceEntry, status: 400 | 413 | 415, problem: string): EdgeError {
  const call = `${route.method} ${route.pathname}`;
  const [type, message] = status === 413
    ? ['request_too_large', `The request body of ${call} is too large or too deeply nested for Bifrost Edge to inspect (${problem}). Send a smaller request.`]
    : status === 415
      ? ['unsupported_content_encoding', `Bifrost Edge cannot inspect the request body of ${call}: ${problem}. Send it uncompressed or with gzip.`]
      : ['invalid_request', `The request body of ${call} is not a protobuf message Bifrost Edge can read: ${problem}. Edge forwards only requests it can inspect.`];
  return edgeError(status, type, message, { provider: entry.provider });
}

function expectTexts(value: unknown): TextsByPath {
  const texts = expectObject(value, [], 'the texts of a Connect request');
  for (const [path, text] of Object.entries(texts)) if (typeof text !== 'string') throw wrongType([path], 'a string', text);
  return texts as TextsByPath;
}

/** `body` is what readBody produced: texts by path. Schema-less, so every text's kind is `other`. */
function parse(route: RouteMatch, body: unknown, entry: SurfaceEntry): ParseResult {
  return parseGuarded(route, entry, body, () => {
    const texts: TextSpan[] = Object.entries(expectTexts(body)).map(([path, text]) => ({ path: [path], text, kind: 'other' }));
    return {
      provider: entry.provider,
      adapter: 'cursor',
      operation: route.operation,
      model: modelFromTexts(texts.map((t) => t.text)),
      stream: route.stream ?? false,
      texts,
      tools: [],
      inspected: true,
    };
  });
}

/** The request's framing decides; without a recognised route (refused before it) the unary form. */
function errorResponse(err: EdgeError, opts: ErrorResponseOptions): ErrorResponse {
  const streaming = opts.route !== undefined && isCursorRoute(opts.route) && opts.route.connect.framing === 'streaming';
  return streaming ? connectStreamErrorResponse(err) : connectUnaryErrorResponse(err);
}


export const cursorAdapter: ProviderAdapter = { id: 'cursor', recognize, parse, errorResponse, readBody };
