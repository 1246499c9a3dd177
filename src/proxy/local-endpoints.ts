import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Exchange } from './exchange.js';
import { hostOfHostHeader } from './connect-target.js';
import { buildPacFile } from './pac.js';
import { sendPlain } from './request-handler.js';

export interface LocalEndpointDeps {
  /** host:port clients should use as the proxy in the PAC file. */
  proxyHostPort: () => string;
  interceptPatterns: () => string[];
  /** Small liveness answer for /healthz. */
  health: () => Record<string, unknown>;
  /** Everything `bifrost-edge status` shows, for /status.json. */
  status: () => Record<string, unknown>;
  /** Recent exchanges (newest first) for /activity.json. */
  activity: () => unknown[];
  /** Recent notices (blocks, budget alerts, …) for /notices.json. */
  notices: () => unknown[];
  /** Folder with the renderer pages served under /ui/. */
  rendererDir?: string;
  /** The MCP wrapper's POST endpoints (/mcp/decide, /mcp/tools, /mcp/withheld-list), which check their own method and headers. */
  mcp?: {
    isLocalPath(urlPath: string): boolean;
    serveLocal(req: IncomingMessage, res: ServerResponse, urlPath: string): void;
  };
}

const UI_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Requests addressed to Edge itself rather than proxied: the PAC file browsers and MDM profiles
 * point at, a health probe for installers and monitoring, and the status `bifrost-edge status`
 * reads (loopback only, and never a key's secret).
 */
export function createLocalEndpoints(deps: LocalEndpointDeps): (exchange: Exchange) => void {
  return ({ req, res }) => {
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    // A web page can point a DNS name at 127.0.0.1 (DNS rebinding); only loopback names may read Edge's pages.
    const host = hostOfHostHeader(String(req.headers.host ?? ''));
    if (!host || !LOOPBACK_NAMES.has(host)) {
      sendPlain(res, 421, 'Bifrost Edge only answers requests addressed to 127.0.0.1 or localhost.');
      return;
    }
    if (deps.mcp?.isLocalPath(urlPath)) {
      deps.mcp.serveLocal(req, res, urlPath);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendPlain(res, 405, `Bifrost Edge's local endpoints only answer GET (got ${req.method}).`);
      return;
    }
    if (urlPath === '/proxy.pac') {
      const body = buildPacFile(deps.proxyHostPort(), deps.interceptPatterns());
      res.writeHead(200, { 'content-type': 'application/x-ns-proxy-autoconfig', 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const json = JSON_ENDPOINTS[urlPath];
    if (json) {
      const body = JSON.stringify(json(deps));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (urlPath.startsWith('/ui/') && deps.rendererDir && serveRendererFile(deps.rendererDir, urlPath.slice(4), req.method === 'HEAD', res)) return;
    sendPlain(res, 404, `This is the Bifrost Edge proxy. Configure it as your HTTP(S) proxy, or use /proxy.pac for automatic configuration; the status page is /ui/status.html. (No local page at ${urlPath}.)`);
  };
}

const JSON_ENDPOINTS: Record<string, (deps: LocalEndpointDeps) => unknown> = {
  '/healthz': (deps) => ({ status: 'ok', ...deps.health() }),
  '/status.json': (deps) => deps.status(),
  '/activity.json': (deps) => deps.activity(),
  '/notices.json': (deps) => deps.notices(),
};

/** Serves one file of the renderer folder; refuses anything that would leave it. */
function serveRendererFile(rendererDir: string, relative: string, headOnly: boolean, res: import('node:http').ServerResponse): boolean {
  const root = path.resolve(rendererDir);
  const name = safeDecode(relative || 'status.html');
  if (name === undefined) return false;
  const file = path.resolve(root, name);
  const type = UI_TYPES[path.extname(file)];
  if (!file.startsWith(root + path.sep) || !type) return false;
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch {
    return false;
  }
  res.writeHead(200, {
    'content-type': type,
    'content-length': body.length,
    'cache-control': 'no-cache',
    // The pages only talk to the agent that served them.
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    'x-content-type-options': 'nosniff',
  });
  res.end(headOnly ? undefined : body);
  return true;
}

/** A malformed %-escape (`/ui/%E0%A4%A`) names no file: not an internal error (any web page can send one). */
function safeDecode(component: string): string | undefined {
  try {
    return decodeURIComponent(component);
  } catch {
    return undefined;
  }
}
