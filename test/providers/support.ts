import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { HttpRequestInfo, NormalizedRequest, ParseResult } from '../../src/providers/types.js';

export function req(method: string, host: string, path: string, headers: HttpRequestInfo['headers'] = {}): HttpRequestInfo {
  return { method, host, path, headers };
}

/** The value at a JSON path, or undefined when the path leads nowhere. */
export function valueAt(body: unknown, path: Array<string | number>): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/**
 * The string a span's path points at; for a key's span (a schema's property name, an argument's key), which points
 * at the object holding the key, the key itself.
 */
export function spanTextAt(body: unknown, span: { path: Array<string | number>; text: string }): unknown {
  const value = valueAt(body, span.path);
  const holdsKey = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, span.text);
  return holdsKey ? span.text : value;
}

/** Every text span and tool reference points at exactly the string it reports (a key's span at the object holding it). */
export function expectPathsPointAtStrings(body: unknown, request: NormalizedRequest): void {
  for (const span of request.texts) expect(spanTextAt(body, span), `text at ${JSON.stringify(span.path)}`).toBe(span.text);
  for (const tool of request.tools) expect(typeof valueAt(body, tool.path), `tool at ${JSON.stringify(tool.path)}`).toBe('string');
}

export function expectParsed(result: ParseResult): NormalizedRequest {
  if (!result.ok) throw new Error(`expected a parsed request, got ${result.error.status} ${result.error.message}`);
  return result.request;
}

export function expectFailed(result: ParseResult): Extract<ParseResult, { ok: false }>['error'] {
  if (result.ok) throw new Error('expected a parse error');
  return result.error;
}

/** Text spans as [kind, text] pairs, compact for table assertions. */
export function textsOf(request: NormalizedRequest): Array<[string, string]> {
  return request.texts.map((t) => [t.kind, t.text]);
}

export function toolsOf(request: NormalizedRequest): Array<[string, string]> {
  return request.tools.map((t) => [t.kind, t.name]);
}

// --- A small JSON Schema checker for the OpenAPI fragments in fixtures/ (type, properties, items, enum, $ref). ---

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  required?: string[];
};

export const errorSchemas = JSON.parse(readFileSync(new URL('./fixtures/bifrost-error-schemas.json', import.meta.url), 'utf8')) as {
  components: { schemas: Record<string, Schema> };
  anthropicError: Schema;
};

/** Problems found validating `value` against `schema` (empty = valid). */
export function schemaProblems(value: unknown, schema: Schema, at = '$'): string[] {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = errorSchemas.components.schemas[name];
    return target ? schemaProblems(value, target, at) : [`${at}: unknown $ref ${schema.$ref}`];
  }
  const problems: string[] = [];
  if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} not in enum`);
  switch (schema.type) {
    case 'object':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [...problems, `${at}: expected object`];
      for (const key of schema.required ?? []) if (!(key in value)) problems.push(`${at}.${key}: required`);
      for (const [key, child] of Object.entries(schema.properties ?? {})) {
        const v = (value as Record<string, unknown>)[key];
        if (v !== undefined) problems.push(...schemaProblems(v, child, `${at}.${key}`));
      }
      return problems;
    case 'array':
      if (!Array.isArray(value)) return [...problems, `${at}: expected array`];
      value.forEach((item, i) => problems.push(...(schema.items ? schemaProblems(item, schema.items, `${at}[${i}]`) : [])));
      return problems;
    case 'string':
      return typeof value === 'string' ? problems : [...problems, `${at}: expected string`];
    case 'integer':
      return Number.isInteger(value) ? problems : [...problems, `${at}: expected integer`];
    case 'boolean':
      return typeof value === 'boolean' ? problems : [...problems, `${at}: expected boolean`];
    default:
      return problems;
  }
}
