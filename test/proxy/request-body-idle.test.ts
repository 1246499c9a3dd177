import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRequestBody, RequestBodyError } from '../../src/proxy/request-body.js';
import { until } from '../support/until.js';

/**
 * A JSON body read into memory (readRequestBody) on a real HTTP server without a bound on the whole request,
 * as the proxy's servers are: one that stops arriving is refused with 408 once no bytes came for the idle
 * bound, one that arrives slowly but steadily is read whole however long it takes.
 */

let server: http.Server;
let outcome: Promise<{ read?: Buffer; error?: RequestBodyError; ms: number }> | undefined;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const started = Date.now();
    outcome = readRequestBody(req, 1024 * 1024, 300).then(
      (read) => ({ read, ms: Date.now() - started }),
      (error: RequestBodyError) => ({ error, ms: Date.now() - started }),
    );
    void outcome.then(({ error }) => {
      res.writeHead(error?.edge.status ?? 200);
      res.end();
    });
  });
  // As the proxy's servers: a slow body is not cut off as a whole (edge-proxy.ts).
  server.requestTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends `pieces` of a JSON body declared `declared` bytes long, `gapMs` apart; the socket stays open. */
async function send(pieces: string[], gapMs: number, declared: number): Promise<{ status: Promise<number>; req: http.ClientRequest }> {
  const port = (server.address() as AddressInfo).port;
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': declared } });
  const status = new Promise<number>((resolve) => {
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
  });
  outcome = undefined;
  for (const piece of pieces) {
    req.write(piece);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  expect(await until(() => outcome !== undefined)).toBe(true);
  return { status, req };
}

describe('a request body read into memory', () => {
  it('is refused with 408 once it stops arriving for the idle bound', async () => {
    const stalled = await send(['{"model":"gpt-4o",'], 0, 1000);
    const { error, ms } = await outcome!;
    expect(error?.edge).toMatchObject({ status: 408, type: 'request_timeout' });
    expect(error?.edge.message).toContain('The request body stopped arriving');
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(3000);
    expect(await stalled.status).toBe(408);
    stalled.req.destroy();
  });

  it('is read whole when it arrives slowly but steadily, for longer than the bound in all', async () => {
    const pieces = ['{"model":"gpt-4o","messages":[', ...Array.from({ length: 10 }, () => '{"role":"user","content":"hi"},'), '{"role":"user","content":"hi"}]}'];
    const body = pieces.join('');
    const steady = await send(pieces, 100, Buffer.byteLength(body));
    steady.req.end();
    const { read, error, ms } = await outcome!;
    expect(error).toBeUndefined();
    expect(read?.toString()).toBe(body);
    expect(ms).toBeGreaterThan(1000);
    expect(await steady.status).toBe(200);
  });
});
