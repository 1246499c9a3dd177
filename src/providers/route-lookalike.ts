import { edgeError, type EdgeError } from '../edge-error.js';
import type { RouteMatch } from './adapter.js';
import type { SurfaceEntry } from './catalog.js';
import { normalizeHost } from './host-pattern.js';
import {
  hasControlOrNonAsciiByte, longestPrefix, looseRoutablePath, MAX_DECODING_PASSES, pathDecoding, posesAsApiPath,
  resolveDotSegments, routablePath, splitPathAndQuery, type RequestLocation,
} from './route-path.js';
import type { HttpRequestInfo } from './types.js';

/**
 * Look-alike paths: spellings an origin that routes leniently (letter case ignored, `;parameters` dropped, blanks at
 * either end and trailing dots trimmed, control or non-ASCII bytes stripped, dot segments resolved afterwards) answers as a route
 * whose body Edge reads, while Edge's exact matching would forward them unread or as another route. Every adapter
 * refuses them with a 400 in its own error shape (its parse returns the refusal), so an app cannot get a prompt past
 * Edge by spelling its route for the origin rather than for Edge.
 */

/** Methods that send no body a model reads: no look-alike of them carries a prompt. */
export const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** A known route Edge refuses whatever the host's unknown-route rule (a look-alike, a prompt route sent with another method). */
export interface RefusedRouteMatch extends RouteMatch {
  refusal: EdgeError;
}

export function isRefused(route: RouteMatch): route is RefusedRouteMatch {
  return (route as Partial<RefusedRouteMatch>).refusal !== undefined;
}

/**
 * A route whose body Edge reads, as its path after the surface prefix: a literal segment, `*` (one id), or `*:method`
 * (a segment naming a resource and its custom method, Gemini's `models/{model}:generateContent`).
 */
export interface ReadRoute {
  segments: readonly string[];
}

/** The route `segments` spell, exactly or (`fold`) whatever their letter case. */
function readRouteAt<R extends ReadRoute>(segments: readonly string[], routes: readonly R[], fold: boolean): R | undefined {
  const same = (a: string, b: string) => (fold ? a.toLowerCase() === b.toLowerCase() : a === b);
  return routes.find((route) => route.segments.length === segments.length && route.segments.every((want, i) => {
    const got = segments[i] ?? '';
    if (want === '*') return got !== '';
    if (!want.startsWith('*:')) return same(want, got);
    const colon = got.lastIndexOf(':');
    return colon > 0 && same(want.slice(2), got.slice(colon + 1));
  }));
}

/** Control and non-ASCII characters: origins strip them, or read some (an overlong `%C0%AF`) as a slash. */
// eslint-disable-next-line no-control-regex
const CONTROL_OR_NON_ASCII = /[\u0000-\u001f\u007f-\uffff]/;
const EVERY_CONTROL_OR_NON_ASCII = new RegExp(CONTROL_OR_NON_ASCII.source, 'g');

/**
 * The path's segments as lenient origins may read them, dot segments not resolved yet: escapes decoded (pathDecoding,
 * at most MAX_DECODING_PASSES times), backslashes as slashes, control and non-ASCII characters dropped or read as a
 * slash, each segment loosened
 * (looseSegment: lower case, `;parameters` dropped, blanks and trailing dots trimmed; `..;` stays a dot segment).
 */
function lenientSegmentReadings(pathname: string): string[][] {
  const decoded = pathDecoding(pathname).decoded.replace(/\\/g, '/');
  const readings = CONTROL_OR_NON_ASCII.test(decoded)
    ? [decoded.replace(EVERY_CONTROL_OR_NON_ASCII, ''), decoded.replace(EVERY_CONTROL_OR_NON_ASCII, '/')]
    : [decoded];
  return readings.map((reading) => looseRoutablePath(reading).split('/'));
}

/**
 * True when a segment of the path is a dot segment only to a lenient origin (`..;`, `.. `, `..%00`, `.;`): the exact path
 * holds none (locateRequest refuses those), so the origin would answer another route than the one Edge matched.
 */
export function hasDisguisedDotSegment(pathname: string): boolean {
  return lenientSegmentReadings(pathname).some((segments) => segments.some((segment) => segment === '.' || segment === '..'));
}

/**
 * The whole paths a lenient origin may route `pathname` to (lower case, dot segments resolved): `/x/..;/OpenAI./realtime%0A`
 * is `/openai/realtime`. The one loosening every look-alike check builds on, HTTP routes and WebSocket APIs alike.
 */
export function lenientPathReadings(pathname: string): string[] {
  return lenientSegmentReadings(pathname).map((reading) => `/${resolveDotSegments(reading).join('/')}`);
}

/**
 * The operation paths lenient readings of the request's path reach under `prefixes` (lower case, dot segments resolved):
 * `/v1/Messages;x` is `['messages']` under `/v1`. Readings that leave every prefix are left out.
 */
export function lenientOperationReadings(location: RequestLocation, prefixes: readonly string[]): string[][] {
  const lowerPrefixes = prefixes.map((prefix) => prefix.toLowerCase());
  const readings: string[][] = [];
  for (const path of lenientPathReadings(location.pathname)) {
    const prefix = longestPrefix(path, lowerPrefixes);
    if (prefix === undefined) continue;
    const operationPath = path.slice(prefix.length);
    readings.push(operationPath === '' || operationPath === '/' ? [] : operationPath.slice(1).split('/'));
  }
  return readings;
}

/**
 * The read route a lenient reading of the path reaches, when its exact spelling (at `location`) is not that route: the
 * path is a look-alike of it. Undefined for bodyless methods and for the exact spelling of a read route (the adapter's
 * own rules decide those, the method included).
 */
export function readRouteLookalike<R extends ReadRoute>(
  location: RequestLocation, prefixes: readonly string[], routes: readonly R[],
): R | undefined {
  if (BODYLESS_METHODS.has(location.method)) return undefined;
  const exactSegments = location.operationPath === '' ? [] : location.operationPath.slice(1).split('/');
  if (readRouteAt(exactSegments, routes, false) !== undefined) return undefined;
  for (const reading of lenientOperationReadings(location, prefixes)) {
    const route = readRouteAt(reading, routes, true);
    if (route !== undefined) return route;
  }
  return undefined;
}

/**
 * A route whose body Edge reads sent with a method that has a body but is not POST: an origin may route `PUT /v1/messages`
 * to the POST handler, and Edge reads only the POST, so the rest is refused (405).
 */
export function wrongMethodRefusal(req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation, operation: string): RefusedRouteMatch | undefined {
  if (location.method === 'POST' || BODYLESS_METHODS.has(location.method)) return undefined;
  const refusal = edgeError(405, 'method_not_allowed',
    `Bifrost Edge blocked ${location.method} ${location.pathname} on ${normalizeHost(req.host)}: ${entry.label} reads this route's body only on POST, `
      + 'so another method could carry a prompt past inspection. Send the request as POST.', { provider: entry.provider });
  return { ...location, operation, inspected: false, refusal };
}

const LENIENT_READING = 'letter case, `;` parameters, leading or trailing blanks, trailing dots, dot segments, control or non-ASCII bytes';

/** The refusal of a look-alike of the read route `routeName` (readRouteLookalike), as `operation`. */
export function lookalikeRouteRefusal(
  req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation, routeName: string, operation: string,
): RefusedRouteMatch {
  const refusal = edgeError(400, 'invalid_request',
    `Bifrost Edge blocked ${location.method} ${location.pathname} on ${normalizeHost(req.host)}: it is ${entry.label}'s \`${routeName}\` route `
      + `but for how a lenient service reads paths (${LENIENT_READING}), so the service could answer it as that route, whose body Edge reads, `
      + 'without Edge reading it. Send the path as the API documents it.', { provider: entry.provider });
  return { ...location, operation, inspected: false, refusal };
}

/**
 * A path under the API with a dot segment in disguise (hasDisguisedDotSegment), sent with a body: refused, since the
 * origin may resolve it to any route, one Edge reads included (`/v1/models/..;/messages` is `/v1/messages` to it).
 */
export function disguisedDotSegmentRefusal(req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation): RefusedRouteMatch | undefined {
  if (BODYLESS_METHODS.has(location.method) || !hasDisguisedDotSegment(location.pathname)) return undefined;
  const refusal = edgeError(400, 'invalid_request',
    `Bifrost Edge blocked ${location.method} ${location.pathname} on ${normalizeHost(req.host)}: a segment of its path is a dot segment to a service `
      + 'that reads paths leniently (`..;`, `.. `, a control byte after the dots), so the service could answer it as another route than the one '
      + `Edge recognised, one whose body Edge reads among them. Send the path as ${entry.label} documents it.`, { provider: entry.provider });
  return { ...location, operation: 'lookalike', inspected: false, refusal };
}

/**
 * What makes a path unreadable for the look-alike checks, when something does: a control or non-ASCII byte once escapes
 * are decoded (origins strip them, read an overlong `%C0%AE` as `.` or `%C0%AF` as `/`, fold fullwidth `ｍ` to `m`, in
 * combinations no list of readings covers), an escaped `?` or `#` (an origin that decodes before routing ends the path
 * there: `/v1/images/generations%3Fx` is `/v1/images/generations`), or escapes still left after the last decoding pass.
 */
export function unreadablePathReason(pathname: string): string | undefined {
  const { decoded, settled } = pathDecoding(pathname);
  if (!settled) return `escapes nested deeper than ${MAX_DECODING_PASSES} levels`;
  if (hasControlOrNonAsciiByte(decoded)) return 'a control or non-ASCII byte (escaped or not)';
  if (/[?#]/.test(decoded)) return 'an escaped `?` or `#`';
  return undefined;
}

/**
 * A path under the API that lenient origins read in ways Edge cannot follow (unreadablePathReason), sent with a body:
 * refused, since the origin may answer it as any route, one whose body Edge reads among them
 * (`/v1/files/%C0%AE%C0%AE/messages` is `/v1/messages` to an origin that reads overlong UTF-8).
 */
export function unreadablePathRefusal(req: HttpRequestInfo, entry: SurfaceEntry, location: RequestLocation): RefusedRouteMatch | undefined {
  if (BODYLESS_METHODS.has(location.method)) return undefined;
  const reason = unreadablePathReason(splitPathAndQuery(req.path).pathname);
  if (reason === undefined) return undefined;
  const refusal = edgeError(400, 'invalid_request',
    `Bifrost Edge blocked ${location.method} ${location.pathname} on ${normalizeHost(req.host)}: its path holds ${reason}, which a service `
      + 'that reads paths leniently may drop, decode or read as another character, so it could answer the request as another route than the '
      + `one Edge recognised, one whose body Edge reads among them. Send the path as ${entry.label} documents it.`, { provider: entry.provider });
  return { ...location, operation: 'lookalike', inspected: false, refusal };
}

/**
 * On a host whose other paths pass unread (Azure AI Services, OpenRouter's website), a path outside the API that an
 * origin routing leniently may still take for an API path (`/OpenAI/deployments/...`, `/x/..;/openai/v1/...`,
 * `/openai./v1/...`: posesAsApiPath) is refused instead of passing unread.
 */
export function outsideApiLookalikeRefusal(req: HttpRequestInfo, entry: SurfaceEntry): RefusedRouteMatch | undefined {
  if ((entry.otherPaths ?? entry.unknownRoutes) !== 'pass' || !posesAsApiPath(req.path, entry.pathPrefixes)) return undefined;
  const { pathname: received, query } = splitPathAndQuery(req.path);
  const pathname = routablePath(received);
  const method = req.method.toUpperCase();
  const refusal = edgeError(400, 'invalid_request',
    `Bifrost Edge blocked ${method} ${pathname} on ${normalizeHost(req.host)}: a lenient reading of it (${LENIENT_READING}) is a `
      + `${entry.label} API path, so the service could answer it as an API call that Edge did not read. Send the path as the API documents it.`,
    { provider: entry.provider });
  return { method, pathname, query, prefix: '', operationPath: pathname, operation: 'lookalike', inspected: false, refusal };
}
