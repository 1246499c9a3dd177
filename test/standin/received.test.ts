/** What the stand-in records, and the failures tests can inject. */
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startBifrostStandin, type BifrostStandin, type ReceivedRequest } from '../support/bifrost-standin.js';
import { VK, call, component, expectFits, jsonHeaders } from './helpers.js';

let bifrost: BifrostStandin;
const seenRequests: ReceivedRequest[] = [];
const seenResponses: ReceivedRequest[] = [];

beforeAll(async () => {
  bifrost = await startBifrostStandin({
    virtualKeys: [{ value: VK }],
    onRequest: (r) => seenRequests.push(r),
    onResponse: (r) => seenResponses.push(r),
  });
});

afterEach(() => {
  bifrost.clear();
});

afterAll(async () => {
  await bifrost.close();
});

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'record me' }] };

describe('received log', () => {
  it('records method, path, query, lower-cased headers, body text and JSON, arrival time and status', async () => {
    const before = Date.now();
    await call(bifrost.url, 'POST', '/openai/v1/chat/completions?trace=1', chat, {
      'Content-Type': 'application/json',
      'X-BF-VK': VK,
      'X-BF-LH-User': 'alice@example.com',
      'x-bf-lh-device': 'laptop-42',
      'User-Agent': 'standin-test/1.0',
    });
    expect(bifrost.received).toHaveLength(1);
    const r = bifrost.received[0] as ReceivedRequest;
    expect(r).toMatchObject({
      method: 'POST',
      path: '/openai/v1/chat/completions',
      query: 'trace=1',
      url: '/openai/v1/chat/completions?trace=1',
      body: JSON.stringify(chat),
      json: chat,
      virtualKey: VK,
      virtualKeySource: 'x-bf-vk',
      logHeaders: { user: 'alice@example.com', device: 'laptop-42' },
      status: 200,
    });
    expect(r.headers['x-bf-vk']).toBe(VK);
    expect(r.headers['user-agent']).toBe('standin-test/1.0');
    expect(r.headers['content-type']).toBe('application/json');
    expect(Object.keys(r.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(r.time).toBeGreaterThanOrEqual(before);
    expect(r.time).toBeLessThanOrEqual(Date.now());
    expect(r.rawBody.toString('utf8')).toBe(r.body);
    expect(seenRequests.at(-1)).toBe(r);
    expect(seenResponses.at(-1)).toBe(r);
  });

  it('records requests that fail too, with their status, and numbers them in arrival order', async () => {
    await call(bifrost.url, 'POST', '/v1/chat/completions', chat, jsonHeaders(null));
    await call(bifrost.url, 'GET', '/no/such/route');
    await call(bifrost.url, 'POST', '/anthropic/v1/messages', 'garbage', jsonHeaders());
    expect(bifrost.received.map((r) => [r.path, r.status])).toEqual([
      ['/v1/chat/completions', 401],
      ['/no/such/route', 404],
      ['/anthropic/v1/messages', 400],
    ]);
    const seqs = bifrost.received.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(bifrost.received[2]?.json).toBeUndefined();
    expect(bifrost.received[2]?.body).toBe('garbage');
  });

  it('undoes gzip content-encoding for body and json, keeping the wire bytes', async () => {
    const wire = gzipSync(Buffer.from(JSON.stringify(chat)));
    const res = await fetch(`${bifrost.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { ...jsonHeaders(), 'content-encoding': 'gzip' },
      body: wire,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'echo: record me' } }] });
    const r = bifrost.received[0] as ReceivedRequest;
    expect(r.json).toEqual(chat);
    expect(r.rawBody.equals(wire)).toBe(true);
  });

  it('reads a body streamed in slowly, in full', async () => {
    const text = 'x'.repeat(256 * 1024);
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: text }] });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${bifrost.url}/openai/v1/chat/completions`, { method: 'POST', headers: jsonHeaders() }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      const pieces = body.match(/[\s\S]{1,65536}/g) ?? [];
      const next = (i: number): void => {
        if (i >= pieces.length) return void req.end();
        req.write(pieces[i]);
        setTimeout(() => next(i + 1), 20);
      };
      next(0);
    });
    expect(status).toBe(200);
    expect(bifrost.received[0]?.body).toBe(body);
    expect(bifrost.received[0]?.headers['transfer-encoding']).toBe('chunked');
  });

  it('clear() empties the same array', async () => {
    const log = bifrost.received;
    await call(bifrost.url, 'GET', '/health');
    expect(log).toHaveLength(1);
    bifrost.clear();
    expect(bifrost.received).toBe(log);
    expect(log).toHaveLength(0);
  });

  it('waitForRequest resolves for a request still to come, and times out with a clear error', async () => {
    const waiting = bifrost.waitForRequest((r) => r.path === '/anthropic/v1/messages/count_tokens', 2_000);
    await call(bifrost.url, 'GET', '/health');
    await call(bifrost.url, 'POST', '/anthropic/v1/messages/count_tokens', { model: 'claude-sonnet-4-5', messages: [] }, jsonHeaders());
    expect((await waiting).path).toBe('/anthropic/v1/messages/count_tokens');
    const again = await bifrost.waitForRequest((r) => r.path === '/health');
    expect(again.path).toBe('/health');
    await expect(bifrost.waitForRequest((r) => r.path === '/never', 50)).rejects.toThrow(/no matching request within 50 ms/);
  });
});

describe('failNext', () => {
  it('answers the next request with a BifrostError of the status\'s usual type, then recovers', async () => {
    bifrost.failNext(429);
    const failed = await call(bifrost.url, 'POST', '/v1/chat/completions', { ...chat, model: 'openai/gpt-4o' }, jsonHeaders());
    expect(failed.status).toBe(429);
    expectFits(failed.json, component('BifrostError'));
    expect(failed.json).toMatchObject({ status_code: 429, type: 'rate_limited', error: { type: 'rate_limited' }, extra_fields: { provider: 'openai', model_requested: 'openai/gpt-4o' } });
    const ok = await call(bifrost.url, 'POST', '/v1/chat/completions', chat, jsonHeaders());
    expect(ok.status).toBe(200);
  });

  it('speaks the route family\'s dialect, before any key check', async () => {
    bifrost.failNext(402);
    const anthropic = await call(bifrost.url, 'POST', '/anthropic/v1/messages', { model: 'claude-sonnet-4-5', messages: [] }, jsonHeaders(null));
    expect(anthropic.status).toBe(402);
    expect(anthropic.json).toEqual({ type: 'error', error: { type: 'budget_exceeded', message: expect.any(String) } });

    bifrost.failNext(503);
    const gemini = await call(bifrost.url, 'POST', '/genai/v1beta/models/gemini-2.5-flash:generateContent', { contents: [] }, jsonHeaders());
    expect(gemini.status).toBe(503);
    expectFits(gemini.json, component('GeminiError'));
    expect(gemini.json).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
  });

  it('takes a type and message, or a raw body, and extra headers', async () => {
    bifrost.failNext(403, undefined, { type: 'model_blocked', message: 'gpt-4o is not allowed for this key', headers: { 'x-extra': 'yes' } });
    const typed = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', chat, jsonHeaders());
    expect(typed.status).toBe(403);
    expect(typed.headers.get('x-extra')).toBe('yes');
    expect(typed.json).toMatchObject({ type: 'model_blocked', error: { message: 'gpt-4o is not allowed for this key' } });

    bifrost.failNext(500, 'upstream exploded');
    const text = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', chat, jsonHeaders());
    expect(text.status).toBe(500);
    expect(text.text).toBe('upstream exploded');
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);

    bifrost.failNext(418, { custom: true });
    const obj = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', chat, jsonHeaders());
    expect(obj.status).toBe(418);
    expect(obj.json).toEqual({ custom: true });
  });

  it('queues failures, spares /health, and honours a path filter', async () => {
    bifrost.failNext(500, undefined, { path: '/anthropic/' });
    bifrost.failNext(502);
    bifrost.failNext(504);
    expect((await call(bifrost.url, 'GET', '/health')).status).toBe(200);
    expect((await call(bifrost.url, 'POST', '/openai/v1/chat/completions', chat, jsonHeaders())).status).toBe(502);
    expect((await call(bifrost.url, 'POST', '/anthropic/v1/messages', { model: 'claude-sonnet-4-5', messages: [] }, jsonHeaders())).status).toBe(500);
    expect((await call(bifrost.url, 'GET', '/v1/models', undefined, { 'x-bf-vk': VK })).status).toBe(504);
    expect((await call(bifrost.url, 'GET', '/v1/models', undefined, { 'x-bf-vk': VK })).status).toBe(200);
  });

  it('applies to a streaming request as a plain JSON error', async () => {
    bifrost.failNext(429, undefined, { path: /chat\/completions$/ });
    const r = await call(bifrost.url, 'POST', '/openai/v1/chat/completions', { ...chat, stream: true }, jsonHeaders());
    expect(r.status).toBe(429);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('refuses a status that is not an HTTP status', () => {
    expect(() => bifrost.failNext(42)).toThrow(/not an HTTP status/);
  });
});
