import { describe, expect, it } from 'vitest';
import { anthropicAdapter as adapter } from '../../src/providers/anthropic.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf, toolsOf } from './support.js';

const entry = compileSurfaceCatalog(DEFAULT_SURFACES).match('api.anthropic.com')!;

function parse(path: string, body: unknown) {
  const route = adapter.recognize(req('POST', 'api.anthropic.com', path), entry);
  if (!route) throw new Error(`${path} not recognised`);
  return adapter.parse(route, body, entry);
}

describe('route recognition', () => {
  it.each([
    ['POST', '/v1/messages', 'messages', true],
    ['POST', '/v1/messages?beta=true', 'messages', true],
    ['POST', '/v1/messages/count_tokens', 'messages.count_tokens', true],
    ['GET', '/v1/models', 'models', false],
    ['GET', '/v1/models/claude-sonnet-4-5', 'models', false],
    ['POST', '/v1/files', 'files', false],
    ['POST', '/v1/messages/batches', 'messages.batches', true],
    ['GET', '/v1/messages/batches', 'messages.batches', false],
    ['GET', '/v1/messages/batches/msgbatch_1', 'messages.batches', false],
    ['GET', '/v1/messages/batches/msgbatch_1/results', 'messages.batches', false],
    ['POST', '/v1/messages/batches/msgbatch_1/cancel', 'messages.batches', false],
    ['DELETE', '/v1/messages/batches/msgbatch_1', 'messages.batches', false],
  ])('%s %s → %s (inspected: %s)', (method, path, operation, inspected) => {
    expect(adapter.recognize(req(method, 'api.anthropic.com', path), entry)).toMatchObject({ operation, inspected });
  });

  it.each([
    ['POST', '/v1/complete'], ['GET', '/v1/messages'], ['POST', '/messages'], ['POST', '/v1/messages/../models'], ['POST', '/v1/organizations/me'],
  ])('%s %s is not recognised', (method, path) => {
    expect(adapter.recognize(req(method, 'api.anthropic.com', path), entry)).toBeUndefined();
  });
});

/** Claude Code style: system blocks with cache control, tool_use with nested input, tool_result blocks. */
const messagesWithTools = {
  model: 'claude-sonnet-4-5-20250929',
  max_tokens: 1024,
  stream: true,
  system: [
    { type: 'text', text: 'You are Claude Code, an interactive CLI.', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Repository: acme/payments' },
  ],
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Fix the failing test in billing.ts' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Design notes: refunds are idempotent.' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should read the file.', signature: 'sig' },
        { type: 'text', text: 'Let me read the file.' },
        {
          type: 'tool_use',
          id: 'toolu_01A',
          name: 'Read',
          input: { file_path: '/repo/src/billing.ts', options: { lines: [1, 200], encoding: 'utf8' }, flags: ['follow', 3] },
        },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_01A', content: [{ type: 'text', text: 'export function refund() {}' }] },
        { type: 'tool_result', tool_use_id: 'toolu_unknown', content: 'plain string result', is_error: true },
        { type: 'text', text: 'Please be quick.' },
      ],
    },
    { role: 'assistant', content: 'Understood.' },
  ],
  tools: [
    { name: 'Read', description: 'Reads a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } },
    { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
  ],
};

describe('messages', () => {
  it('reads system blocks, text, documents, tool_use input leaves and tool results', () => {
    const request = expectParsed(parse('/v1/messages', messagesWithTools));
    expect(request).toMatchObject({ provider: 'anthropic', adapter: 'anthropic', operation: 'messages', model: 'claude-sonnet-4-5-20250929', stream: true, inspected: true });
    expect(textsOf(request)).toEqual([
      ['system', 'You are Claude Code, an interactive CLI.'],
      ['system', 'Repository: acme/payments'],
      ['user', 'Fix the failing test in billing.ts'],
      ['user', 'Design notes: refunds are idempotent.'],
      ['assistant', 'Let me read the file.'],
      ['tool_arguments', '/repo/src/billing.ts'],
      ['tool_arguments', 'utf8'],
      ['tool_arguments', 'follow'],
      ['tool_result', 'export function refund() {}'],
      ['tool_result', 'plain string result'],
      ['user', 'Please be quick.'],
      ['assistant', 'Understood.'],
      ['tool_definition', 'Reads a file'],
      ['tool_definition', 'file_path'],
    ]);
    expect(request.texts.find((t) => t.text === 'utf8')!.path).toEqual(['messages', 1, 'content', 2, 'input', 'options', 'encoding']);
    expect(toolsOf(request)).toEqual([['call', 'Read'], ['result', 'Read'], ['definition', 'Read'], ['definition', 'web_search']]);
    expect(request.tools[1]!.path).toEqual(['messages', 2, 'content', 0, 'tool_use_id']);
    expectPathsPointAtStrings(messagesWithTools, request);
  });

  it('reads search results the client supplies and a document\'s title and context, top level and in tool results', () => {
    const searchResult = { type: 'search_result', source: 'https://wiki.acme/refunds', title: 'Refund runbook', content: [{ type: 'text', text: 'Escalate to jane@acme.test' }] };
    const body = {
      model: 'claude-sonnet-4-5', max_tokens: 64,
      messages: [
        { role: 'user', content: [
          searchResult,
          { type: 'document', title: 'Q3 numbers', context: 'confidential, do not share', source: { type: 'text', media_type: 'text/plain', data: 'Revenue 12M' } },
        ] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'search', input: { q: 'refunds' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [searchResult] }] },
      ],
    };
    const request = expectParsed(parse('/v1/messages', body));
    expect(textsOf(request)).toEqual([
      ['user', 'Refund runbook'],
      ['user', 'Escalate to jane@acme.test'],
      ['user', 'Q3 numbers'],
      ['user', 'confidential, do not share'],
      ['user', 'Revenue 12M'],
      ['tool_arguments', 'refunds'],
      ['tool_result', 'Refund runbook'],
      ['tool_result', 'Escalate to jane@acme.test'],
    ]);
    expectPathsPointAtStrings(body, request);
  });

  it('reads a string system prompt and string contents', () => {
    const body = { model: 'claude-3-5-haiku-latest', max_tokens: 64, system: 'Be terse.', messages: [{ role: 'user', content: 'Hi' }] };
    const request = expectParsed(parse('/v1/messages', body));
    expect(request.texts).toEqual([
      { path: ['system'], text: 'Be terse.', kind: 'system' },
      { path: ['messages', 0, 'content'], text: 'Hi', kind: 'user' },
    ]);
    expect(request.stream).toBe(false);
  });

  it('reads count_tokens bodies the same way', () => {
    const body = { model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'count me' }] };
    const request = expectParsed(parse('/v1/messages/count_tokens', body));
    expect(request).toMatchObject({ operation: 'messages.count_tokens', model: 'claude-opus-4-1', stream: false });
    expect(textsOf(request)).toEqual([['user', 'count me']]);
  });
});

describe('message batches: every request\'s params read as a Messages request', () => {
  const batch = {
    requests: [
      {
        custom_id: 'ticket-1',
        params: {
          model: 'claude-sonnet-4-5', max_tokens: 256, system: 'Summarise support tickets.',
          messages: [
            { role: 'user', content: 'Customer jane@acme.test cannot log in.' },
            { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup_user', input: { email: 'jane@acme.test' } }] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'account locked' }] },
          ],
          tools: [{ name: 'lookup_user', input_schema: { type: 'object' } }],
        },
      },
      {
        custom_id: 'ticket-2',
        params: {
          model: 'claude-sonnet-4-5', max_tokens: 256,
          // Answers a call of another request: each request is its own conversation, so it stays unnamed.
          messages: [{ role: 'user', content: [{ type: 'text', text: 'Refund order 88.' }, { type: 'tool_result', tool_use_id: 'toolu_1', content: 'x' }] }],
        },
      },
    ],
  };

  it('reads texts and tools with paths under requests[i].params; the shared model is the request\'s model', () => {
    const request = expectParsed(parse('/v1/messages/batches', batch));
    expect(request).toMatchObject({ operation: 'messages.batches', model: 'claude-sonnet-4-5', stream: false, inspected: true });
    expect(request.texts).toEqual([
      { path: ['requests', 0, 'params', 'system'], text: 'Summarise support tickets.', kind: 'system' },
      { path: ['requests', 0, 'params', 'messages', 0, 'content'], text: 'Customer jane@acme.test cannot log in.', kind: 'user' },
      { path: ['requests', 0, 'params', 'messages', 1, 'content', 0, 'input', 'email'], text: 'jane@acme.test', kind: 'tool_arguments' },
      { path: ['requests', 0, 'params', 'messages', 2, 'content', 0, 'content'], text: 'account locked', kind: 'tool_result' },
      { path: ['requests', 1, 'params', 'messages', 0, 'content', 0, 'text'], text: 'Refund order 88.', kind: 'user' },
      { path: ['requests', 1, 'params', 'messages', 0, 'content', 1, 'content'], text: 'x', kind: 'tool_result' },
    ]);
    expect(request.tools).toEqual([
      { kind: 'call', name: 'lookup_user', path: ['requests', 0, 'params', 'messages', 1, 'content', 0, 'name'] },
      { kind: 'result', name: 'lookup_user', path: ['requests', 0, 'params', 'messages', 2, 'content', 0, 'tool_use_id'] },
      { kind: 'definition', name: 'lookup_user', path: ['requests', 0, 'params', 'tools', 0, 'name'] },
    ]);
    expectPathsPointAtStrings(batch, request);
  });

  it('refuses a batch whose requests name different models, saying to split it by model', () => {
    const mixed = { requests: [batch.requests[0], { custom_id: 'ticket-3', params: { model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] } }] };
    const error = expectFailed(parse('/v1/messages/batches', mixed));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'anthropic' });
    expect(error.message).toContain('POST /v1/messages/batches (Anthropic API)');
    expect(error.message).toContain('requests[1].params.model is "claude-haiku-4-5" but requests[0].params.model is "claude-sonnet-4-5"');
    expect(error.message).toMatch(/Bifrost Edge checks one model per batch.*split the batch/);
  });

  it.each([
    ['requests missing', {}, /requests is required and must be an array of batch requests/],
    ['a request not an object', { requests: ['hi'] }, /requests\[0\] must be a batch request object/],
    ['params missing', { requests: [{ custom_id: 'a' }] }, /requests\[0\]\.params is required/],
    ['params model missing', { requests: [{ custom_id: 'a', params: { messages: [] } }] }, /requests\[0\]\.params\.model is required/],
    ['params content a number', { requests: [{ custom_id: 'a', params: { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 1 }] } }] },
      /requests\[0\]\.params\.messages\[0\]\.content must be a string or an array of content blocks, got a number/],
  ])('a bad batch gives a 400 naming the field: %s', (_name, body, message) => {
    const error = expectFailed(parse('/v1/messages/batches', body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'anthropic' });
    expect(error.message).toMatch(message);
  });
});

describe('bad bodies', () => {
  it.each([
    ['not JSON object', 'hello', /the request body must be a JSON object, got a string/],
    ['model missing', { max_tokens: 10, messages: [] }, /model is required/],
    ['model not a string', { model: ['claude'], messages: [] }, /model must be a string, got an array/],
    ['messages not an array', { model: 'claude-sonnet-4-5', messages: { role: 'user' } }, /messages must be an array of messages, got an object/],
    ['content a number', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 1 }] }, /messages\[0\]\.content must be a string or an array of content blocks, got a number/],
    ['text block without text', { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, /messages\[0\]\.content\[0\]\.text must be a string/],
    ['system a number', { model: 'claude-sonnet-4-5', system: 7, messages: [] }, /system must be a string or an array of text blocks, got a number/],
    ['tool_use without name', { model: 'claude-sonnet-4-5', messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'x', input: {} }] }] }, /messages\[0\]\.content\[0\]\.name is required/],
    ['tool without name', { model: 'claude-sonnet-4-5', messages: [], tools: [{ input_schema: {} }] }, /tools\[0\]\.name is required/],
  ])('%s', (_name, body, message) => {
    const error = expectFailed(parse('/v1/messages', body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'anthropic' });
    expect(error.message).toMatch(message);
  });
});
