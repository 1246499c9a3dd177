import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { curl, proxyDispatcher, undiciFetch } from '../support/proxy-clients.js';

const EMPLOYEE_KEY = 'sk-bf-employee-0001';
const APP_OPENAI_KEY = 'sk-proj-APPKEY-must-never-reach-the-gateway';
const APP_ANTHROPIC_KEY = 'sk-ant-api03-APPKEY-must-never-reach-the-gateway';

let standin: BifrostStandin;
let edge: EdgeProcess;

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: EMPLOYEE_KEY, name: 'ada' }] });
  edge = await startEdgeProcess({
    config: { gateway: { url: standin.url, virtualKey: EMPLOYEE_KEY }, identity: { user: 'ada@example.com', device: 'ada-laptop' } },
  });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
});

/** Asserts the gateway never saw the app's own provider key, anywhere in headers or body. */
function expectNoAppKey(request: { headers: Record<string, string>; body: string }, appKey: string) {
  expect(JSON.stringify(request.headers)).not.toContain(appKey);
  expect(request.body).not.toContain(appKey);
}

describe('gateway mode, end to end through the real CLI', () => {
  it('prints exactly one JSON ready line on stdout', () => {
    expect(edge.stdoutLines).toHaveLength(1);
    expect(JSON.parse(edge.stdoutLines[0]!)).toEqual({ event: 'ready', proxy: edge.proxyUrl, ca: edge.caPath });
    expect(edge.proxyUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('curl: OpenAI chat is rewritten to /openai/v1, carries x-bf-vk and attribution, never the app key', async () => {
    standin.clear();
    const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, 'https://api.openai.com/v1/chat/completions',
      '-H', `Authorization: Bearer ${APP_OPENAI_KEY}`, '-H', 'Content-Type: application/json',
      '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello from curl' }] })]);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).choices[0].message.content).toContain('hello from curl');
    const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions');
    expect(seen.headers['x-bf-vk']).toBe(EMPLOYEE_KEY);
    expect(seen.logHeaders).toMatchObject({ user: 'ada@example.com', device: 'ada-laptop', app: 'curl' });
    expectNoAppKey(seen, APP_OPENAI_KEY);
  });

  it('official openai SDK: JSON and streamed completions; SSE chunks arrive as they are sent', async () => {
    const client = new OpenAI({ apiKey: APP_OPENAI_KEY, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'sdk json' }] });
    expect(completion.choices[0]?.message.content).toContain('sdk json');

    standin.setStreaming({ chunks: 5, delayMs: 250 });
    try {
      const started = Date.now();
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream me please' }] });
      const arrivals: number[] = [];
      let text = '';
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta.content;
        if (delta) {
          arrivals.push(Date.now() - started);
          text += delta;
        }
      }
      expect(text).toContain('stream me please');
      expect(arrivals.length).toBeGreaterThanOrEqual(5);
      // The stand-in spaces 5 content events 250 ms apart: a buffering proxy would deliver them together.
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(700);
    } finally {
      standin.setStreaming({ chunks: 5, delayMs: 0 });
    }
    const seen = standin.received.filter((r) => r.path === '/openai/v1/chat/completions');
    for (const r of seen) expectNoAppKey(r, APP_OPENAI_KEY);
  });

  it('official anthropic SDK: messages go to /anthropic/v1/messages without the app x-api-key', async () => {
    standin.clear();
    const client = new Anthropic({ apiKey: APP_ANTHROPIC_KEY, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher: proxyDispatcher(edge.proxyUrl, edge.caPem) } as never, maxRetries: 0 });
    const message = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 64, system: 'be brief', messages: [{ role: 'user', content: 'hi claude' }] });
    const first = message.content[0];
    expect(first?.type === 'text' ? first.text : '').toContain('hi claude');
    const seen = await standin.waitForRequest((r) => r.path === '/anthropic/v1/messages');
    expect(seen.headers['x-bf-vk']).toBe(EMPLOYEE_KEY);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expectNoAppKey(seen, APP_ANTHROPIC_KEY);
  });

  it('upstream errors reach the client unchanged', async () => {
    const body = { is_bifrost_error: false, status_code: 429, type: 'rate_limited', error: { type: 'rate_limited', message: 'slow down (from the gateway)' } };
    standin.failNext(429, body, { headers: { 'retry-after': '7' } });
    const res = await curl(['-x', edge.proxyUrl, '--cacert', edge.caPath, '-i', 'https://api.openai.com/v1/chat/completions',
      '-H', 'Content-Type: application/json', '-d', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })]);
    expect(res.status).toBe(429);
    expect(res.body).toMatch(/retry-after: 7/i);
    expect(JSON.parse(res.body.slice(res.body.lastIndexOf('\r\n\r\n') + 4))).toEqual(body);
  });
});
