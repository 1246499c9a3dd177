import { describe, expect, it } from 'vitest';
import { acceptsStreamOptions, createUsageEventStripper, withStreamUsageRequested } from '../../src/proxy/stream-usage.js';
import type { NormalizedRequest } from '../../src/providers/types.js';
import { runThrough } from '../support/transform-run.js';

const chatStream: NormalizedRequest = { provider: 'openai', adapter: 'openai-compatible', operation: 'chat.completions', model: 'gpt-4o', stream: true, texts: [], tools: [], inspected: true };

describe('withStreamUsageRequested', () => {
  it('asks a streamed chat completion for its usage, keeping the other stream options', () => {
    expect(withStreamUsageRequested(chatStream, { model: 'gpt-4o', stream: true })).toEqual({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true } });
    expect(withStreamUsageRequested(chatStream, { stream: true, stream_options: { include_obfuscation: false } })).toEqual({ stream: true, stream_options: { include_obfuscation: false, include_usage: true } });
    expect(withStreamUsageRequested(chatStream, { stream: true, stream_options: null })).toEqual({ stream: true, stream_options: { include_usage: true } });
  });

  it('leaves alone what needs no change or is not such a stream', () => {
    expect(withStreamUsageRequested(chatStream, { stream: true, stream_options: { include_usage: true } })).toBeUndefined();
    expect(withStreamUsageRequested(chatStream, { stream: true, stream_options: 'yes' })).toBeUndefined();
    expect(withStreamUsageRequested({ ...chatStream, stream: false }, { stream: false })).toBeUndefined();
    expect(withStreamUsageRequested({ ...chatStream, operation: 'responses' }, { stream: true })).toBeUndefined();
    expect(withStreamUsageRequested({ ...chatStream, adapter: 'anthropic', operation: 'messages' }, { stream: true })).toBeUndefined();
  });
});


describe('acceptsStreamOptions', () => {
  it.each([
    ['azure', 'origin', '/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01', false],
    ['azure', 'origin', '/openai/deployments/gpt4o/chat/completions?api-version=2024-08-01-preview', false],
    ['azure', 'origin', '/openai/deployments/gpt4o/chat/completions?api-version=2024-09-01-preview', true],
    ['azure', 'origin', '/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21', true],
    ['azure', 'origin', '/openai/v1/chat/completions', true],
    ['azure', 'origin', '/openai/v1/chat/completions?api-version=preview', true],
    ['azure', 'passthrough', '/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01', false],
    // Bifrost takes the body and sets its own api-version upstream.
    ['azure', 'gateway', '/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01', true],
    ['openai', 'origin', '/v1/chat/completions?api-version=2024-06-01', true],
  ] as const)('%s via %s at %s: %s', (provider, via, path, expected) => {
    expect(acceptsStreamOptions(provider, via, path)).toBe(expected);
  });
});

const delta = (text: string) => `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${text}"}}],"usage":null}\r\n\r\n`;
const usageOnly = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}\r\n\r\n';

describe('createUsageEventStripper', () => {
  it('drops only the usage-only event Edge asked for; every other byte passes as it came, however split', async () => {
    const stream = delta('Héllo') + delta(' world') + usageOnly + 'data: [DONE]\r\n\r\n';
    const bytes = Buffer.from(stream);
    const chunks = [bytes.subarray(0, 7), bytes.subarray(7, bytes.indexOf('é') + 1), bytes.subarray(bytes.indexOf('é') + 1, 200), bytes.subarray(200)];
    const out = await runThrough(createUsageEventStripper({ 'content-type': 'text/event-stream; charset=utf-8' }, 1 << 20)!, chunks);
    expect(out).toBe(delta('Héllo') + delta(' world') + 'data: [DONE]\r\n\r\n');
  });

  it('keeps an event that carries choices as well as usage (some providers put usage on the last delta)', async () => {
    const both = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n';
    expect(await runThrough(createUsageEventStripper({ 'content-type': 'text/event-stream' }, 1 << 20)!, [both])).toBe(both);
  });

  it('is not used for answers that are not a plain event stream (an error in JSON, a compressed stream)', () => {
    expect(createUsageEventStripper({ 'content-type': 'application/json' }, 1 << 20)).toBeUndefined();
    expect(createUsageEventStripper({ 'content-type': 'text/event-stream', 'content-encoding': 'gzip' }, 1 << 20)).toBeUndefined();
  });

  it('an event too large to hold passes untouched, and the events after it are still read', async () => {
    const big = `data: {"choices":[{"delta":{"content":"${'x'.repeat(5000)}"}}]}\n\n`;
    const stream = delta('a') + big + usageOnly + delta('b');
    const out = await runThrough(createUsageEventStripper({ 'content-type': 'text/event-stream' }, 1000)!, [stream.slice(0, 3000), stream.slice(3000)]);
    expect(out).toBe(delta('a') + big + delta('b'));
  });
});
