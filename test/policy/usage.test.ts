import { describe, expect, it } from 'vitest';
import { SseEventParser, type SseEvent } from '../../src/policy/sse-events.js';
import { StreamUsageExtractor, usageFromJson, usageReaderFor, type TokenUsage } from '../../src/policy/usage.js';

const usage = (input: number, output: number, extra: Partial<TokenUsage> = {}): TokenUsage => ({
  inputTokens: input, outputTokens: output, totalTokens: input + output, cachedInputTokens: 0, reasoningTokens: 0, ...extra,
});

describe('usage in JSON responses', () => {
  it.each([
    ['OpenAI chat completion', {
      id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' } }],
      usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 3 } },
    }, usage(19, 10, { cachedInputTokens: 4, reasoningTokens: 3 })],
    ['OpenAI embeddings', { object: 'list', data: [], usage: { prompt_tokens: 8, total_tokens: 8 } }, usage(8, 0)],
    ['OpenAI Responses', {
      id: 'resp_1', object: 'response', status: 'completed',
      usage: { input_tokens: 36, input_tokens_details: { cached_tokens: 0 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 64 }, total_tokens: 123 },
    }, usage(36, 87, { reasoningTokens: 64 })],
    ['Anthropic message (cache reads and writes are input)', {
      id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hi' }],
      usage: { input_tokens: 12, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 6 },
    }, usage(2112, 6, { cachedInputTokens: 2000 })],
    ['Gemini generateContent (thinking tokens are output)', {
      candidates: [{ content: { parts: [{ text: 'Hi' }] } }],
      usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 5, thoughtsTokenCount: 20, totalTokenCount: 36, cachedContentTokenCount: 3 },
    }, usage(11, 25, { cachedInputTokens: 3, reasoningTokens: 20 })],
    ['Gemini JSON-array stream: the last chunk wins', [
      { candidates: [], usageMetadata: { promptTokenCount: 11, totalTokenCount: 11 } },
      { candidates: [], usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 9, totalTokenCount: 20 } },
    ], usage(11, 9)],
    ['no usage reported', { id: 'x', choices: [] }, undefined],
    ['usage: null', { id: 'x', usage: null }, undefined],
    ['not an object', 'hello', undefined],
  ])('%s', (_name, body, expected) => {
    expect(usageFromJson(body)).toEqual(expected);
  });
});

/** Realistic streams, as the providers (and Bifrost's integrations) send them. */
const STREAMS: Array<[string, string, TokenUsage]> = [
  ['OpenAI chat (include_usage)', [
    'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}\n\n',
    'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Grüße 👋"}}],"usage":null}\n\n',
    'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n',
    'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":7,"total_tokens":21}}\n\n',
    'data: [DONE]\n\n',
  ].join(''), usage(14, 7)],
  ['OpenAI Responses', [
    'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1","status":"in_progress","usage":null}}\n\n',
    'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hello"}\n\n',
    'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1","status":"completed","usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":10},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":42}}}\n\n',
  ].join(''), usage(30, 12, { cachedInputTokens: 10 })],
  ['Anthropic messages', [
    'event: message_start\r\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":5,"output_tokens":1}}}\r\n\r\n',
    'event: content_block_start\r\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\r\n\r\n',
    'event: ping\r\ndata: {"type": "ping"}\r\n\r\n',
    'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Ça va ✓"}}\r\n\r\n',
    'event: message_delta\r\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\r\n\r\n',
    'event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n',
  ].join(''), usage(30, 15, { cachedInputTokens: 5 })],
  ['Gemini (alt=sse)', [
    'data: {"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":1,"totalTokenCount":9}}\r\n\r\n',
    'data: {"candidates":[{"content":{"parts":[{"text":"lo 🌍"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":4,"totalTokenCount":12}}\r\n\r\n',
  ].join(''), usage(8, 4)],
];

describe('usage in SSE streams', () => {
  it.each(STREAMS)('%s, whole', (_name, stream, expected) => {
    const x = new StreamUsageExtractor();
    x.push(Buffer.from(stream));
    expect(x.end()).toEqual(expected);
  });

  it.each(STREAMS)('%s, split at every byte position', (_name, stream, expected) => {
    const bytes = Buffer.from(stream);
    for (let cut = 1; cut < bytes.length; cut++) {
      const x = new StreamUsageExtractor();
      x.push(bytes.subarray(0, cut));
      x.push(bytes.subarray(cut));
      expect(x.end(), `cut at ${cut}`).toEqual(expected);
    }
  });

  it('Anthropic stream, one byte at a time', () => {
    const [, stream, expected] = STREAMS[2]!;
    const x = new StreamUsageExtractor();
    for (const byte of Buffer.from(stream)) x.push(Uint8Array.of(byte));
    expect(x.end()).toEqual(expected);
  });

  it('a stream cut short keeps what it reported so far', () => {
    const [, stream] = STREAMS[2]!;
    const x = new StreamUsageExtractor();
    x.push(stream.slice(0, stream.indexOf('event: message_delta')));
    expect(x.end()).toEqual(usage(30, 1, { cachedInputTokens: 5 }));
  });

  it('a later event that leaves the input out (null or 0) does not wipe the figure an earlier one gave', () => {
    const x = new StreamUsageExtractor();
    x.push('event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":90000,"cache_read_input_tokens":10000,"output_tokens":1}}}\n\n');
    x.push('event: message_delta\ndata: {"type":"message_delta","usage":{"input_tokens":null,"output_tokens":700}}\n\n');
    x.push('event: message_delta\ndata: {"type":"message_delta","usage":{"input_tokens":0,"output_tokens":0}}\n\n');
    expect(x.end()).toEqual(usage(100_000, 700, { cachedInputTokens: 10_000 }));
  });

  it('a stream without usage reports none', () => {
    const x = new StreamUsageExtractor();
    x.push('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n');
    expect(x.end()).toBeUndefined();
  });
});

describe('usageReaderFor', () => {
  it('picks the reader by content type', () => {
    expect(usageReaderFor('text/event-stream; charset=utf-8')).toBeInstanceOf(StreamUsageExtractor);
    expect(usageReaderFor('application/json')).toBeDefined();
    expect(usageReaderFor('text/html')).toBeUndefined();
    expect(usageReaderFor(undefined)).toBeUndefined();
  });

  it('reads a JSON body split in chunks', () => {
    const reader = usageReaderFor('application/json')!;
    const body = Buffer.from(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 4 } }));
    reader.push(body.subarray(0, 7));
    reader.push(body.subarray(7));
    expect(reader.end()).toEqual(usage(3, 4));
  });

  it('reads JSON larger than the cap without holding it (usage-large-json.test.ts)', () => {
    const reader = usageReaderFor('application/json', 10)!;
    reader.push(Buffer.from('{"usage":{"prompt_tokens":3}}'));
    expect(reader.end()).toEqual(usage(3, 0));
  });
});

describe('SseEventParser', () => {
  const parse = (pieces: Array<string | Uint8Array>, options = {}): SseEvent[] => {
    const events: SseEvent[] = [];
    const parser = new SseEventParser((e) => events.push(e), options);
    for (const p of pieces) parser.push(p);
    parser.end();
    return events;
  };

  it.each([
    ['LF', 'event: a\ndata: 1\n\n', [{ event: 'a', data: '1' }]],
    ['CRLF', 'event: a\r\ndata: 1\r\n\r\n', [{ event: 'a', data: '1' }]],
    ['CR', 'event: a\rdata: 1\r\r', [{ event: 'a', data: '1' }]],
    ['multi-line data', 'data: a\ndata: b\n\n', [{ event: 'message', data: 'a\nb' }]],
    ['comments and unknown fields', ': keep-alive\nid: 7\nretry: 10\ndata:x\n\n', [{ event: 'message', data: 'x' }]],
    ['no space after colon, field without colon', 'data:1\ndata\n\n', [{ event: 'message', data: '1\n' }]],
    ['event name does not leak into the next event', 'event: a\ndata: 1\n\ndata: 2\n\n', [{ event: 'a', data: '1' }, { event: 'message', data: '2' }]],
    ['an event without data is not dispatched', 'event: a\n\ndata: 2\n\n', [{ event: 'message', data: '2' }]],
    ['an unterminated last event is dropped', 'data: 1\n\ndata: 2', [{ event: 'message', data: '1' }]],
  ])('%s', (_name, text, expected) => {
    expect(parse([text])).toEqual(expected);
  });

  it('CR at the end of one chunk and LF at the start of the next are one line end', () => {
    expect(parse(['data: 1\r', '\n\r', '\n'])).toEqual([{ event: 'message', data: '1' }]);
  });

  it('decodes UTF-8 characters split across chunks', () => {
    const bytes = Buffer.from('data: 👋\n\n');
    expect(parse([bytes.subarray(0, 8), bytes.subarray(8)])).toEqual([{ event: 'message', data: '👋' }]);
  });

  it('skips an event larger than the cap and resumes with the next', () => {
    const big = `data: ${'x'.repeat(100)}\ndata: more\n\n`;
    expect(parse([big.slice(0, 50), big.slice(50), 'data: ok\n\n'], { maxEventChars: 40 })).toEqual([{ event: 'message', data: 'ok' }]);
  });
});
