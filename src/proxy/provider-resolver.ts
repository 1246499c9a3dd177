import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry } from '../providers/catalog.js';
import { compileHostPattern } from '../providers/host-pattern.js';
import { errorResponseFor, readRequestBody, recognizeRequest, unknownRouteError } from '../providers/registry.js';
import { isRefused } from '../providers/route-lookalike.js';
import { bifrostRoute } from '../gateway/bifrost-routes.js';
import type { AiSurface, Resolution, SurfaceResolver } from './surface-resolution.js';

export interface ProviderResolver {
  resolve: SurfaceResolver;
  /** Whether CONNECTs to this host are decrypted (everything else is blind-tunnelled). */
  isIntercepted(host: string): boolean;
  hostPatterns(): string[];
}

/**
 * Adapts the provider layer (catalog, adapters, Bifrost route table) to what the proxy asks per
 * request. `interceptHosts` replaces the built-in list; hosts it names that no adapter knows are
 * still decrypted (so policy can see them) and forwarded as they are.
 */
export function createProviderResolver(interceptHosts?: string[]): ProviderResolver {
  const catalog = compileSurfaceCatalog(interceptHosts ? surfacesFor(interceptHosts) : DEFAULT_SURFACES);
  const surfaces = new Map<SurfaceEntry, AiSurface>();
  const surfaceOf = (entry: SurfaceEntry): AiSurface => {
    let surface = surfaces.get(entry);
    if (!surface) {
      surface = { provider: entry.provider, errorResponse: (error, options) => errorResponseFor(entry, error, options) };
      surfaces.set(entry, surface);
    }
    return surface;
  };

  const resolve: SurfaceResolver = (info): Resolution => {
    const recognized = recognizeRequest(info, catalog);
    if (recognized === undefined) return { kind: 'not-ai' };
    const surface = surfaceOf(recognized.entry);
    if ('unrecognized' in recognized) {
      return recognized.action === 'pass'
        ? { kind: 'unrecognized', surface, passThrough: true }
        : { kind: 'unrecognized', surface, passThrough: false, error: unknownRouteError(info, recognized.entry) };
    }
    return {
      kind: 'recognized',
      // Errors come from the adapter that read the route (a host may serve several API shapes) and know
      // the route: a Connect error's shape depends on the request's framing.
      surface: { provider: surface.provider, errorResponse: (error, options) => recognized.adapter.errorResponse(error, { ...options, route: recognized.route }) },
      inspected: recognized.route.inspected,
      ...(isRefused(recognized.route) ? { refusal: recognized.route.refusal } : {}),
      parse: (raw) => {
        const { entry, adapter, route } = recognized;
        // A route recognised only to be refused (a look-alike, a prompt route sent by PUT) is refused whatever its
        // adapter's parse does with it: one adapter forgetting to check must not send it out unread.
        if (isRefused(route)) return { ok: false, error: route.refusal };
        if (!route.inspected) {
          const parsed = adapter.parse(route, undefined, entry);
          return parsed.ok ? { ...parsed, body: undefined } : parsed;
        }
        const body = readRequestBody(recognized, raw);
        if (!body.ok) return body;
        const parsed = adapter.parse(route, body.value, entry);
        return parsed.ok ? { ...parsed, body: body.value, encode: body.encode } : parsed;
      },
      bifrostRoute: (request, mode) => bifrostRoute({ provider: recognized.entry.provider, route: recognized.route, model: request?.model ?? recognized.route.pathModel ?? null }, mode),
    };
  };

  return {
    resolve,
    isIntercepted: (host) => catalog.match(host) !== undefined,
    hostPatterns: () => catalog.hosts(),
  };
}

/**
 * The default surfaces narrowed to `hosts`, plus a pass-through surface for each host no adapter knows.
 * Those hosts get the MCP adapter, so an MCP server added to the intercept list is governed: it reads every
 * POST an MCP server could take for JSON-RPC, whatever its headers (see providers/mcp.ts); any other
 * traffic to such a host (pages, GETs, empty or non-JSON bodies, JSON that holds no JSON-RPC message)
 * passes as before. One exception: a POST body larger than proxy.maxRequestBodyBytes is refused (413),
 * since Edge cannot tell whether it holds a tool call it was never shown.
 */
function surfacesFor(hosts: string[]): SurfaceEntry[] {
  const wanted = new Set(hosts.map((h) => compileHostPattern(h).pattern));
  const entries: SurfaceEntry[] = [];
  for (const entry of DEFAULT_SURFACES) {
    const kept = entry.hosts.filter((h) => wanted.delete(compileHostPattern(h).pattern));
    if (kept.length > 0) entries.push({ ...entry, hosts: kept });
  }
  for (const host of wanted) {
    entries.push({ label: `AI host ${host}`, hosts: [host], provider: 'custom', adapter: 'mcp', pathPrefixes: [''], unknownRoutes: 'pass' });
  }
  return entries;
}
