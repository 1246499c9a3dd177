import type { Exchange } from './exchange.js';
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
}

/**
 * Requests addressed to Edge itself rather than proxied: the PAC file browsers and MDM profiles
 * point at, a health probe for installers and monitoring, and the status `bifrost-edge status`
 * reads (loopback only, and never a key's secret).
 */
export function createLocalEndpoints(deps: LocalEndpointDeps): (exchange: Exchange) => void {
  return ({ req, res }) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendPlain(res, 405, `Bifrost Edge's local endpoints only answer GET (got ${req.method}).`);
      return;
    }
    if (path === '/proxy.pac') {
      const body = buildPacFile(deps.proxyHostPort(), deps.interceptPatterns());
      res.writeHead(200, { 'content-type': 'application/x-ns-proxy-autoconfig', 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/healthz' || path === '/status.json') {
      const body = JSON.stringify(path === '/healthz' ? { status: 'ok', ...deps.health() } : deps.status());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    sendPlain(res, 404, `This is the Bifrost Edge proxy. Configure it as your HTTP(S) proxy, or use /proxy.pac for automatic configuration. (No local page at ${path}.)`);
  };
}
