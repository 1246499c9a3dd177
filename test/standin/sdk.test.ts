/** The official OpenAI and Anthropic SDKs talk to the stand-in as they would to Bifrost. */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { VK } from './helpers.js';

let bifrost: BifrostStandin;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  bifrost = await startBifrostStandin({ virtualKeys: [{ value: VK }], sseChunkDelayMs: 60, sseChunks: 4 });
  openai = new OpenAI({ baseURL: `${bifrost.url}/openai/v1`, apiKey: VK, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: `${bifrost.url}/anthropic`, apiKey: VK, maxRetries: 0 });
});

afterAll(async () => {
  await bifrost.close();
});

describe('OpenAI SDK', () => {
  it('chat.completions.create', async () => {
    const c = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'sdk hello' }] });
    expect(c.choices[0]?.message.content).toBe('echo: sdk hello');
    expect(c.usage?.total_tokens).toBeGreaterThan(0);
    expect(bifrost.received.at(-1)?.virtualKeySource).toBe('authorization');
  });

  it('chat.completions stream with usage, the first chunk well before the last', async () => {
    const start = performance.now();
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'sdk stream' }],
    });
    const arrivals: number[] = [];
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const piece = chunk.choices[0]?.delta.content;
      if (piece !== undefined && piece !== null) {
        arrivals.push(performance.now() - start);
        text += piece;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: sdk stream');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(arrivals).toHaveLength(4);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(3 * 60 * 0.8);
  });

  it('responses.stream → finalResponse', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o', input: 'sdk responses' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('echo: sdk responses');
    expect(deltas.join('')).toBe('echo: sdk responses');
  });

  it('embeddings.create and models.list', async () => {
    const e = await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'vector me', encoding_format: 'float' });
    expect(e.data[0]?.embedding).toHaveLength(16);
    const models = [];
    for await (const m of openai.models.list()) models.push(m.id);
    expect(models).toContain('openai/gpt-4o');
  });

  it('surfaces a Bifrost governance error as an APIError with its type', async () => {
    const stranger = new OpenAI({ baseURL: `${bifrost.url}/openai/v1`, apiKey: 'sk-bf-stranger', maxRetries: 0 });
    const err = await stranger.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe('virtual_key_not_found');
  });
});

describe('Anthropic SDK', () => {
  it('messages.create and countTokens', async () => {
    const m = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'sdk anthropic' }] });
    expect(m.content[0]).toMatchObject({ type: 'text', text: 'echo: sdk anthropic' });
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(bifrost.received.at(-1)?.virtualKey).toBe(VK);
    const count = await anthropic.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'count' }] });
    expect(count.input_tokens).toBeGreaterThan(0);
  });

  it('messages.stream → finalMessage, text arriving in pieces', async () => {
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'sdk anthropic stream' }] });
    const pieces: string[] = [];
    stream.on('text', (t) => pieces.push(t));
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'echo: sdk anthropic stream' });
    expect(final.stop_reason).toBe('end_turn');
    expect(pieces).toHaveLength(4);
  });

  it('surfaces the reshaped Anthropic error', async () => {
    const blocked = new Anthropic({ baseURL: `${bifrost.url}/anthropic`, apiKey: 'sk-bf-stranger', maxRetries: 0 });
    const err = await blocked.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'virtual_key_not_found' } });
  });
});
