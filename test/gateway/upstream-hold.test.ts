import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamClient } from '../../src/gateway/upstream-client.js';

/**
 * The answer is complete for the client only once `beforeEnd` (the audit commit) settles: nobody
 * gets an answer whose record could still be lost.
 */
describe('UpstreamClient holds the end of a sized answer until beforeEnd settles', () => {
  const closers: Array<() => void> = [];
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });

  async function setup(answer: Buffer) {
    const upstream = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': answer.length }).end(answer));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1/x`);
    const client = new UpstreamClient({ connectTimeoutMs: 2000, responseTimeoutMs: 5000 });
    let release!: () => void;
    const committed = new Promise<void>((resolve) => { release = resolve; });
    let beforeEndCalled = false;
    const front = http.createServer((_req, res) => {
      client.forward({ via: 'origin', url, headers: { host: url.host } }, 'GET', null, res, {
        onFailure: (e) => res.writeHead(502).end(e.message),
        beforeEnd: () => {
          beforeEndCalled = true;
          return committed;
        },
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      client.close();
      front.closeAllConnections();
      front.close();
      upstream.closeAllConnections();
      upstream.close();
    });
    let received = 0;
    let ended = false;
    let headersSeen = false;
    const done = new Promise<void>((resolve, reject) => {
      http.get(`http://127.0.0.1:${(front.address() as AddressInfo).port}/`, (res) => {
        headersSeen = true;
        res.on('data', (chunk: Buffer) => { received += chunk.length; });
        res.on('end', () => { ended = true; resolve(); });
      }).on('error', reject);
    });
    const waitFor = async (condition: () => boolean) => {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    return { release, done, waitFor, state: () => ({ received, ended, headersSeen, beforeEndCalled }) };
  }

  it('sends a small answer whole, headers and body together, only after the commit', async () => {
    const answer = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', choices: [{ message: { content: 'hi' } }] }));
    const t = await setup(answer);
    await t.waitFor(() => t.state().beforeEndCalled);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.state()).toMatchObject({ beforeEndCalled: true, headersSeen: false, received: 0, ended: false });
    t.release();
    await t.done;
    expect(t.state()).toMatchObject({ received: answer.length, ended: true });
  });

  it('streams a large answer but keeps its last byte until the commit', async () => {
    const answer = Buffer.alloc(512 * 1024, 0x61);
    const t = await setup(answer);
    await t.waitFor(() => t.state().received === answer.length - 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.state()).toMatchObject({ beforeEndCalled: true, headersSeen: true, received: answer.length - 1, ended: false });
    t.release();
    await t.done;
    expect(t.state()).toMatchObject({ received: answer.length, ended: true });
  });
});
