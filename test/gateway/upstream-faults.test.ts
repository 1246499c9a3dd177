import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamClient, type ForwardHandlers } from '../../src/gateway/upstream-client.js';

/**
 * Upstreams that misbehave at the byte level (raw TCP servers), relayed through UpstreamClient to a
 * real HTTP client: the exchange fails or completes cleanly, and the agent never throws.
 */

const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

async function readAll(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A front server that forwards each request to 127.0.0.1:`upstreamPort` and reports how it ended. */
async function front(upstreamPort: number, handlers: Partial<ForwardHandlers> = {}, bufferBody = false): Promise<{ url: string; outcomes: unknown[] }> {
  const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000 });
  const outcomes: unknown[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(`http://127.0.0.1:${upstreamPort}${req.url ?? '/'}`);
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    // Buffered as the proxy buffers an inspected request's body before it forwards it; else streamed.
    const body = !hasBody ? null : bufferBody ? await readAll(req) : Readable.from(req);
    client.forward({ via: 'origin', url, headers: { host: url.host, ...(req.headers['content-length'] ? { 'content-length': req.headers['content-length'] } : {}) } }, req.method ?? 'GET', body, res, {
      onFailure: (e) => res.writeHead(e.status).end(`${e.type}: ${e.message}`),
      onDone: (outcome) => outcomes.push({ status: outcome.status, error: outcome.error?.type, aborted: outcome.aborted }),
      ...handlers,
    });
  });
  const port = await listen(server);
  closers.push(() => {
    client.close();
    server.closeAllConnections();
  });
  return { url: `http://127.0.0.1:${port}`, outcomes };
}

describe('UpstreamClient: whether a request the client gave up on reached the upstream', () => {
  /** POSTs `body` through the front and destroys the request once `giveUp` resolves; resolves with the outcome. */
  async function giveUpOn(upstream: net.Server, body: Buffer, giveUp: () => Promise<void>): Promise<{ aborted?: boolean; requestSent?: boolean }> {
    let outcome: { aborted?: boolean; requestSent?: boolean } | undefined;
    const { url } = await front(await listen(upstream), { onDone: (o) => { outcome = { aborted: o.aborted, requestSent: o.requestSent, ...(o.error ? { error: o.error.type } : {}) } as typeof outcome; } }, true);
    const request = http.request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-length': body.length } });
    request.on('error', () => {});
    request.end(body);
    await giveUp();
    request.destroy();
    const deadline = Date.now() + 5000;
    while (outcome === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return outcome ?? {};
  }

  it('sent: the upstream read the whole request and was still thinking', async () => {
    let read = 0;
    const body = Buffer.alloc(64 * 1024, 0x61);
    const upstream = net.createServer((socket) => socket.on('data', (chunk: Buffer) => { read += chunk.length; }));
    const outcome = await giveUpOn(upstream, body, async () => {
      while (read < body.length) await new Promise((resolve) => setTimeout(resolve, 10));
    });
    expect(outcome).toEqual({ aborted: true, requestSent: true });
  });

  it('not sent: the client left while its large body was still going out to an upstream that had not read it', async () => {
    // The upstream accepts and never reads: the kernel's buffers take a few MiB, the rest waits.
    const upstream = net.createServer(() => {});
    const outcome = await giveUpOn(upstream, Buffer.alloc(24 * 1024 * 1024, 0x62), () => new Promise((resolve) => setTimeout(resolve, 1000)));
    expect(outcome).toEqual({ aborted: true, requestSent: false });
  });
});

describe('UpstreamClient against upstreams that misbehave', () => {
  it('a reason phrase Node would refuse to write (control characters) is replaced, not a crash', async () => {
    const upstream = net.createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 200 O\x01K\r\ncontent-length: 2\r\n\r\nhi')));
    const { url, outcomes } = await front(await listen(upstream));
    const answer = await fetch(`${url}/v1/models`);
    expect([answer.status, answer.statusText, await answer.text()]).toEqual([200, 'OK', 'hi']);
    expect(outcomes).toEqual([{ status: 200, error: undefined, aborted: undefined }]);
  });

  it('a streamed body on a DELETE goes out chunked: the upstream reads it as that request\'s body, never as a next request', async () => {
    const seen: string[] = [];
    const upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} body=${JSON.stringify(body)}`);
        res.end('ok');
      });
    });
    const { url } = await front(await listen(upstream));
    const smuggled = 'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}';
    const answer = await new Promise<string>((resolve, reject) => {
      const request = http.request(`${url}/v1/files/abc`, { method: 'DELETE', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      request.on('error', reject);
      request.end(smuggled);
    });
    expect(answer).toBe('200');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([`DELETE /v1/files/abc body=${JSON.stringify(smuggled)}`]);
  });

  it('a reset after a complete answer, while the answer is held for its record, still delivers the answer', async () => {
    // The upstream answers early without reading the upload, then resets (as a kernel does when a
    // server closes with unread data). The answer is complete; the reset must not discard it.
    let reset = (): void => {};
    const upstream = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        socket.write('HTTP/1.1 401 Unauthorized\r\ncontent-length: 5\r\n\r\nnope!');
        reset = () => socket.resetAndDestroy();
      });
    });
    // The reset is sent once the relay holds the complete answer (beforeEnd runs then), and lands while it
    // is held: on a loaded machine a fixed delay could reset before the answer was even read.
    const { url, outcomes } = await front(await listen(upstream), {
      beforeEnd: async () => {
        reset();
        await new Promise((resolve) => setTimeout(resolve, 150));
      },
    });
    const answer = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: Buffer.alloc(8 * 1024 * 1024, 97) });
    expect([answer.status, await answer.text()]).toEqual([401, 'nope!']);
    expect(outcomes).toEqual([{ status: 401, error: undefined, aborted: undefined }]);
  });

  it('a reset in the middle of an answer cuts the client off and is never answered by sending the request again', async () => {
    let requests = 0;
    const upstream = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        requests++;
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n7\r\ndata: 1\n\r\n');
        setTimeout(() => socket.resetAndDestroy(), 50);
      });
    });
    const { url, outcomes } = await front(await listen(upstream));
    const answer = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    await expect(answer.text()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(requests).toBe(1);
    expect(outcomes).toEqual([{ status: 200, error: undefined, aborted: true }]);
  });
});
