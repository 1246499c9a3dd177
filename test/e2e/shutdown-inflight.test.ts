import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl } from '../support/proxy-clients.js';
import { auditRecordsOf } from '../support/audit-tail.js';

/**
 * SIGTERM while a streamed answer is in flight (the tokens are already being spent): the stream gets
 * a short grace period to finish, new requests are refused meanwhile, and the exchange is in the audit
 * trail however it ended.
 */

const KEY = 'sk-bf-shutdown-0001';
const CHUNKS = 6;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A gateway that streams CHUNKS events `gapMs` apart, then [DONE]. */
async function slowStreamingGateway(gapMs: number): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/health') {
        res.end('{"status":"ok"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        if (sent === CHUNKS) {
          clearInterval(timer);
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"t${sent} "}}]}\n\n`);
        sent += 1;
      }, gapMs);
      res.once('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function start(gatewayUrl: string, proxy: Record<string, unknown> = {}): Promise<EdgeProcess> {
  const edge = await startEdgeProcess({ config: { metrics: { port: null }, gateway: { url: gatewayUrl, virtualKey: KEY }, proxy } });
  cleanups.push(() => edge.stop('SIGKILL'));
  return edge;
}

function streamChat(edge: EdgeProcess) {
  return curl(['-N', '-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
    '-H', 'content-type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] })]);
}

interface TailedRecord { path: string; decision: string; status?: number; reason?: string }

const exitOf = (edge: EdgeProcess) => new Promise<number | null>((resolve) => {
  if (edge.child.exitCode !== null) resolve(edge.child.exitCode);
  else edge.child.once('exit', (code) => resolve(code));
});

describe('shutting down with requests in flight', () => {
  it('a stream in flight finishes within the grace period, a new request is refused, and the record is written', async () => {
    const edge = await start(await slowStreamingGateway(300));
    const pending = streamChat(edge);
    await sleep(800);
    edge.child.kill('SIGTERM');
    await sleep(200);
    const late = await streamChat(edge);
    expect(late.status).not.toBe(200);
    expect(late.stderr).toMatch(/503/);

    expect(await exitOf(edge)).toBe(0);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.match(/^data:/gm)).toHaveLength(CHUNKS + 1);
    expect(res.body).toContain('[DONE]');
    const records = (await auditRecordsOf<TailedRecord>(edge.dataDir, 100)).filter((r) => r.path === '/v1/chat/completions');
    expect(records).toEqual([expect.objectContaining({ decision: 'allowed', status: 200 })]);
    expect(edge.stderr()).not.toMatch(/outbox is closed|could not record/);
  });

  it('a stream longer than the grace period is cut off, and still leaves its audit record', async () => {
    const edge = await start(await slowStreamingGateway(400), { shutdownGraceMs: 300 });
    const pending = streamChat(edge);
    await sleep(900);
    edge.child.kill('SIGTERM');
    expect(await exitOf(edge)).toBe(0);
    const res = await pending;
    expect(res.body.match(/^data:/gm)!.length).toBeLessThan(CHUNKS + 1);
    const records = (await auditRecordsOf<TailedRecord>(edge.dataDir, 100)).filter((r) => r.path === '/v1/chat/completions');
    expect(records).toEqual([expect.objectContaining({ reason: 'client_aborted' })]);
    expect(edge.stderr()).toMatch(/1 request\(s\) still in flight/);
    expect(edge.stderr()).not.toMatch(/outbox is closed|could not record/);
  });

  it('a second signal exits at once, without waiting for the grace period', async () => {
    const edge = await start(await slowStreamingGateway(1000), { shutdownGraceMs: 60_000 });
    const pending = streamChat(edge);
    await sleep(500);
    edge.child.kill('SIGTERM');
    await sleep(300);
    const second = Date.now();
    edge.child.kill('SIGTERM');
    expect(await exitOf(edge)).toBe(1);
    expect(Date.now() - second).toBeLessThan(3000);
    await pending;
  });
});
