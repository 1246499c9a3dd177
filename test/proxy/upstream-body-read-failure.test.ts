import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EdgeError } from '../../src/edge-error.js';
import { UpstreamClient } from '../../src/gateway/upstream-client.js';
import { until } from '../support/until.js';

/**
 * A streamed request body that fails while UpstreamClient sends it (a spooled upload whose file can no longer
 * be read): the upstream request is ended at once, not left waiting for the rest until the response timeout,
 * and the client gets a 502 whose error (what the request handler writes in the audit record) says why.
 */

const RESPONSE_TIMEOUT_MS = 20_000;
let origin: http.Server;
let front: http.Server;
let client: UpstreamClient;
let originBytes = 0;
let originRequestClosed = false;
const failures: EdgeError[] = [];
const outcomes: Array<{ error?: string; requestSent?: boolean }> = [];

/** Half a body, then the stream fails, as a file read stream fails on a removed or unreadable spool. */
function failingBody(): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(Buffer.alloc(64 * 1024, 1));
      setTimeout(() => this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })), 100);
    },
  });
}

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => { originBytes += chunk.length; });
    req.once('close', () => { originRequestClosed = true; });
    req.once('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originPort = (origin.address() as AddressInfo).port;
  client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: RESPONSE_TIMEOUT_MS });
  front = http.createServer((req, res) => {
    req.resume();
    const url = new URL(`http://127.0.0.1:${originPort}/v1/images/edits`);
    client.forward({ via: 'origin', url, headers: { host: url.host, 'content-length': String(128 * 1024) } }, 'POST', failingBody(), res, {
      onFailure: (error) => {
        failures.push(error);
        res.writeHead(error.status).end(JSON.stringify({ error }));
      },
      onDone: (outcome) => outcomes.push({ ...(outcome.error ? { error: outcome.error.type } : {}), ...(outcome.requestSent !== undefined ? { requestSent: outcome.requestSent } : {}) }),
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  client.close();
  front.closeAllConnections();
  origin.closeAllConnections();
  await new Promise((resolve) => front.close(resolve));
  await new Promise((resolve) => origin.close(resolve));
});

describe('a request body that fails while it is sent upstream', () => {
  it('ends the upstream request at once and answers 502 saying the body could not be read', async () => {
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, { method: 'POST', body: '{}' });
    const ms = Date.now() - started;
    expect(res.status).toBe(502);
    const { error } = (await res.json()) as { error: EdgeError };
    expect(error.type).toBe('request_body_unreadable');
    expect(error.message).toContain('EIO: i/o error, read');
    expect(ms).toBeLessThan(RESPONSE_TIMEOUT_MS / 4);
    expect(failures).toHaveLength(1);
    expect(outcomes).toEqual([{ error: 'request_body_unreadable', requestSent: false }]);
    // The upstream got the half that was read, then its request ended unfinished (nothing answered it).
    expect(await until(() => originRequestClosed)).toBe(true);
    expect(originBytes).toBeGreaterThan(0);
    expect(originBytes).toBeLessThan(128 * 1024);
  });
});
