import { describe, expect, it } from 'vitest';
import { createAnswerTextReader, extractAnswerText } from '../../src/proxy/answer-text.js';

describe('extractAnswerText', () => {
  it.each([
    ['OpenAI chat chunk', { choices: [{ index: 0, delta: { role: 'assistant', content: 'hel' } }] }, 'hel'],
    ['OpenAI tool call args', { choices: [{ delta: { tool_calls: [{ function: { name: 'f', arguments: '{"a":' } }] } }] }, '{"a":'],
    ['Anthropic delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }, 'lo'],
    ['Anthropic message', { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'hi there' }] }, 'hi there'],
    ['Gemini', { candidates: [{ content: { role: 'model', parts: [{ text: 'abc' }] } }] }, 'abc'],
    ['Responses delta', { type: 'response.output_text.delta', delta: 'xy' }, 'xy'],
    ['metadata only', { id: 'chatcmpl-1', model: 'gpt-4o', usage: { total_tokens: 3 } }, ''],
  ])('%s', (_name, value, text) => expect(extractAnswerText(value)).toBe(text));
});

describe('createAnswerTextReader', () => {
  it('joins SSE deltas cut at every byte position', () => {
    const body = Buffer.from(['data: {"choices":[{"delta":{"content":"jane.d"}}]}', 'data: {"choices":[{"delta":{"content":"oe@acme.com"}}]}', 'data: [DONE]', ''].join('\n\n'));
    for (let cut = 1; cut < body.length; cut++) {
      const reader = createAnswerTextReader('text/event-stream', 1 << 20)!;
      const text = reader.push(body.subarray(0, cut)) + reader.push(body.subarray(cut)) + reader.end();
      expect(text).toBe('jane.doe@acme.com');
    }
  });

  it('reads a JSON answer at its end, and nothing past the size bound or of other types', () => {
    const json = Buffer.from(JSON.stringify({ choices: [{ message: { content: 'full answer' } }] }));
    const reader = createAnswerTextReader('application/json; charset=utf-8', 1 << 20)!;
    expect(reader.push(json)).toBe('');
    expect(reader.end()).toBe('full answer');
    const small = createAnswerTextReader('application/json', 10)!;
    small.push(json);
    expect(small.end()).toBe('');
    expect(createAnswerTextReader('image/png', 1 << 20)).toBeUndefined();
  });
});
