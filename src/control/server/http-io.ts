import type http from 'node:http';
import type { z } from 'zod';
import type { ControlErrorBody, ControlErrorType } from '../protocol/errors.js';
import { BUNDLE_BINDING_DEVICE, BUNDLE_BINDING_HEADER } from '../protocol/paths.js';

/** A refusal with its HTTP status and Edge Control error type; handlers throw it, the router answers it. */
export class ControlHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: ControlErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ControlHttpError';
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, error: ControlHttpError): void {
  const body: ControlErrorBody = { error: { type: error.type, message: error.message } };
  sendJson(res, error.status, body, error.headers);
}

/** Reads a JSON body up to `limitBytes`; refuses bigger or unparsable bodies with a message that says which. */
export async function readJsonBody(req: http.IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    throw new ControlHttpError(413, 'payload_too_large', `request body is ${declared} bytes; the limit for this route is ${limitBytes} bytes (send smaller batches)`);
  }
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of req) {
    size += (piece as Buffer).length;
    if (size > limitBytes) throw new ControlHttpError(413, 'payload_too_large', `request body exceeds the ${limitBytes}-byte limit for this route (send smaller batches)`);
    pieces.push(piece as Buffer);
  }
  const text = Buffer.concat(pieces).toString('utf8');
  if (text.trim() === '') throw new ControlHttpError(400, 'invalid_request', 'request body is empty; send a JSON object (content-type: application/json)');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ControlHttpError(400, 'invalid_request', `request body is not valid JSON (${(err as Error).message})`);
  }
}

/** Validates against a wire schema; a 400 names the first few bad fields. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`);
  throw new ControlHttpError(400, 'invalid_request', `${what} is invalid: ${issues.join('; ')}`);
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(req: http.IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The device checks `bundle.device_id` and asks for bundles naming it (BUNDLE_BINDING_HEADER). */
export function wantsBundleBinding(req: http.IncomingMessage): boolean {
  return req.headers[BUNDLE_BINDING_HEADER] === BUNDLE_BINDING_DEVICE;
}
