import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry } from '../../src/providers/catalog.js';
import { getEncoding } from 'js-tiktoken';
import { openAICompatibleAdapter as adapter } from '../../src/providers/openai-compatible.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf, toolsOf } from './support.js';

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const surface = (host: string): SurfaceEntry => catalog.match(host)!;

function parse(host: string, path: string, body: unknown, method = 'POST') {
  const entry = surface(host);
  const route = adapter.recognize(req(method, host, path), entry);
  if (!route) throw new Error(`${method} ${path} not recognised on ${host}`);
  return adapter.parse(route, body, entry);
}

describe('route recognition', () => {
  it.each([
    ['POST', 'api.openai.com', '/v1/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.openai.com', '/v1/chat/completions?api-version=1', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.openai.com', '/v1/completions', 'completions', true, '/completions'],
    ['POST', 'api.openai.com', '/v1/responses', 'responses', true, '/responses'],
    ['POST', 'api.openai.com', '/v1/responses/input_tokens', 'responses.input_tokens', true, '/responses/input_tokens'],
    ['POST', 'api.openai.com', '/v1/embeddings', 'embeddings', true, '/embeddings'],
    ['POST', 'api.openai.com', '/v1/moderations', 'moderations', true, '/moderations'],
    ['GET', 'api.openai.com', '/v1/chat/completions', 'chat.completions', false, '/chat/completions'],
    ['GET', 'api.openai.com', '/v1/chat/completions/chatcmpl-abc/messages', 'chat.completions', false, '/chat/completions/chatcmpl-abc/messages'],
    ['GET', 'api.openai.com', '/v1/responses/resp_123', 'responses', false, '/responses/resp_123'],
    ['POST', 'api.openai.com', '/v1/responses/resp_123/cancel', 'responses', false, '/responses/resp_123/cancel'],
    ['GET', 'api.openai.com', '/v1/models', 'models', false, '/models'],
    ['GET', 'api.openai.com', '/v1/models/gpt-4o', 'models', false, '/models/gpt-4o'],
    ['POST', 'api.openai.com', '/v1/files', 'files', false, '/files'],
    ['POST', 'api.openai.com', '/v1/batches', 'batches', false, '/batches'],
    ['POST', 'api.openai.com', '/v1/audio/transcriptions', 'audio', false, '/audio/transcriptions'],
    ['POST', 'api.openai.com', '/v1/audio/translations', 'audio', false, '/audio/translations'],
    ['POST', 'api.openai.com', '/v1/audio/speech', 'audio.speech', true, '/audio/speech'],
    ['GET', 'api.openai.com', '/v1/audio/voice_consents', 'audio', false, '/audio/voice_consents'],
    ['POST', 'api.openai.com', '/v1/images/generations', 'images.generations', true, '/images/generations'],
    ['POST', 'api.openai.com', '/v1/images/edits', 'images.edits', true, '/images/edits'],
    ['POST', 'api.openai.com', '/v1/images/variations', 'images', false, '/images/variations'],
    ['POST', 'api.x.ai', '/v1/images/generations', 'images.generations', true, '/images/generations'],
    ['POST', 'api.groq.com', '/openai/v1/audio/speech', 'audio.speech', true, '/audio/speech'],
    ['POST', 'api.openai.com', '/v1/threads/thread_1/runs', 'threads.runs', true, '/threads/thread_1/runs'],
    ['POST', 'api.openai.com', '/v1/assistants', 'assistants', true, '/assistants'],
    ['GET', 'api.openai.com', '/v1/vector_stores', 'vector_stores', false, '/vector_stores'],
    ['POST', 'api.openai.com', '/v1/fine_tuning/jobs', 'fine_tuning', false, '/fine_tuning/jobs'],
    ['POST', 'api.openai.com', '/v1/uploads', 'uploads', false, '/uploads'],
    ['POST', 'api.openai.com', '/v1/conversations', 'conversations', true, '/conversations'],
    ['POST', 'api.openai.com', '/v1/conversations/conv_1/items', 'conversations.items', true, '/conversations/conv_1/items'],
    ['POST', 'api.openai.com', '/v1/conversations/conv_1/items?include=message.output_text.logprobs', 'conversations.items', true, '/conversations/conv_1/items'],
    ['GET', 'api.openai.com', '/v1/conversations/conv_1', 'conversations', false, '/conversations/conv_1'],
    ['POST', 'api.openai.com', '/v1/conversations/conv_1', 'conversations', false, '/conversations/conv_1'],
    ['DELETE', 'api.openai.com', '/v1/conversations/conv_1', 'conversations', false, '/conversations/conv_1'],
    ['GET', 'api.openai.com', '/v1/conversations/conv_1/items', 'conversations', false, '/conversations/conv_1/items'],
    ['GET', 'api.openai.com', '/v1/conversations/conv_1/items/msg_1', 'conversations', false, '/conversations/conv_1/items/msg_1'],
    ['DELETE', 'api.openai.com', '/v1/conversations/conv_1/items/msg_1', 'conversations', false, '/conversations/conv_1/items/msg_1'],
    ['GET', 'api.openai.com', '/v1/realtime?model=gpt-realtime', 'realtime', false, '/realtime'],
    ['POST', 'api.groq.com', '/openai/v1/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['GET', 'api.groq.com', '/openai/v1/models', 'models', false, '/models'],
    ['POST', 'api.mistral.ai', '/v1/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.mistral.ai', '/v1/fim/completions', 'fim.completions', true, '/fim/completions'],
    ['POST', 'api.x.ai', '/v1/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.deepseek.com', '/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.deepseek.com', '/v1/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.deepseek.com', '/beta/completions', 'completions', true, '/completions'],
    ['POST', 'openrouter.ai', '/api/v1/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['GET', 'openrouter.ai', '/api/v1/key', 'key', false, '/key'],
    ['POST', 'api.perplexity.ai', '/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.githubcopilot.com', '/chat/completions', 'chat.completions', true, '/chat/completions'],
    ['POST', 'api.business.githubcopilot.com', '/embeddings', 'embeddings', true, '/embeddings'],
  ])('%s %s%s → %s (inspected: %s)', (method, host, path, operation, inspected, operationPath) => {
    const route = adapter.recognize(req(method, host, path), surface(host));
    expect(route).toMatchObject({ operation, inspected, operationPath, method });
  });

  it.each([
    ['POST', 'api.openai.com', '/v1/chat/completion'],
    ['POST', 'api.openai.com', '/v1/secret-beta-route'],
    ['POST', 'api.openai.com', '/chat/completions'],
    ['POST', 'api.openai.com', '/v10/chat/completions'],
    ['POST', 'api.openai.com', '/v1/models/../chat/completions'],
    ['POST', 'api.openai.com', '/v1/models/%2e%2e/chat/completions'],
    ['POST', 'api.openai.com', '/v1//chat/completions'],
    ['POST', 'api.openai.com', '/v1/chat%2Fcompletions'],
    ['POST', 'api.groq.com', '/v1/chat/completions'],
    ['GET', 'openrouter.ai', '/models'],
    ['POST', 'api.openai.com', '/v1'],
  ])('%s %s%s is not recognised', (method, host, path) => {
    expect(adapter.recognize(req(method, host, path), surface(host))).toBeUndefined();
  });

  it('keeps the query string apart from the path', () => {
    const route = adapter.recognize(req('POST', 'api.openai.com', '/v1/chat/completions?a=1&b=2'), surface('api.openai.com'));
    expect(route).toMatchObject({ pathname: '/v1/chat/completions', query: '?a=1&b=2', prefix: '/v1' });
  });
});

/** OpenAI chat with system + developer prompts, image parts, a tool call, its result, and tool definitions. */
const chatWithTools = {
  model: 'gpt-4o',
  stream: true,
  stream_options: { include_usage: true },
  messages: [
    { role: 'system', content: 'You are a careful assistant for ACME Corp.' },
    { role: 'developer', content: [{ type: 'text', text: 'Answer in British English.' }] },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is in this picture, and what is the weather in Paris?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
        { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
      ],
    },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'call_abc123', content: '{"temperature":18,"conditions":"cloudy"}' },
    { role: 'tool', tool_call_id: 'call_from_an_earlier_request', content: [{ type: 'text', text: 'orphan result' }] },
    { role: 'assistant', content: 'It is a cat. Paris is 18°C and cloudy.', refusal: null },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Get the current weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        strict: true,
      },
    },
    { type: 'custom', custom: { name: 'code_exec', description: 'Runs Python' } },
  ],
  tool_choice: 'auto',
  temperature: 0.2,
};

describe('chat completions', () => {
  it('reads a Predicted Output (the user\'s code the answer is expected to resemble), string or parts', () => {
    for (const content of ['const key = "sk-live-123";', [{ type: 'text', text: 'const key = "sk-live-123";' }]]) {
      const body = { model: 'gpt-4.1', messages: [{ role: 'user', content: 'Rename the variable.' }], prediction: { type: 'content', content } };
      const request = expectParsed(parse('api.openai.com', '/v1/chat/completions', body));
      expect(textsOf(request)).toEqual([['user', 'Rename the variable.'], ['user', 'const key = "sk-live-123";']]);
      expectPathsPointAtStrings(body, request);
    }
  });

  it('reads every text with its kind and the tools, each path pointing at its string', () => {
    const request = expectParsed(parse('api.openai.com', '/v1/chat/completions', chatWithTools));
    expect(request).toMatchObject({ provider: 'openai', adapter: 'openai-compatible', operation: 'chat.completions', model: 'gpt-4o', stream: true, inspected: true });
    expect(textsOf(request)).toEqual([
      ['system', 'You are a careful assistant for ACME Corp.'],
      ['system', 'Answer in British English.'],
      ['user', 'What is in this picture, and what is the weather in Paris?'],
      ['tool_arguments', '{"city":"Paris","unit":"celsius"}'],
      ['tool_result', '{"temperature":18,"conditions":"cloudy"}'],
      ['tool_result', 'orphan result'],
      ['assistant', 'It is a cat. Paris is 18°C and cloudy.'],
      ['tool_definition', 'Get the current weather'],
      // The property's name, then the same name in `required`.
      ['tool_definition', 'city'],
      ['tool_definition', 'city'],
      ['tool_definition', 'Runs Python'],
    ]);
    expect(request.texts.map((t) => t.path)).toContainEqual(['messages', 3, 'tool_calls', 0, 'function', 'arguments']);
    expect(request.texts.map((t) => t.path)).toContainEqual(['messages', 1, 'content', 0, 'text']);
    expect(toolsOf(request)).toEqual([
      ['call', 'get_weather'],
      ['result', 'get_weather'],
      ['definition', 'get_weather'],
      ['definition', 'code_exec'],
    ]);
    expect(request.tools[1]!.path).toEqual(['messages', 4, 'tool_call_id']);
    expectPathsPointAtStrings(chatWithTools, request);
  });

  it('reads legacy function calling and custom tool calls', () => {
    const body = {
      model: 'gpt-4-0613',
      functions: [{ name: 'lookup_order', parameters: { type: 'object' } }],
      messages: [
        { role: 'user', content: 'Where is order 42?' },
        { role: 'assistant', content: null, function_call: { name: 'lookup_order', arguments: '{"id":42}' } },
        { role: 'function', name: 'lookup_order', content: 'Shipped yesterday' },
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'code_exec', input: 'print(1)' } }] },
      ],
    };
    const request = expectParsed(parse('api.openai.com', '/v1/chat/completions', body));
    expect(textsOf(request)).toEqual([
      ['user', 'Where is order 42?'],
      ['tool_arguments', '{"id":42}'],
      ['tool_result', 'Shipped yesterday'],
      ['tool_arguments', 'print(1)'],
    ]);
    expect(toolsOf(request)).toEqual([['call', 'lookup_order'], ['result', 'lookup_order'], ['call', 'code_exec'], ['definition', 'lookup_order']]);
    expectPathsPointAtStrings(body, request);
  });

  it.each([
    ['api.groq.com', '/openai/v1/chat/completions', 'groq', 'llama-3.3-70b-versatile'],
    ['api.mistral.ai', '/v1/chat/completions', 'mistral', 'mistral-large-latest'],
    ['api.x.ai', '/v1/chat/completions', 'xai', 'grok-4'],
    ['api.deepseek.com', '/chat/completions', 'deepseek', 'deepseek-chat'],
    ['openrouter.ai', '/api/v1/chat/completions', 'openrouter', 'anthropic/claude-sonnet-4'],
    ['api.perplexity.ai', '/chat/completions', 'perplexity', 'sonar-pro'],
    ['api.githubcopilot.com', '/chat/completions', 'copilot', 'gpt-4.1'],
  ])('%s reads as provider %s', (host, path, provider, model) => {
    const body = { model, messages: [{ role: 'user', content: 'hello' }] };
    const request = expectParsed(parse(host, path, body));
    expect(request).toMatchObject({ provider, model, stream: false, texts: [{ path: ['messages', 0, 'content'], text: 'hello', kind: 'user' }] });
  });
});

/** Responses API: instructions, message items with parts, a function call round trip, a prompt template. */
const responsesWithItems = {
  model: 'gpt-4.1',
  instructions: 'You are a support agent.',
  stream: true,
  input: [
    { role: 'user', content: 'My invoice is wrong.' },
    {
      type: 'message',
      role: 'user',
      content: [
        { type: 'input_text', text: 'Here is a screenshot.' },
        { type: 'input_image', image_url: 'https://example.com/invoice.png' },
        { type: 'input_file', file_id: 'file-123' },
      ],
    },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me look it up.', annotations: [] }] },
    { type: 'reasoning', id: 'rs_1', summary: [] },
    { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'find_invoice', arguments: '{"customer":"c_77"}' },
    { type: 'function_call_output', call_id: 'call_9', output: '{"total": 120.5}' },
    { type: 'function_call_output', call_id: 'call_from_previous_response', output: [{ type: 'input_text', text: 'older output' }] },
    { role: 'developer', content: 'Be brief.' },
  ],
  tools: [
    { type: 'function', name: 'find_invoice', parameters: { type: 'object', properties: {} }, strict: true },
    { type: 'web_search' },
  ],
  prompt: { id: 'pmpt_1', variables: { customer_name: 'Jane Doe', notes: { type: 'input_text', text: 'VIP' } } },
};

describe('responses', () => {
  it('reads instructions, items, function calls and outputs, and prompt variables', () => {
    const request = expectParsed(parse('api.openai.com', '/v1/responses', responsesWithItems));
    expect(request).toMatchObject({ operation: 'responses', model: 'gpt-4.1', stream: true });
    expect(textsOf(request)).toEqual([
      ['system', 'You are a support agent.'],
      ['user', 'My invoice is wrong.'],
      ['user', 'Here is a screenshot.'],
      ['assistant', 'Let me look it up.'],
      ['tool_arguments', '{"customer":"c_77"}'],
      ['tool_result', '{"total": 120.5}'],
      ['tool_result', 'older output'],
      ['system', 'Be brief.'],
      ['user', 'Jane Doe'],
      ['user', 'VIP'],
    ]);
    expect(toolsOf(request)).toEqual([['call', 'find_invoice'], ['result', 'find_invoice'], ['definition', 'find_invoice']]);
    expectPathsPointAtStrings(responsesWithItems, request);
  });

  it('reads what commands printed on the user\'s side: shell, local shell and apply_patch outputs', () => {
    const body = {
      model: 'gpt-5-codex',
      input: [
        { type: 'shell_call', call_id: 'sh_1', action: { commands: ['cat .env'] } },
        { type: 'shell_call_output', call_id: 'sh_1', output: [{ stdout: 'AWS_SECRET=abc', stderr: 'warning: x', outcome: { type: 'exit', exit_code: 0 } }] },
        { type: 'local_shell_call_output', id: 'ls_1', output: 'db password: hunter2' },
        { type: 'apply_patch_call_output', call_id: 'ap_1', status: 'completed', output: 'patched config.yml' },
        { type: 'computer_call_output', call_id: 'cc_1', output: { type: 'computer_screenshot', image_url: 'data:image/png;base64,AA' } },
      ],
    };
    const request = expectParsed(parse('api.openai.com', '/v1/responses', body));
    // The replayed call's command is read too (as its arguments), and every string of a computer call's output but
    // its image (a nested `type` tag included: the client writes it, so it is read rather than trusted).
    expect(textsOf(request)).toEqual([
      ['tool_arguments', 'cat .env'],
      ['tool_result', 'AWS_SECRET=abc'],
      ['tool_result', 'warning: x'],
      ['tool_result', 'db password: hunter2'],
      ['tool_result', 'patched config.yml'],
      ['tool_result', 'computer_screenshot'],
    ]);
    expectPathsPointAtStrings(body, request);
  });

  it('reads a plain string input', () => {
    const body = { model: 'o4-mini', input: 'Tell me a joke' };
    const request = expectParsed(parse('api.openai.com', '/v1/responses', body));
    expect(request.texts).toEqual([{ path: ['input'], text: 'Tell me a joke', kind: 'user' }]);
  });

  it('lets a stored prompt carry the model', () => {
    const request = expectParsed(parse('api.openai.com', '/v1/responses', { prompt: { id: 'pmpt_1' }, input: 'hi' }));
    expect(request.model).toBeNull();
  });
});

describe('conversations (items are Responses input items, read by the same reader)', () => {
  const items = [
    { type: 'message', role: 'system', content: 'You are a support agent.' },
    { role: 'user', content: [{ type: 'input_text', text: 'My card 4111 is declined.' }, { type: 'input_image', image_url: 'https://x/y.png' }] },
    { type: 'function_call', call_id: 'call_1', name: 'lookup_card', arguments: '{"last4":"4111"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'card blocked by fraud check' },
  ];

  it('POST /conversations reads its items with exact paths; the route names no model', () => {
    const body = { items, metadata: { topic: 'billing' } };
    const request = expectParsed(parse('api.openai.com', '/v1/conversations', body));
    expect(request).toMatchObject({ operation: 'conversations', model: null, stream: false, inspected: true });
    expect(request.texts).toEqual([
      { path: ['items', 0, 'content'], text: 'You are a support agent.', kind: 'system' },
      { path: ['items', 1, 'content', 0, 'text'], text: 'My card 4111 is declined.', kind: 'user' },
      { path: ['items', 2, 'arguments'], text: '{"last4":"4111"}', kind: 'tool_arguments' },
      { path: ['items', 3, 'output'], text: 'card blocked by fraud check', kind: 'tool_result' },
    ]);
    expect(request.tools).toEqual([
      { kind: 'call', name: 'lookup_card', path: ['items', 2, 'name'] },
      { kind: 'result', name: 'lookup_card', path: ['items', 3, 'call_id'] },
    ]);
    expectPathsPointAtStrings(body, request);
  });

  it('POST /conversations without items (metadata only) reads nothing', () => {
    const request = expectParsed(parse('api.openai.com', '/v1/conversations', { metadata: { topic: 'x' } }));
    expect(request).toMatchObject({ operation: 'conversations', model: null, texts: [], tools: [] });
  });

  it('POST /conversations/{id}/items reads the items it adds', () => {
    const body = { items: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello again' }] }] };
    const request = expectParsed(parse('api.openai.com', '/v1/conversations/conv_123/items', body));
    expect(request).toMatchObject({ operation: 'conversations.items', model: null, inspected: true });
    expect(request.texts).toEqual([{ path: ['items', 0, 'content', 0, 'text'], text: 'Hello again', kind: 'user' }]);
  });

  it.each([
    ['items not an array', '/v1/conversations', { items: 'hi' }, /items must be an array of input items, got a string/],
    ['items missing when adding items', '/v1/conversations/conv_1/items', {}, /items is required and must be an array of input items/],
    ['item without role', '/v1/conversations/conv_1/items', { items: [{ type: 'message', content: 'x' }] }, /items\[0\]\.role is required/],
  ])('a bad body gives a 400 naming the field: %s', (_name, path, body, message) => {
    const error = expectFailed(parse('api.openai.com', path, body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'openai' });
    expect(error.message).toMatch(message);
  });
});

describe('token-id prompts (legacy completions, embeddings)', () => {
  const cl100k = getEncoding('cl100k_base');

  it.each([
    ['completions, one prompt', '/v1/completions', 'gpt-3.5-turbo-instruct', 'prompt', (ids: number[][]) => ids[0]!, [['prompt']]],
    ['completions, several', '/v1/completions', 'gpt-3.5-turbo-instruct', 'prompt', (ids: number[][]) => ids, [['prompt', 0], ['prompt', 1]]],
    ['embeddings, one input', '/v1/embeddings', 'text-embedding-3-small', 'input', (ids: number[][]) => ids[0]!, [['input']]],
    ['embeddings, several', '/v1/embeddings', 'text-embedding-ada-002', 'input', (ids: number[][]) => ids, [['input', 0], ['input', 1]]],
  ])('%s: read as the text they stand for, at the path of the ids', (_name, path, model, field, shape, paths) => {
    const texts = ['My key is AKIAIOSFODNN7EXAMPLE', 'déjà vu 🙂 naïve'];
    const body = { model, [field]: shape(texts.map((t) => cl100k.encode(t))) };
    const request = expectParsed(parse('api.openai.com', path, body));
    expect(request.texts.map((t) => t.path)).toEqual(paths);
    expect(request.texts.map((t) => t.text)).toEqual(texts.slice(0, paths.length));
  });

  it('ids outside the vocabulary stand for nothing; an empty list and strings beside ids are read as before', () => {
    const request = expectParsed(parse('api.openai.com', '/v1/embeddings', { model: 'text-embedding-3-small', input: [[...cl100k.encode('hello'), 1e9, -1, 2.5], []] }));
    expect(textsOf(request)).toEqual([['input', 'hello']]);
  });

  it.each([
    ['ids and a string in one list', [[1, 'secret text']], /input\[0\] must be a string or token ids/],
    ['strings and a lone number', ['secret text', 123], /input\[1\] must be a string or token ids, got a number/],
  ])('a list mixing %s is refused, naming it', (_name, input, message) => {
    const error = expectFailed(parse('api.openai.com', '/v1/embeddings', { model: 'text-embedding-3-small', input }));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message).toMatch(message);
  });
});

describe('prompt-only operations', () => {
  it.each([
    ['completions', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: ['Say hi', 'Say bye'], suffix: 'end' }, [['user', 'Say hi'], ['user', 'Say bye'], ['user', 'end']]],
    ['completions (string)', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon a time' }, [['user', 'Once upon a time']]],
    ['embeddings', '/v1/embeddings', { model: 'text-embedding-3-small', input: ['first doc', 'second doc'] }, [['input', 'first doc'], ['input', 'second doc']]],
    ['moderations', '/v1/moderations', { input: 'is this ok?' }, [['input', 'is this ok?']]],
    [
      'moderations (multimodal)', '/v1/moderations',
      { model: 'omni-moderation-latest', input: [{ type: 'text', text: 'caption' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
      [['input', 'caption']],
    ],
  ])('%s', (_name, path, body, texts) => {
    const request = expectParsed(parse('api.openai.com', path, body));
    expect(textsOf(request)).toEqual(texts);
    expectPathsPointAtStrings(body, request);
  });

  it('reads an image generation prompt; the model may be left to the default', () => {
    const body = { model: 'gpt-image-1', prompt: 'A poster for ACME with the slogan "Ship it"', size: '1024x1024', stream: true, partial_images: 2 };
    const request = expectParsed(parse('api.openai.com', '/v1/images/generations', body));
    expect(request).toMatchObject({ operation: 'images.generations', model: 'gpt-image-1', stream: true, inspected: true });
    expect(request.texts).toEqual([{ path: ['prompt'], text: 'A poster for ACME with the slogan "Ship it"', kind: 'user' }]);
    expect(expectParsed(parse('api.openai.com', '/v1/images/generations', { prompt: 'a cat' })).model).toBeNull();
  });

  it('reads the text to speak and the voice instructions', () => {
    const body = { model: 'gpt-4o-mini-tts', voice: 'coral', input: 'Your order 4411 ships today.', instructions: 'Speak like a cheerful clerk.' };
    const request = expectParsed(parse('api.openai.com', '/v1/audio/speech', body));
    expect(request).toMatchObject({ operation: 'audio.speech', model: 'gpt-4o-mini-tts', stream: false, inspected: true });
    expect(request.texts).toEqual([
      { path: ['input'], text: 'Your order 4411 ships today.', kind: 'input' },
      { path: ['instructions'], text: 'Speak like a cheerful clerk.', kind: 'system' },
    ]);
    const streamed = expectParsed(parse('api.openai.com', '/v1/audio/speech', { ...body, stream_format: 'sse' }));
    expect(streamed.stream).toBe(true);
  });

  it('reads Mistral fill-in-the-middle', () => {
    const body = { model: 'codestral-latest', prompt: 'def add(a, b):', suffix: 'return result' };
    const request = expectParsed(parse('api.mistral.ai', '/v1/fim/completions', body));
    expect(textsOf(request)).toEqual([['user', 'def add(a, b):'], ['user', 'return result']]);
    expectPathsPointAtStrings(body, request);
  });

  it('moderations without a model report model null', () => {
    expect(expectParsed(parse('api.openai.com', '/v1/moderations', { input: 'x' })).model).toBeNull();
  });
});

describe('uninspected routes', () => {
  it('returns an empty, inspected:false request without reading the body', () => {
    const entry = surface('api.openai.com');
    const route = adapter.recognize(req('POST', 'api.openai.com', '/v1/files'), entry)!;
    expect(expectParsed(adapter.parse(route, undefined, entry))).toEqual({
      provider: 'openai', adapter: 'openai-compatible', operation: 'files', model: null, stream: false, texts: [], tools: [], inspected: false,
    });
  });
});

describe('bad bodies give a 400 naming the field', () => {
  it.each([
    ['body is an array', '/v1/chat/completions', [1, 2], /the request body must be a JSON object, got an array/],
    ['model missing', '/v1/chat/completions', { messages: [] }, /model is required/],
    ['model not a string', '/v1/chat/completions', { model: 4, messages: [] }, /model must be a string, got a number/],
    ['model empty', '/v1/chat/completions', { model: '  ', messages: [] }, /model must not be empty/],
    ['messages missing', '/v1/chat/completions', { model: 'gpt-4o' }, /messages is required and must be an array of messages/],
    ['messages not an array', '/v1/chat/completions', { model: 'gpt-4o', messages: 'hi' }, /messages must be an array of messages, got a string/],
    ['message not an object', '/v1/chat/completions', { model: 'gpt-4o', messages: ['hi'] }, /messages\[0\] must be a message object, got a string/],
    ['role missing', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ content: 'hi' }] }, /messages\[0\]\.role is required/],
    ['content a number', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 5 }] }, /messages\[0\]\.content must be a string, an array of content parts or null, got a number/],
    ['text part without text', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text' }] }] }, /messages\[0\]\.content\[0\]\.text must be a string, got nothing/],
    ['stream not boolean', '/v1/chat/completions', { model: 'gpt-4o', stream: 'yes', messages: [] }, /stream must be true or false, got a string/],
    ['tools not an array', '/v1/chat/completions', { model: 'gpt-4o', messages: [], tools: {} }, /tools must be an array of tool definitions, got an object/],
    ['tool without name', '/v1/chat/completions', { model: 'gpt-4o', messages: [], tools: [{ type: 'function', function: {} }] }, /tools\[0\]\.function\.name is required/],
    ['tool call args a number', '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'assistant', tool_calls: [{ id: 'a', function: { name: 'f', arguments: 3 } }] }] }, /messages\[0\]\.tool_calls\[0\]\.function\.arguments must be a JSON string \(or an object\), got a number/],
    ['responses input a number', '/v1/responses', { model: 'gpt-4.1', input: 3 }, /input must be a string or an array of input items, got a number/],
    ['responses model missing', '/v1/responses', { input: 'hi' }, /model is required/],
    ['responses function output missing', '/v1/responses', { model: 'gpt-4.1', input: [{ type: 'function_call_output', call_id: 'x' }] }, /input\[0\]\.output must be a string or an array of content parts, got nothing/],
    ['embeddings input missing', '/v1/embeddings', { model: 'text-embedding-3-small' }, /input must be a string or an array of strings, got nothing/],
    ['embeddings input object', '/v1/embeddings', { model: 'text-embedding-3-small', input: [{}] }, /input\[0\] must be a string or token ids, got an object/],
    ['moderations input missing', '/v1/moderations', {}, /input must be a string or an array, got nothing/],
    ['image prompt missing', '/v1/images/generations', { model: 'gpt-image-1' }, /prompt is required/],
    ['image prompt not a string', '/v1/images/generations', { prompt: ['a', 'b'] }, /prompt must be a string, got an array/],
    ['speech input missing', '/v1/audio/speech', { model: 'tts-1', voice: 'alloy' }, /input is required/],
    ['speech model missing', '/v1/audio/speech', { input: 'hi', voice: 'alloy' }, /model is required/],
    ['speech instructions a number', '/v1/audio/speech', { model: 'tts-1', input: 'hi', instructions: 3 }, /instructions must be a string, got a number/],
  ])('%s', (_name, path, body, message) => {
    const error = expectFailed(parse('api.openai.com', path, body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'openai' });
    expect(error.message).toMatch(message);
    expect(error.message).toContain(`POST ${path} (OpenAI API)`);
  });

  it('names the model it was asked for when the rest is wrong', () => {
    const error = expectFailed(parse('api.openai.com', '/v1/chat/completions', { model: 'gpt-4o', messages: 'x' }));
    expect(error.model).toBe('gpt-4o');
  });

  it('accepts explicit nulls for optional fields', () => {
    const body = { model: 'gpt-4o', stream: null, tools: null, messages: [{ role: 'assistant', content: null, tool_calls: null }] };
    expect(expectParsed(parse('api.openai.com', '/v1/chat/completions', body)).texts).toEqual([]);
  });
});
