import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A man in the middle between a device and the control server, for tests: forwards everything
 * (streams included), except that while `replacePolicy` is set, GET /api/edge/v1/policy answers
 * with whatever it returns (given the real signed bundle), as an attacker or a broken cache would.
 */
export interface TamperingProxy {
  url: string;
  replacePolicy: ((real: unknown) => unknown) | undefined;
  /** While true, the push stream answers 503 (a proxy that kills long-lived connections). */
  blockStream: boolean;
  /** While true, GET /api/edge/v1/policy answers 503 (a replica or proxy failing fetches while the stream gets through). */
  failPolicyFetch: boolean;
  /** Bodies it substituted, in order. */
  substitutions: number;
  close(): Promise<void>;
}

/** `target` is asked per request (with its path), so a test can send some routes to another server (a replica). */
export async function startTamperingProxy(target: (pathname: string) => string): Promise<TamperingProxy> {
  const proxy: TamperingProxy = { url: '', replacePolicy: undefined, blockStream: false, failPolicyFetch: false, substitutions: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const upstream = new URL(req.url ?? '/', target(pathname));
    if (proxy.blockStream && upstream.pathname === '/api/edge/v1/policy/stream') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('streams are not allowed through this proxy');
      return;
    }
    if (proxy.failPolicyFetch && req.method === 'GET' && upstream.pathname === '/api/edge/v1/policy') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('policy fetches fail behind this proxy');
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    const tamper = req.method === 'GET' && upstream.pathname === '/api/edge/v1/policy' && proxy.replacePolicy;
    if (tamper) delete headers['if-none-match'];
    const forward = http.request(upstream, { method: req.method, headers }, (answer) => {
      if (!tamper || answer.statusCode !== 200) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const pieces: Buffer[] = [];
      answer.on('data', (p: Buffer) => pieces.push(p));
      answer.on('end', () => {
        const replaced = proxy.replacePolicy!(JSON.parse(Buffer.concat(pieces).toString('utf8')));
        proxy.substitutions++;
        const text = typeof replaced === 'string' ? replaced : JSON.stringify(replaced);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text);
      });
    });
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return proxy;
}
