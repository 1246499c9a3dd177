import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Mode } from '../config/schema.js';
import { isBifrostVirtualKey, PROVIDER_CREDENTIAL_HEADERS } from './bifrost-routes.js';

/** Headers that describe one hop only and must never be relayed (RFC 9110 §7.6.1), plus proxy credentials. */
const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'host',
]);
const NONE_LISTED: ReadonlySet<string> = new Set();


export interface Attribution {
  user?: string;
  device?: string;
  app?: string;
}

export interface UpstreamSettings {
  mode: Mode;
  gatewayUrl?: string;
  virtualKey?: string;
  /** host → origin URL replacing https://host (private deployments and tests). */
  originOverrides: Record<string, string>;
}

export interface RequestTarget {
  host: string;
  port: number;
  /** True when the client reached Edge over TLS (CONNECT), so the origin is https. */
  tls: boolean;
  /** Path and query as the client sent them. */
  path: string;
  headers: IncomingHttpHeaders;
}

/** Bifrost route for this request, from the provider route table; null when Bifrost has none (web apps). */
export interface BifrostRouteMapping {
  path: string;
  /** Model to write into the JSON body (e.g. `groq/llama-3.3-70b`) when Bifrost needs a provider prefix. */
  model?: string;
  /** Pass-through to another endpoint than the app's (Azure): the app's provider credentials are not sent. */
  dropAppCredentials?: true;
}

export interface UpstreamPlan {
  via: 'gateway' | 'passthrough' | 'origin';
  url: URL;
  headers: OutgoingHttpHeaders;
  rewriteModel?: string;
}

/**
 * Decides where a governed request goes and with which headers. Pure, so every header rule
 * (credential stripping, the employee's virtual key winning over the app's, attribution) is
 * checked by table tests without a network.
 */
export function planUpstream(settings: UpstreamSettings, target: RequestTarget, mapping: BifrostRouteMapping | null, attribution: Attribution): UpstreamPlan {
  const headers = relayableHeaders(target.headers);
  const useGateway = settings.mode !== 'local' && mapping !== null && settings.gatewayUrl !== undefined;
  if (!useGateway) {
    const url = originUrl(settings, target);
    headers.host = url.host;
    return { via: 'origin', url, headers };
  }
  const via = settings.mode === 'passthrough' ? 'passthrough' : 'gateway';
  const url = joinUrl(settings.gatewayUrl!, mapping!.path);
  for (const name of Object.keys(headers)) {
    // Clients must not be able to spoof Edge's attribution or pick another virtual key.
    if (name.startsWith('x-bf-')) delete headers[name];
  }
  for (const name of PROVIDER_CREDENTIAL_HEADERS) {
    const value = headers[name];
    // Gateway mode: the provider key stays on the laptop. Pass-through keeps it, unless it is an
    // app-supplied Bifrost key that Bifrost would read instead of the employee's, or Bifrost forwards to
    // another endpoint than the one the key is for.
    if (via === 'gateway' || mapping!.dropAppCredentials === true || isBifrostVirtualKey(typeof value === 'number' ? String(value) : value)) delete headers[name];
  }
  if (settings.virtualKey) headers['x-bf-vk'] = settings.virtualKey;
  for (const [name, value] of Object.entries(attribution)) {
    const safe = headerSafe(value);
    if (safe) headers[`x-bf-lh-${name}`] = safe;
  }
  headers.host = url.host;
  const plan: UpstreamPlan = { via, url, headers };
  if (mapping!.model !== undefined) plan.rewriteModel = mapping!.model;
  return plan;
}

/**
 * Whether Node writes `text` in a status line or header value: tab, printable ASCII and obs-text. Its
 * client parser accepts control characters there that its server refuses to send (writeHead throws).
 */
export function isWritableHeaderText(text: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(text);
}

/** The upstream's reason phrase, when Node will write it; without one, Node writes the standard phrase. */
export function relayableReason(reason: string | undefined): string | undefined {
  return reason !== undefined && isWritableHeaderText(reason) ? reason : undefined;
}

export function relayableHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  // Runs twice per request (request and answer); most carry no Connection header to parse.
  const connectionListed = incoming.connection === undefined ? NONE_LISTED : new Set(incoming.connection.toLowerCase().split(',').map((s) => s.trim()));
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionListed.has(name) || name.startsWith('proxy-')) continue;
    out[name] = value;
  }
  return out;
}

function originUrl(settings: UpstreamSettings, target: RequestTarget): URL {
  const override = settings.originOverrides[target.host];
  if (override) return joinUrl(override, target.path);
  const scheme = target.tls ? 'https' : 'http';
  const defaultPort = target.tls ? 443 : 80;
  const hostPart = target.host.includes(':') ? `[${target.host}]` : target.host;
  const port = target.port === defaultPort ? '' : `:${target.port}`;
  return new URL(`${scheme}://${hostPart}${port}${target.path}`);
}

/** Appends a request path (with query) to a base URL that may itself carry a path prefix. */
export function joinUrl(base: string, pathAndQuery: string): URL {
  const b = new URL(base);
  const prefix = b.pathname.replace(/\/+$/, '');
  const suffix = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
  return new URL(`${b.protocol}//${b.host}${prefix}${suffix}`);
}

/** Header values must be visible ASCII; attribution values are user/device names that may not be. */
function headerSafe(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const cleaned = value.replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 200);
  return cleaned || undefined;
}
