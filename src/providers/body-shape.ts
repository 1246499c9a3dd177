import { edgeError } from '../edge-error.js';
import type { RouteMatch } from './adapter.js';
import type { SurfaceEntry } from './catalog.js';
import type { JsonPath } from './extraction.js';
import type { NormalizedRequest, ParseResult } from './types.js';

/**
 * Readers for the parts of a request body Edge relies on. They check only what inspection needs (a field
 * Edge reads must have the type it reads), stay silent about everything else so new provider fields never
 * break traffic, and throw BodyShapeError, which `parseGuarded` turns into a 400 naming the exact field.
 */

export type JsonObject = Record<string, unknown>;

export class BodyShapeError extends Error {
  constructor(readonly path: JsonPath, readonly problem: string) {
    super(`${formatJsonPath(path)} ${problem}`);
    this.name = 'BodyShapeError';
  }
}

/** `['messages', 2, 'content']` → `messages[2].content`; the root is "the request body". */
export function formatJsonPath(path: JsonPath): string {
  if (path.length === 0) return 'the request body';
  return path
    .map((key, i) => {
      if (typeof key === 'number') return `[${key}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(key)) return i === 0 ? key : `.${key}`;
      return `[${JSON.stringify(key)}]`;
    })
    .join('');
}

export function describeJsonType(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string': return 'a string';
    case 'number': return 'a number';
    case 'boolean': return 'a boolean';
    case 'object': return 'an object';
    default: return typeof value;
  }
}

export function isJsonObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function wrongType(path: JsonPath, expected: string, value: unknown): BodyShapeError {
  return new BodyShapeError(path, `must be ${expected}, got ${describeJsonType(value)}`);
}

export function expectObject(value: unknown, path: JsonPath, expected = 'an object'): JsonObject {
  if (!isJsonObject(value)) throw wrongType(path, expected, value);
  return value;
}

export function expectArray(value: unknown, path: JsonPath, expected = 'an array'): unknown[] {
  if (!Array.isArray(value)) throw wrongType(path, expected, value);
  return value;
}

export function expectString(value: unknown, path: JsonPath, expected = 'a string'): string {
  if (typeof value !== 'string') throw wrongType(path, expected, value);
  return value;
}

/** A field that may be absent or null (providers accept explicit nulls for optional fields). */
export function optionalField<T>(obj: JsonObject, key: string, path: JsonPath, read: (value: unknown, path: JsonPath) => T): T | undefined {
  const value = obj[key];
  return value === undefined || value === null ? undefined : read(value, [...path, key]);
}

export function requiredString(obj: JsonObject, key: string, path: JsonPath): string {
  const value = obj[key];
  if (value === undefined || value === null) throw new BodyShapeError([...path, key], 'is required');
  return expectString(value, [...path, key]);
}

export function requiredArray(obj: JsonObject, key: string, path: JsonPath, expected = 'an array'): unknown[] {
  const value = obj[key];
  if (value === undefined || value === null) throw new BodyShapeError([...path, key], `is required and must be ${expected}`);
  return expectArray(value, [...path, key], expected);
}

/** `path`: where `body` sits, for a request nested in another (a batch's `requests[i].params`). */
export function requireModel(body: JsonObject, path: JsonPath = []): string {
  const model = body['model'];
  const at = [...path, 'model'];
  if (model === undefined || model === null) throw new BodyShapeError(at, 'is required: name the model to use, as a string');
  if (typeof model !== 'string') throw wrongType(at, 'a string', model);
  if (model.trim() === '') throw new BodyShapeError(at, 'must not be empty');
  return model;
}

export function optionalModel(body: JsonObject): string | null {
  return optionalField(body, 'model', [], (v, p) => expectString(v, p)) ?? null;
}

export function readStreamFlag(body: JsonObject): boolean {
  return optionalField(body, 'stream', [], (v, p) => {
    if (typeof v !== 'boolean') throw wrongType(p, 'true or false', v);
    return v;
  }) ?? false;
}

/**
 * Runs a body reader and converts a BodyShapeError into a 400 `invalid_request` that names the route and
 * the field, so the developer sees what to fix instead of a generic failure.
 */
export function parseGuarded(route: RouteMatch, entry: SurfaceEntry, body: unknown, read: () => NormalizedRequest): ParseResult {
  try {
    return { ok: true, request: read() };
  } catch (err) {
    if (!(err instanceof BodyShapeError)) throw err;
    const model = isJsonObject(body) && typeof body['model'] === 'string' ? body['model'] : route.pathModel;
    return {
      ok: false,
      error: edgeError(
        400,
        'invalid_request',
        `Invalid request body for ${route.method} ${route.pathname} (${entry.label}): ${err.message}. Fix the request body and send it again.`,
        { provider: entry.provider, ...(model !== undefined ? { model } : {}) },
      ),
    };
  }
}
