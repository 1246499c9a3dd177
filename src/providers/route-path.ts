import type { HttpRequestInfo } from './types.js';

/** Where a request sits relative to its surface's path prefixes. */
export interface RequestLocation {
  /** Upper-cased HTTP method. */
  method: string;
  /** Path without the query string, in the form the origin routes it (routablePath). */
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
  return isAmbiguousPath(withoutTrailingSlash(pathname));
}

/**
 * Percent-encoded characters an origin reads as themselves (RFC 3986 §6.2.2.2: unreserved characters, and
 * the `:` `@` and sub-delims that Go, Starlette and Express also decode before routing). `.` is left out on
 * purpose: `%2E` is refused as ambiguous (a dot segment in disguise), as are `%2F` and `%5C`.
 */
const SELF_DECODING = /[A-Za-z0-9\-_~:@!$&'()*+,;=]/;

/**
 * The path as the origin routes it: escapes of characters that stand for themselves decoded, and one
 * trailing slash dropped (servers route `/chat/completions/` to `/chat/completions`). Routes are matched on
 * this form, so `/chat/completion%73`, `…gemini-2.5-flash%3AgenerateContent` or `/chat/completions/` cannot
 * pose as routes Edge does not read. Call only on a path isAmbiguousPath accepted (trailing slash aside).
 */
export function routablePath(pathname: string): string {
  const decoded = pathname.includes('%')
    ? pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
      const character = String.fromCharCode(parseInt(escape.slice(1), 16));
      return SELF_DECODING.test(character) ? character : escape;
    })
    : pathname;
  return withoutTrailingSlash(decoded);
}

/** `/a/b/` → `/a/b`; `/` stays. */
function withoutTrailingSlash(pathname: string): string {
  return pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
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

/**
 * Locates the request under the surface's prefixes; undefined when it is outside them or ambiguous. The
 * location's path is the routable form (routablePath), which is also what goes on to the gateway.
 */
export function locateRequest(req: HttpRequestInfo, prefixes: readonly string[]): RequestLocation | undefined {
  const { pathname: received, query } = splitPathAndQuery(req.path);
  if (isAmbiguousPath(withoutTrailingSlash(received))) return undefined;
  const pathname = routablePath(received);
  const prefix = longestPrefix(pathname, prefixes);
  if (prefix === undefined) return undefined;
  return { method: req.method.toUpperCase(), pathname, query, prefix, operationPath: pathname.slice(prefix.length) };
}

/** Path segments after the prefix: `/models/gpt-4o` → ['models', 'gpt-4o']. */
export function operationSegments(location: RequestLocation): string[] {
  return location.operationPath === '' ? [] : location.operationPath.slice(1).split('/');
}

/** A request under a named child of a collection path: `/openai/deployments/gpt4o-prod/...`, `/api/projects/p1/...`. */
export interface NamedScope {
  /** The path up to and including the child's name (`/openai/deployments/gpt4o-prod`): the prefix its routes sit under. */
  prefix: string;
  /** The child's name as the origin routes it (routablePath): a deployment is the model the request goes to. */
  name: string;
  /** Segments after the name (`['chat', 'completions']`); empty for the child itself. */
  rest: string[];
}

/**
 * Where a request sits under `collectionPath` (`/openai/deployments`, `/api/projects`), when a child's name follows
 * it; undefined otherwise, or when the path is ambiguous (locateRequest refuses it too).
 */
export function locateNamedScope(req: HttpRequestInfo, collectionPath: string): NamedScope | undefined {
  const { pathname: received } = splitPathAndQuery(req.path);
  if (isAmbiguousPath(withoutTrailingSlash(received))) return undefined;
  const pathname = routablePath(received);
  if (!pathname.startsWith(`${collectionPath}/`)) return undefined;
  const [name = '', ...rest] = pathname.slice(collectionPath.length + 1).split('/');
  return name === '' ? undefined : { prefix: `${collectionPath}/${name}`, name, rest };
}

/** True when the request's routable path is `path` itself or under it. */
export function isUnderPath(req: HttpRequestInfo, path: string): boolean {
  const pathname = routablePath(splitPathAndQuery(req.path).pathname);
  return longestPrefix(pathname, [path]) !== undefined;
}

/**
 * A path segment as a lenient origin may route it: letter case ignored, `;parameters` dropped, blanks at either end and
 * dots at its end trimmed (`OpenAI;x=1`, ` openai` and `openai.` are `openai`: IIS and Windows file names drop trailing
 * dots, servers that trim a segment trim both ends). A dot segment stays one (`..;`, `.. ` and ` ..` are `..`), so that
 * resolving dot segments after loosening still sees it.
 */
export function looseSegment(segment: string): string {
  const bare = segment.toLowerCase().replace(/;.*$/, '').replace(/^(?:%20|%09|\s)+/, '').replace(/(?:%20|%09|\s)+$/, '');
  if (/^\.+$/.test(bare)) return bare;
  const trimmed = bare.replace(/(?:%20|%09|\s|\.)+$/, '');
  if (trimmed !== '' || bare === '') return trimmed;
  return bare.includes('..') ? '..' : '.';
}

/** The path as a lenient origin may route it: each segment loosened (looseSegment), `/OpenAI;x=1/deployments%20/...` → `/openai/deployments/...`. */
export function looseRoutablePath(pathname: string): string {
  return routablePath(pathname).split('/').map(looseSegment).join('/');
}

/**
 * A name a lenient origin may read as another (`gpt4o;x`, `gpt4o%20`, `gpt4o.`, `gpt4o%0A`): policy would judge one
 * deployment while the origin answers with another.
 */
export function isBlurredName(name: string): boolean {
  return /;|%20|%09|\s/.test(name) || looseSegment(name) !== name.toLowerCase() || hasControlOrNonAsciiByte(name);
}

/** A control or non-ASCII byte, escaped or not: origins decode, strip or fold them (overlong `%C0%AF` is `/` to some). */
export function hasControlOrNonAsciiByte(text: string): boolean {
  return /%(?:[01][0-9a-f]|7f|[89a-f][0-9a-f])|%u[0-9a-f]{4}/i.test(text) || hasControlOrNonAsciiChar(text);
}

/** Whether `text` itself (escapes not read) holds a control character or one outside printable ASCII. */
export function hasControlOrNonAsciiChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code >= 0x7f) return true;
  }
  return false;
}

/**
 * A path outside every API prefix that a lenient origin may still route under one: on a host whose other paths pass
 * unread, it would carry an API call past inspection. Every reading staysOutsideApiPaths makes counts, so a canonical
 * `/x/..;/openai/v1/...` (a dot segment once `;` is dropped) or `/openai./v1/...` poses too. With the root prefix `''`
 * no path is outside the API, so none poses as it.
 */
export function posesAsApiPath(path: string, prefixes: readonly string[]): boolean {
  const { pathname } = splitPathAndQuery(path);
  if (longestPrefix(routablePath(pathname), prefixes) !== undefined) return false;
  return !staysOutsideApiPaths(path, prefixes);
}

/**
 * How many times an escape is decoded at most. Each pass costs the whole path, and a nested `%2525…` takes one pass per
 * level, so decoding until stable is quadratic in the path's length (8,000 levels cost ~180 ms a request). Origins decode
 * a path once, or twice behind a proxy that decodes too, so three passes read it as any of them would; a path still
 * holding escapes after them is treated as unreadable (unreadablePathRefusal, staysOutsideApiPaths).
 */
export const MAX_DECODING_PASSES = 3;

const ANY_ESCAPE = /%(?:[0-9a-f]{2}|u[0-9a-f]{4})/i;

/** A path with its escapes decoded, and whether the decoding settled (no escape left) within MAX_DECODING_PASSES. */
export interface PathDecoding {
  decoded: string;
  settled: boolean;
}

/**
 * Every escape decoded (`%uXXXX` too), again until none is left or MAX_DECODING_PASSES have run, so a doubly encoded
 * slash or dot (`%252F`) counts as one for an origin that decodes twice.
 */
export function pathDecoding(pathname: string): PathDecoding {
  let decoded = pathname;
  for (let pass = 0; pass < MAX_DECODING_PASSES && ANY_ESCAPE.test(decoded); pass++) {
    decoded = decoded.replace(/%u([0-9a-f]{4})|%([0-9a-f]{2})/gi, (_escape, wide?: string, byte?: string) => String.fromCharCode(parseInt(wide ?? byte ?? '', 16)));
  }
  return { decoded, settled: !ANY_ESCAPE.test(decoded) };
}

/**
 * True when no reading an origin could make of the target (escapes decoded, `%uXXXX` too, backslashes as slashes,
 * segments loosened by looseSegment, then empty and dot segments resolved) falls under an API prefix. A control or
 * non-ASCII byte anywhere counts as reaching one: origins strip, trim or fold them in ways no single reading covers
 * (`/openai%0A/...`, an overlong `%C0%AF` slash), and so does an escape left after the last decoding pass. On a host
 * whose other paths pass (Azure AI Services, whose Language API a client may call as `//language/...`), a target that
 * stays outside names no API route and can pass unread.
 */
export function staysOutsideApiPaths(path: string, prefixes: readonly string[]): boolean {
  if (path.includes('#')) return false;
  const apiPrefixes = prefixes.filter((prefix) => prefix !== '').map((prefix) => prefix.toLowerCase());
  const { decoded: pathname, settled } = pathDecoding(splitPathAndQuery(path).pathname);
  // Escapes left after the last pass: an origin decoding once more reads a path no reading here covers.
  if (!settled || hasControlOrNonAsciiByte(pathname)) return false;
  const resolved = resolveDotSegments(looseRoutablePath(pathname.replace(/\\/g, '/')).split('/'));
  return longestPrefix(`/${resolved.join('/')}`, apiPrefixes) === undefined;
}

/** Segments with empty and `.` segments dropped and each `..` taking the one before it away, as a URL resolver does. */
export function resolveDotSegments(segments: readonly string[]): string[] {
  const resolved: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') resolved.pop();
    else resolved.push(segment);
  }
  return resolved;
}
