import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamClient } from '../../src/gateway/upstream-client.js';

/**
 * An upstream that sends the answer's head and then stalls: the body idle timeout ends the exchange
 * (upstream_timeout) instead of holding the client forever; pauses shorter than it, and a client that
 * is slow to read, do not.
 */

const IDLE_MS = 400;
const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

interface Outcome { status?: number; error?: string; aborted?: boolean; afterMs: number }

/** A front server relaying every request to the upstream through UpstreamClient; reports how each ended. */
async function front(upstreamPort: number): Promise<{ port: number; outcomes: Outcome[] }> {
  const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 2000, bodyIdleTimeoutMs: IDLE_MS });
  closers.push(() => client.close());
  const outcomes: Outcome[] = [];
  const server = http.createServer((req, res) => {
    const started = Date.now();
    req.resume();
    client.forward({ via: 'gateway', url: new URL(`http://127.0.0.1:${upstreamPort}/openai/v1/chat/completions`), headers: {} }, 'POST', Buffer.from('{}'), res, {
      onFailure: (e) => res.writeHead(e.status).end(e.message),
      beforeEnd: async () => {},
      onDone: (o) => outcomes.push({ ...(o.status !== undefined ? { status: o.status } : {}), ...(o.error ? { error: o.error.type } : {}), ...(o.aborted ? { aborted: true } : {}), afterMs: Date.now() - started }),
    });
  });
  return { port: await listen(server), outcomes };
}

/** Sends a request to the front; resolves with what the client read and how its response ended. */
function ask(port: number, pauseReadingMs = 0): Promise<{ body: string; ended: 'end' | 'error' | 'close' }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' });
    req.once('error', reject);
    req.once('response', (res) => {
      let body = '';
      let settled = false;
      const done = (ended: 'end' | 'error' | 'close') => {
        if (settled) return;
        settled = true;
        resolve({ body, ended });
      };
      if (pauseReadingMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), pauseReadingMs);
      }
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.once('end', () => done('end'));
      res.once('error', () => done('error'));
      res.once('close', () => done('close'));
    });
    req.end('{}');
  });
}

describe('an answer whose body stops arriving', () => {
  it('is ended as upstream_timeout after the idle timeout; the client gets what came before', async () => {
    const upstream = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"partial":1}\n\n');
    });
    const { port, outcomes } = await front(await listen(upstream));
    const answer = await ask(port);
    expect(answer.body).toContain('"partial":1');
    expect(answer.ended).not.toBe('end');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ status: 200, error: 'upstream_timeout' });
    expect(outcomes[0]!.afterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(outcomes[0]!.afterMs).toBeLessThan(IDLE_MS + 1500);
  });

  it('pauses shorter than the idle timeout, however many, do not end it', async () => {
    const upstream = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        sent += 1;
        if (sent > 5) {
          clearInterval(timer);
          res.end('data: [DONE]\n\n');
        } else {
          res.write(`data: {"n":${sent}}\n\n`);
        }
      }, IDLE_MS / 2);
    });
    const { port, outcomes } = await front(await listen(upstream));
    const answer = await ask(port);
    expect(answer.ended).toBe('end');
    expect(answer.body).toContain('[DONE]');
    expect(outcomes).toEqual([expect.objectContaining({ status: 200 })]);
    expect(outcomes[0]!.error).toBeUndefined();
  });

  it('a client slow to read is not an upstream stall: a large answer completes after the client resumes', async () => {
    const size = 16 * 1024 * 1024;
    const upstream = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      res.end(Buffer.alloc(size, 0x61));
    });
    const { port, outcomes } = await front(await listen(upstream));
    const answer = await ask(port, IDLE_MS * 3);
    expect(answer.ended).toBe('end');
    expect(answer.body.length).toBe(size);
    expect(outcomes).toEqual([expect.objectContaining({ status: 200 })]);
    expect(outcomes[0]!.error).toBeUndefined();
  });
});
