import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { EdgeMetrics } from './metrics.js';

export interface MetricsServerOptions {
  metrics: Pick<EdgeMetrics, 'render' | 'contentType'>;
  /** Must be loopback (127.0.0.0/8, ::1, localhost). Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. Default 0. */
  port?: number;
}

export interface MetricsServer {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string;
  close(): Promise<void>;
}

export class MetricsServerAddressError extends Error {
  readonly code = 'metrics_host_not_loopback' as const;
  constructor(host: string) {
    super(`metrics server host "${host}" is not a loopback address; use 127.0.0.1, ::1 or localhost (Edge never exposes data on the network — scrape it locally or through a node exporter).`);
    this.name = 'MetricsServerAddressError';
  }
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  return bare === '::ffff:127.0.0.1';
}

/**
 * Serves GET /metrics on a loopback port for a local Prometheus agent. Requests whose Host header is
 * not a loopback name are refused too, so a web page cannot read the metrics by DNS rebinding.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new MetricsServerAddressError(host);

  const server = http.createServer((req, res) => {
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopbackHost(hostHeader)) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('metrics are only served to loopback host names\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET /metrics\n');
      return;
    }
    options.metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`could not collect metrics: ${String(error)}\n`);
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    host: address.address,
    port: address.port,
    url: `http://${urlHost}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}
