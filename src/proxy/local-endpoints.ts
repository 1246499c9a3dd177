import type { Exchange } from './exchange.js';
import { buildPacFile } from './pac.js';
import { sendPlain } from './request-handler.js';

export interface LocalEndpointDeps {
  /** host:port clients should use as the proxy in the PAC file. */
  proxyHostPort: () => string;
  interceptPatterns: () => string[];
  status: () => Record<string, unknown>;
}

/**
 * Requests addressed to Edge itself rather than proxied: the PAC file browsers and MDM profiles
 * point at, and a health probe for installers and monitoring.
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
    if (path === '/healthz') {
      const body = JSON.stringify({ status: 'ok', ...deps.status() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    sendPlain(res, 404, `This is the Bifrost Edge proxy. Configure it as your HTTP(S) proxy, or use /proxy.pac for automatic configuration. (No local page at ${path}.)`);
  };
}
