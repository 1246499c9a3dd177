/**
 * A small checker for JSON values against the schemas of an OpenAPI 3.x document (the Bifrost subset in
 * shared/reference), for contract tests. It understands what that document uses: `$ref`, `type` (one or a
 * list, `null` included), `nullable`, `enum`, `const`, `required`, `properties`, `items`,
 * `additionalProperties` (schema or false), `allOf`, `oneOf` / `anyOf` (at least one branch must fit), and
 * null admitted by `nullable: true` or by an enum that lists null.
 * Unknown extra properties are allowed unless `additionalProperties: false`.
 */
import { readFileSync } from 'node:fs';

export type JsonSchema = { [key: string]: unknown };

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema> };
}

export function loadOpenApi(file: string): OpenApiDocument {
  return JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function resolveRef(doc: OpenApiDocument, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref are supported: ${ref}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isRecord(node) ? node[key] : undefined;
  }
  if (!isRecord(node)) throw new Error(`$ref ${ref} does not resolve`);
  return node;
}

export function componentSchema(doc: OpenApiDocument, name: string): JsonSchema {
  return resolveRef(doc, `#/components/schemas/${name}`);
}

/** The schema a path answers with, e.g. `responseSchema(doc, '/v1/chat/completions', 'post', '200')`. */
export function responseSchema(doc: OpenApiDocument, path: string, method: string, status: string, contentType = 'application/json'): JsonSchema {
  const op = doc.paths[path]?.[method.toLowerCase()];
  const responses = isRecord(op) ? op['responses'] : undefined;
  const response = isRecord(responses) ? responses[status] : undefined;
  const content = isRecord(response) ? response['content'] : undefined;
  const media = isRecord(content) ? content[contentType] : undefined;
  const schema = isRecord(media) ? media['schema'] : undefined;
  if (!isRecord(schema)) throw new Error(`the spec has no ${contentType} schema for ${method.toUpperCase()} ${path} ${status}`);
  return schema;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(want: string, value: unknown): boolean {
  const got = typeOf(value);
  return want === got || (want === 'number' && got === 'integer');
}

/** Problems found, each `path: what is wrong`; empty when the value fits the schema. */
export function checkSchema(doc: OpenApiDocument, schema: JsonSchema, value: unknown, at = '$'): string[] {
  const ref = schema['$ref'];
  if (typeof ref === 'string') return checkSchema(doc, resolveRef(doc, ref), value, at);

  const problems: string[] = [];
  // `nullable: true` (OpenAPI 3.0 style) and an enum that lists null both admit null, whatever `type` says:
  // the Bifrost spec writes Anthropic's `stop_reason` as `type: string` with null among its enum values.
  if (value === null && (schema['nullable'] === true || (Array.isArray(schema['enum']) && schema['enum'].includes(null)))) return problems;

  const type = schema['type'];
  const types = Array.isArray(type) ? (type as string[]) : typeof type === 'string' ? [type] : [];
  if (types.length > 0 && !types.some((t) => typeMatches(t, value))) {
    return [`${at}: expected ${types.join(' | ')}, got ${typeOf(value)}`];
  }

  const en = schema['enum'];
  if (Array.isArray(en) && !en.some((e) => e === value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(en)}`);
  if ('const' in schema && schema['const'] !== value) problems.push(`${at}: expected ${JSON.stringify(schema['const'])}`);

  const allOf = schema['allOf'];
  if (Array.isArray(allOf)) for (const sub of allOf) if (isRecord(sub)) problems.push(...checkSchema(doc, sub, value, at));

  for (const key of ['oneOf', 'anyOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    const results = branches.filter(isRecord).map((b) => checkSchema(doc, b, value, at));
    if (!results.some((r) => r.length === 0)) {
      const best = results.reduce((a, b) => (b.length < a.length ? b : a), results[0] ?? []);
      problems.push(`${at}: fits no ${key} branch`, ...best);
    }
  }

  if (isRecord(value)) {
    const required = schema['required'];
    if (Array.isArray(required)) {
      for (const name of required) if (typeof name === 'string' && !(name in value)) problems.push(`${at}: missing required property "${name}"`);
    }
    const props = isRecord(schema['properties']) ? schema['properties'] : {};
    const additional = schema['additionalProperties'];
    for (const [name, v] of Object.entries(value)) {
      const sub = props[name];
      if (isRecord(sub)) problems.push(...checkSchema(doc, sub, v, `${at}.${name}`));
      else if (additional === false) problems.push(`${at}: unexpected property "${name}"`);
      else if (isRecord(additional)) problems.push(...checkSchema(doc, additional, v, `${at}.${name}`));
    }
  }

  if (Array.isArray(value) && isRecord(schema['items'])) {
    const items = schema['items'];
    value.forEach((v, i) => problems.push(...checkSchema(doc, items, v, `${at}[${i}]`)));
  }
  return problems;
}
