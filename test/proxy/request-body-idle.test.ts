import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRequestBody } from '../../src/proxy/request-body.js';
import { openPost, startBodyReadingServer, type BodyReadingServer } from '../support/body-reading-server.js';
import { until } from '../support/until.js';

/**
 * A JSON body read into memory (readRequestBody) on a real HTTP server without a bound on the whole request,
 * as the proxy's servers are: one that stops arriving is refused with 408 once no bytes came for the idle
 * bound, one that arrives slowly but steadily is read whole however long it takes.
 */

let server: BodyReadingServer<Buffer>;

beforeAll(async () => {
  server = await startBodyReadingServer((req) => readRequestBody(req, 1024 * 1024, 300));
});

afterAll(() => server.close());

/** Sends `pieces` of a JSON body declared `declared` bytes long, `gapMs` apart; the socket stays open. */
async function send(pieces: string[], gapMs: number, declared: number): Promise<{ status: Promise<number>; req: http.ClientRequest }> {
  const { req, status } = openPost(server.port, { 'content-type': 'application/json', 'content-length': declared });
  server.forget();
  for (const piece of pieces) {
    req.write(piece);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  expect(await until(() => server.latest() !== undefined)).toBe(true);
  return { status, req };
}

describe('a request body read into memory', () => {
  it('is refused with 408 once it stops arriving for the idle bound', async () => {
    const stalled = await send(['{"model":"gpt-4o",'], 0, 1000);
    const { error, ms } = await server.latest()!;
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
    const { read, error, ms } = await server.latest()!;
    expect(error).toBeUndefined();
    expect(read?.toString()).toBe(body);
    expect(ms).toBeGreaterThan(1000);
    expect(await steady.status).toBe(200);
  });
});
