import { execFile } from 'node:child_process';
import http from 'node:http';
import tls from 'node:tls';
import type net from 'node:net';
import { ProxyAgent, fetch as undiciFetch } from 'undici';

/** undici dispatcher that tunnels through Edge and trusts Edge's CA (what a Node app does with HTTPS_PROXY). */
export function proxyDispatcher(proxyUrl: string, caPem: string): ProxyAgent {
  return new ProxyAgent({ uri: proxyUrl, requestTls: { ca: caPem } });
}

export { undiciFetch };

export interface CurlResult {
  status: number;
  body: string;
  stderr: string;
  exitCode: number;
}

/** Runs the real curl binary through the proxy; the last line of stdout carries the status code. */
export function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const nl = stdout.lastIndexOf('\n');
      resolve({
        status: Number(stdout.slice(nl + 1)),
        body: stdout.slice(0, Math.max(nl, 0)),
        stderr,
        exitCode: error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0,
      });
    });
  });
}

/** Opens a CONNECT tunnel through the proxy and returns the raw socket (after the 200). */
export function openConnectTunnel(proxyUrl: string, target: string): Promise<{ socket: net.Socket; status: number; head: string }> {
  const proxy = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target, headers: { host: target } });
    req.once('connect', (res, socket) => resolve({ socket, status: res.statusCode ?? 0, head: '' }));
    req.once('error', reject);
    req.end();
  });
}

/** TLS through a CONNECT tunnel; resolves with the peer certificate the client saw. */
export async function tlsThroughProxy(proxyUrl: string, host: string, port: number, options: { servername?: string; ca?: string } = {}): Promise<{ socket: tls.TLSSocket; cert: tls.PeerCertificate; authorized: boolean; authorizationError?: string }> {
  const { socket: raw, status } = await openConnectTunnel(proxyUrl, `${host}:${port}`);
  if (status !== 200) throw new Error(`CONNECT answered ${status}`);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ socket: raw, servername: options.servername ?? host, rejectUnauthorized: false, ...(options.ca ? { ca: options.ca } : {}) }, () => {
      const err = socket.authorizationError;
      resolve({ socket, cert: socket.getPeerCertificate(), authorized: socket.authorized, ...(err ? { authorizationError: String(err) } : {}) });
    });
    socket.once('error', reject);
  });
}
