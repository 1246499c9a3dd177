import type { HttpRequestInfo } from './types.js';

/** Where a request sits relative to its surface's path prefixes. */
export interface RequestLocation {
  /** Upper-cased HTTP method. */
  method: string;
  /** Path as received, without the query string. */
  pathname: string;
  /** Query string with its leading `?`, or `''`. */
  query: string;
  /** The surface prefix the path is under (`/v1`, `/openai/v1`, `''`). */
  prefix: string;
  /** The path after the prefix, e.g. `/chat/completions`; `''` when the path is the prefix itself. */
  operationPath: string;
}

export function splitPathAndQuery(path: string): { pathname: string; query: string } {
  const q = path.indexOf('?');
  return q === -1 ? { pathname: path, query: '' } : { pathname: path.slice(0, q), query: path.slice(q) };
}

/**
 * Paths an origin might resolve differently from a plain string comparison: dot segments, empty segments,
 * encoded slashes, dots or backslashes. Edge refuses to recognise them, so `/v1/models/../chat/completions`
 * cannot pose as an uninspected route.
 */
export function isAmbiguousPath(pathname: string): boolean {
  if (!pathname.startsWith('/') || pathname.includes('\\') || /%(2f|2e|5c)/i.test(pathname)) return true;
  const segments = pathname.slice(1).split('/');
  return segments.some((s, i) => s === '.' || s === '..' || (s === '' && !(i === 0 && segments.length === 1)));
}

/**
 * A request target the upstream would not receive as written: an ambiguous path (above), or one with a
 * `#fragment`, which a URL parser drops. Such a request is never forwarded uninspected, since the
 * origin would see a route Edge did not recognise as such (`/backend-api/./conversation` arrives as
 * `/backend-api/conversation`).
 */
export function isNonCanonicalTarget(path: string): boolean {
  if (path.includes('#')) return true;
  // A trailing slash is canonical (URL parsers keep it, and web pages use it): only inner segments count.
  const { pathname } = splitPathAndQuery(path);
  return isAmbiguousPath(pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname);
}

/** The longest prefix the path sits under, at a segment boundary (`/v1` matches `/v1/x`, not `/v10/x`). */
export function longestPrefix(pathname: string, prefixes: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const prefix of prefixes) {
    const under = prefix === '' ? pathname.startsWith('/') : pathname === prefix || pathname.startsWith(`${prefix}/`);
    if (under && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best;
}

/** Locates the request under the surface's prefixes; undefined when it is outside them or ambiguous. */
export function locateRequest(req: HttpRequestInfo, prefixes: readonly string[]): RequestLocation | undefined {
  const { pathname, query } = splitPathAndQuery(req.path);
  if (isAmbiguousPath(pathname)) return undefined;
  const prefix = longestPrefix(pathname, prefixes);
  if (prefix === undefined) return undefined;
  return { method: req.method.toUpperCase(), pathname, query, prefix, operationPath: pathname.slice(prefix.length) };
}

/** Path segments after the prefix: `/models/gpt-4o` → ['models', 'gpt-4o']. */
export function operationSegments(location: RequestLocation): string[] {
  return location.operationPath === '' ? [] : location.operationPath.slice(1).split('/');
}
