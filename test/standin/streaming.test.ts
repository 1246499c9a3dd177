/** SSE in each provider's dialect, every event flushed on its own and spaced in time. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { VK, component, expectFits, jsonHeaders, rawPieces, spec, streamEvents, type SseEvent } from './helpers.js';
import type { JsonSchema } from '../support/standin-openapi-check.js';

const DELAY = 100;
const CHUNKS = 5;

let bifrost: BifrostStandin;

beforeAll(async () => {
  bifrost = await startBifrostStandin({ virtualKeys: [{ value: VK }], sseChunkDelayMs: DELAY, sseChunks: CHUNKS });
});

afterAll(async () => {
  await bifrost.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: jsonHeaders(VK, headers),
  body: JSON.stringify(body),
});

/** The text/event-stream schema a path documents for 200. */
function sseSchema(path: string): JsonSchema {
  const op = spec.paths[path]?.['post'] as { responses: Record<string, { content: Record<string, { schema: JsonSchema }> }> };
  const schema = op.responses['200']?.content['text/event-stream']?.schema;
  if (!schema) throw new Error(`no SSE schema for ${path}`);
  return schema;
}

/**
 * Content events must reach the client spread over (chunks - 1) × delay: the first long before the last.
 * (Only first-to-last is measured: a busy test machine may hand two neighbouring events over in one read.)
 */
function expectSpaced(content: SseEvent[], chunks = CHUNKS, delay = DELAY): void {
  expect(content).toHaveLength(chunks);
  const first = (content[0] as SseEvent).at;
  const last = (content[content.length - 1] as SseEvent).at;
  expect(last - first).toBeGreaterThanOrEqual((chunks - 1) * delay * 0.8);
}

function expectSseHeaders(headers: Headers): void {
  expect(headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(headers.get('x-accel-buffering')).toBe('no');
  expect(headers.get('cache-control')).toBe('no-cache');
  expect(headers.get('content-length')).toBeNull();
}

describe('OpenAI chat completions stream', () => {
  const body = { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream this please' }] };

  it('sends chat.completion.chunk events spaced apart, then usage and [DONE]', async () => {
    const { status, headers, events } = await streamEvents(`${bifrost.url}/openai/v1/chat/completions`, post('', body));
    expect(status).toBe(200);
    expectSseHeaders(headers);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => ({ ...e, json: JSON.parse(e.data) as Record<string, unknown> }));
    const schema = sseSchema('/openai/v1/chat/completions');
    for (const c of chunks) {
      expectFits(c.json, schema);
      expect(c.json['object']).toBe('chat.completion.chunk');
      expect(c.json['id']).toBe(chunks[0]?.json['id']);
    }
    type Choice = { delta: { role?: string; content?: string }; finish_reason?: string };
    const choicesOf = (c: (typeof chunks)[number]) => c.json['choices'] as Choice[];
    const content = chunks.filter((c) => typeof choicesOf(c)[0]?.delta.content === 'string');
    expect(choicesOf(content[0] as (typeof chunks)[number])[0]?.delta.role).toBe('assistant');
    expect(content.map((c) => choicesOf(c)[0]?.delta.content).join('')).toBe('echo: stream this please');
    expectSpaced(content);
    const finish = chunks.find((c) => choicesOf(c)[0]?.finish_reason === 'stop');
    expect(finish).toBeDefined();
    const usage = chunks.at(-1)?.json;
    expect(usage?.['choices']).toEqual([]);
    expect(usage?.['usage']).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) });
  });

  it('leaves the usage chunk out without stream_options.include_usage', async () => {
    const { events } = await streamEvents(`${bifrost.url}/v1/chat/completions`, post('', { ...body, stream_options: undefined }, { 'x-standin-delay-ms': '0' }));
    const jsons = events.slice(0, -1).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(jsons.some((j) => 'usage' in j)).toBe(false);
    expect(jsons.every((j) => (j['extra_fields'] as { provider: string }).provider === 'openai')).toBe(true);
  });
});

describe('OpenAI Responses stream', () => {
  it('sends the Responses event sequence with ordered sequence numbers', async () => {
    const { status, headers, events } = await streamEvents(`${bifrost.url}/openai/v1/responses`, post('', { model: 'gpt-4o', stream: true, input: 'responses stream' }));
    expect(status).toBe(200);
    expectSseHeaders(headers);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(names.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const data = events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(data.map((d) => d['sequence_number'])).toEqual(data.map((_d, i) => i));
    expect(data.every((d, i) => d['type'] === names[i])).toBe(true);
    const deltas = events.filter((e) => e.event === 'response.output_text.delta');
    expect(deltas.map((e) => (JSON.parse(e.data) as { delta: string }).delta).join('')).toBe('echo: responses stream');
    expectSpaced(deltas);
    const completed = data.at(-1)?.['response'];
    expectFits(completed, component('ResponsesResponse'));
    expect(completed).toMatchObject({ status: 'completed', output: [{ content: [{ text: 'echo: responses stream' }] }] });
  });
});

describe('Anthropic messages stream', () => {
  it('sends message_start … content_block_delta … message_stop', async () => {
    const { status, headers, events } = await streamEvents(`${bifrost.url}/anthropic/v1/messages`, post('', {
      model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'anthropic stream' }],
    }));
    expect(status).toBe(200);
    expectSseHeaders(headers);
    expect(events.map((e) => e.event)).toEqual([
      'message_start', 'content_block_start', 'ping',
      ...Array<string>(CHUNKS).fill('content_block_delta'),
      'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const schema = sseSchema('/anthropic/v1/messages');
    for (const e of events) {
      const json = JSON.parse(e.data) as { type: string };
      expect(json.type).toBe(e.event);
      expectFits(json, schema);
    }
    const deltas = events.filter((e) => e.event === 'content_block_delta');
    expect(deltas.map((e) => (JSON.parse(e.data) as { delta: { text: string } }).delta.text).join('')).toBe('echo: anthropic stream');
    expectSpaced(deltas);
    expect(JSON.parse(events[0]?.data ?? '{}')).toMatchObject({ message: { role: 'assistant', model: 'claude-sonnet-4-5', usage: { input_tokens: expect.any(Number) } } });
    expect(JSON.parse(events.at(-2)?.data ?? '{}')).toMatchObject({ delta: { stop_reason: 'end_turn' }, usage: { output_tokens: expect.any(Number) } });
  });
});

describe('Gemini streamGenerateContent', () => {
  const body = { contents: [{ role: 'user', parts: [{ text: 'gemini stream' }] }] };

  it('with ?alt=sse sends data: GenerateContentResponse events', async () => {
    const { status, headers, events } = await streamEvents(`${bifrost.url}/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, post('', body, { 'x-goog-api-key': VK }));
    expect(status).toBe(200);
    expectSseHeaders(headers);
    const schema = component('GeminiGenerationResponse');
    const jsons = events.map((e) => JSON.parse(e.data) as { candidates: Array<{ content: { parts: Array<{ text: string }> }; finishReason?: string }> });
    for (const j of jsons) expectFits(j, schema);
    expect(jsons.map((j) => j.candidates[0]?.content.parts[0]?.text).join('')).toBe('echo: gemini stream');
    expect(jsons.at(-1)?.candidates[0]?.finishReason).toBe('STOP');
    expect(events.every((e) => e.event === undefined)).toBe(true);
    expectSpaced(events);
  });

  it('without alt=sse writes the JSON array piece by piece, also spaced', async () => {
    const { status, headers, pieces } = await rawPieces(`${bifrost.url}/genai/v1beta/models/gemini-2.5-flash:streamGenerateContent`, post('', body));
    expect(status).toBe(200);
    expect(headers.get('content-type')).toMatch(/^application\/json/);
    const text = pieces.map((p) => p.text).join('');
    const array = JSON.parse(text) as unknown[];
    expect(array).toHaveLength(CHUNKS);
    expect(pieces[0]?.text.startsWith('[')).toBe(true);
    expect((pieces.at(-1)?.at ?? 0) - (pieces[0]?.at ?? 0)).toBeGreaterThanOrEqual((CHUNKS - 1) * DELAY * 0.8);
  });
});

describe('pacing controls', () => {
  const chatBody = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'abcdefghijkl' }] };
  const contentEvents = (events: SseEvent[]) => events.filter((e) => e.data !== '[DONE]' && (JSON.parse(e.data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content !== undefined);

  it('x-standin-chunks / x-standin-delay-ms override per request', async () => {
    const { events } = await streamEvents(`${bifrost.url}/openai/v1/chat/completions`, post('', chatBody, { 'x-standin-chunks': '3', 'x-standin-delay-ms': '60' }));
    expectSpaced(contentEvents(events), 3, 60);
  });

  it('standin_chunks / standin_delay_ms query parameters override too', async () => {
    const { events } = await streamEvents(`${bifrost.url}/openai/v1/chat/completions?standin_chunks=2&standin_delay_ms=300`, post('', chatBody));
    expectSpaced(contentEvents(events), 2, 300);
  });

  it('setStreaming changes the defaults', async () => {
    const s = await startBifrostStandin({ virtualKeys: [{ value: VK }] });
    try {
      s.setStreaming({ chunks: 4, delayMs: 50 });
      const { events } = await streamEvents(`${s.url}/openai/v1/chat/completions`, post('', chatBody));
      expectSpaced(contentEvents(events), 4, 50);
    } finally {
      await s.close();
    }
  });

  it('more chunks than characters still sends every chunk (some empty) and the exact text', async () => {
    const { events } = await streamEvents(`${bifrost.url}/anthropic/v1/messages`, post('', {
      model: 'claude-haiku-4-5', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }],
    }, { 'x-standin-chunks': '12', 'x-standin-delay-ms': '0' }));
    const deltas = events.filter((e) => e.event === 'content_block_delta');
    expect(deltas).toHaveLength(12);
    expect(deltas.map((e) => (JSON.parse(e.data) as { delta: { text: string } }).delta.text).join('')).toBe('echo: x');
  });
});

describe('stream lifecycle', () => {
  it('a client that hangs up mid-stream does not disturb the stand-in', async () => {
    const controller = new AbortController();
    const res = await fetch(`${bifrost.url}/openai/v1/chat/completions`, {
      ...post('', { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'bye' }] }, { 'x-standin-delay-ms': '200' }),
      signal: controller.signal,
    });
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    await reader?.cancel().catch(() => undefined);
    const health = await fetch(`${bifrost.url}/health`);
    expect(health.status).toBe(200);
  });

  it('close() ends streams in flight instead of waiting for them', async () => {
    const s = await startBifrostStandin({ virtualKeys: [{ value: VK }], sseChunkDelayMs: 10_000 });
    const res = await fetch(`${s.url}/openai/v1/chat/completions`, post('', { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'long' }] }));
    const reader = res.body?.getReader();
    await reader?.read();
    const started = performance.now();
    await s.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    await reader?.cancel().catch(() => undefined);
  });
});
