/**
 * The upstream every benchmark scenario talks to, run as its own process so its CPU use does not
 * skew the proxies'. HTTPS with a private CA (leaf per SNI name, like a real origin), answering:
 *   POST /v1/chat/completions  a small chat.completion JSON
 *   POST /v1/chat/completions?chunks=N&interval=MS  SSE; each event carries its send time (epoch ms, µs precision)
 *   GET  /blob?mb=N            N MiB of bytes, for tunnel throughput
 * Prints one JSON line {"port":…, "caPath":…} when listening.
 */
import https from 'node:https';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadOrCreateCa } from '../src/ca/certificate-authority.js';
import { LeafCertificateStore } from '../src/ca/leaf-certificates.js';

const CHAT_RESPONSE = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 0, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'benchmark answer' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
});
const BLOB_CHUNK = Buffer.alloc(1024 * 1024, 0x5a);

export const nowMs = (): number => performance.timeOrigin + performance.now();

function stream(res: import('node:http').ServerResponse, chunks: number, interval: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let i = 0;
  const send = () => {
    if (res.destroyed) return;
    if (i >= chunks) {
      res.end('data: [DONE]\n\n');
      return;
    }
    res.write(`data: {"i":${i},"t":${nowMs().toFixed(3)}}\n\n`);
    i++;
    setTimeout(send, interval);
  };
  send();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-bench-upstream-'));
  const ca = await loadOrCreateCa({ dir, commonName: 'Bench Upstream CA', log: () => {} });
  const leaves = await LeafCertificateStore.create(ca);
  const fallback = leaves.getCertificate('127.0.0.1');
  const server = https.createServer({
    key: fallback.keyPem,
    cert: fallback.certPem,
    SNICallback: (name, cb) => cb(null, leaves.getSecureContext(name)),
    keepAlive: true,
    // As long as the benchmark's clients keep theirs (run-bench.ts KEEP_ALIVE_MS): Node's 5 s would
    // expire a mode's connections while the other modes run.
    keepAliveTimeout: 120_000,
  }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://upstream');
    if (url.pathname === '/v1/chat/completions' && url.searchParams.has('chunks')) {
      req.resume();
      stream(res, Number(url.searchParams.get('chunks')), Number(url.searchParams.get('interval') ?? 5));
      return;
    }
    if (url.pathname === '/v1/chat/completions') {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(CHAT_RESPONSE) });
        res.end(CHAT_RESPONSE);
      });
      return;
    }
    if (url.pathname === '/blob') {
      const mb = Number(url.searchParams.get('mb') ?? 64);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': mb * BLOB_CHUNK.length });
      let sent = 0;
      const pump = () => {
        while (sent < mb) {
          sent++;
          if (!res.write(BLOB_CHUNK)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, caPath: ca.certPath }) + '\n');
  });
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

void main();
