import type { BodyReadResult, RouteMatch } from './adapter.js';
import type { SurfaceEntry } from './catalog.js';
import { parseJsonBody } from './json-body.js';

/** An inspected route's JSON body as the value its adapter parses; a changed value is re-serialised. */
export function readJsonRequestBody(route: RouteMatch, raw: string | Uint8Array | undefined, entry: SurfaceEntry): BodyReadResult {
  const json = parseJsonBody(raw, { method: route.method, pathname: route.pathname, provider: entry.provider, model: route.pathModel });
  return json.ok ? { ok: true, value: json.value, encode: (value) => Buffer.from(JSON.stringify(value)) } : json;
}
