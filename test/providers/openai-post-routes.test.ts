import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES, type SurfaceEntry } from '../../src/providers/catalog.js';
import { openAICompatibleAdapter as adapter } from '../../src/providers/openai-compatible.js';
import { expectParsed, expectPathsPointAtStrings, req } from './support.js';

/** Which OpenAI-shaped POSTs are read, which pass unread, and which are unknown (refused on API hosts). */

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);
const surface = (host: string): SurfaceEntry => catalog.match(host)!;

function recognize(method: string, host: string, path: string, headers: Record<string, string> = {}) {
  return adapter.recognize(req(method, host, path, headers), surface(host));
}

function parse(method: string, host: string, path: string, body: unknown) {
  const entry = surface(host);
  const route = adapter.recognize(req(method, host, path), entry);
  if (!route) throw new Error(`${method} ${path} not recognised on ${host}`);
  return adapter.parse(route, body, entry);
}

describe('the Responses API', () => {
  it.each([
    ['POST', '/v1/responses/compact', 'responses.compact', true],
    ['POST', '/v1/responses/resp_1/cancel', 'responses', false],
    ['GET', '/v1/responses/resp_1', 'responses', false],
    ['DELETE', '/v1/responses/resp_1', 'responses', false],
    ['GET', '/v1/responses/resp_1/input_items', 'responses', false],
  ])('%s %s → %s (read: %s)', (method, path, operation, inspected) => {
    expect(recognize(method, 'api.openai.com', path)).toMatchObject({ operation, inspected });
  });

  it.each([
    '/v1/responses/resp_1',
    '/v1/responses/resp_1/summarize',
    '/v1/responses/compact/extra',
  ])('POST %s is no documented route, so the host\'s unknown-route rule decides it', (path) => {
    expect(recognize('POST', 'api.openai.com', path)).toBeUndefined();
  });

  it('reads compaction like a response: instructions and input items, each path pointing at its string', () => {
    const body = { model: 'gpt-5-codex', instructions: 'You are Codex.', input: [{ role: 'user', content: [{ type: 'input_text', text: 'fix the build' }] }] };
    const request = expectParsed(parse('POST', 'api.openai.com', '/v1/responses/compact', body));
    expect(request).toMatchObject({ operation: 'responses.compact', model: 'gpt-5-codex', inspected: true });
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual([['system', 'You are Codex.'], ['user', 'fix the build']]);
    expectPathsPointAtStrings(body, request);
  });
});

describe('Mistral\'s Conversations API (api.mistral.ai)', () => {
  it.each([
    ['POST', '/v1/conversations', 'conversations.start', true],
    ['POST', '/v1/conversations/conv_1', 'conversations.append', true],
    ['POST', '/v1/conversations/conv_1/restart', 'conversations.restart', true],
    ['GET', '/v1/conversations', 'conversations', false],
    ['GET', '/v1/conversations/conv_1/history', 'conversations', false],
    ['DELETE', '/v1/conversations/conv_1', 'conversations', false],
  ])('%s %s → %s (read: %s)', (method, path, operation, inspected) => {
    expect(recognize(method, 'api.mistral.ai', path)).toMatchObject({ operation, inspected });
  });

  it('an undocumented POST under conversations/ is not recognised, on Mistral and on OpenAI', () => {
    expect(recognize('POST', 'api.mistral.ai', '/v1/conversations/conv_1/items')).toBeUndefined();
    expect(recognize('POST', 'api.openai.com', '/v1/conversations/conv_1/restart')).toBeUndefined();
  });

  it('start: instructions, inputs entries of every kind, tool definitions; the model, or null for an agent', () => {
    const body = {
      model: 'mistral-medium-latest',
      instructions: 'You are a support agent.',
      stream: true,
      inputs: [
        { role: 'user', content: 'My card is declined.' },
        { type: 'message.input', role: 'user', content: [{ type: 'text', text: 'Card 4111.' }, { type: 'image_url', image_url: 'https://x/y.png' }] },
        { type: 'message.output', content: 'Let me check.' },
        { type: 'function.call', tool_call_id: 'call_1', name: 'lookup_card', arguments: '{"last4":"4111"}' },
        { type: 'function.result', tool_call_id: 'call_1', result: 'blocked by fraud check' },
        { tool_call_id: 'call_2', name: 'notify', arguments: { channel: 'email' } },
        { type: 'agent.handoff', previous_agent_id: 'a', next_agent_id: 'b' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup_card', parameters: {} } }, { type: 'web_search' }],
    };
    const request = expectParsed(parse('POST', 'api.mistral.ai', '/v1/conversations', body));
    expect(request).toMatchObject({ provider: 'mistral', operation: 'conversations.start', model: 'mistral-medium-latest', stream: true, inspected: true });
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual([
      ['system', 'You are a support agent.'],
      ['user', 'My card is declined.'],
      ['user', 'Card 4111.'],
      ['assistant', 'Let me check.'],
      ['tool_arguments', '{"last4":"4111"}'],
      ['tool_result', 'blocked by fraud check'],
      ['tool_arguments', 'email'],
    ]);
    expect(request.tools.map((t) => [t.kind, t.name])).toEqual([['call', 'lookup_card'], ['call', 'notify'], ['result', 'lookup_card'], ['definition', 'lookup_card']]);
    expectPathsPointAtStrings(body, request);
    expect(expectParsed(parse('POST', 'api.mistral.ai', '/v1/conversations', { agent_id: 'ag_1', inputs: 'hi' })).model).toBeNull();
  });

  it.each([
    ['append', '/v1/conversations/conv_1', 'conversations.append'],
    ['restart', '/v1/conversations/conv_1/restart', 'conversations.restart'],
  ])('%s reads its inputs; the route names no model', (_name, path, operation) => {
    const body = { inputs: 'And my other card?', from_entry_id: 'msg_1' };
    const request = expectParsed(parse('POST', 'api.mistral.ai', path, body));
    expect(request).toMatchObject({ operation, model: null, texts: [{ path: ['inputs'], text: 'And my other card?', kind: 'user' }] });
  });

  it('a bad inputs gives a 400 naming the field', () => {
    const result = parse('POST', 'api.mistral.ai', '/v1/conversations/conv_1', { inputs: 42 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(/inputs must be a string or an array of conversation entries, got a number/);
  });
});

describe('the Assistants API, videos, Realtime sessions and vector store search', () => {
  it.each([
    ['POST', '/v1/assistants', 'assistants', true],
    ['POST', '/v1/assistants/asst_1', 'assistants', true],
    ['POST', '/v1/threads', 'threads', true],
    ['POST', '/v1/threads/runs', 'threads.runs', true],
    ['POST', '/v1/threads/thread_1', 'threads', false],
    ['POST', '/v1/threads/thread_1/messages', 'threads.messages', true],
    ['POST', '/v1/threads/thread_1/messages/msg_1', 'threads', false],
    ['POST', '/v1/threads/thread_1/runs', 'threads.runs', true],
    ['POST', '/v1/threads/thread_1/runs/run_1', 'threads', false],
    ['POST', '/v1/threads/thread_1/runs/run_1/cancel', 'threads', false],
    ['POST', '/v1/threads/thread_1/runs/run_1/submit_tool_outputs', 'threads.tool_outputs', true],
    ['GET', '/v1/threads/thread_1/runs/run_1/steps', 'threads', false],
    ['POST', '/v1/videos', 'videos', true],
    ['POST', '/v1/videos/edits', 'videos', true],
    ['POST', '/v1/videos/extensions', 'videos', true],
    ['POST', '/v1/videos/video_1/remix', 'videos', true],
    ['POST', '/v1/videos/characters', 'videos', false],
    ['GET', '/v1/videos/video_1/content', 'videos', false],
    ['POST', '/v1/realtime/client_secrets', 'realtime.client_secrets', true],
    ['POST', '/v1/realtime/sessions', 'realtime.sessions', true],
    ['POST', '/v1/realtime/calls/rtc_1/accept', 'realtime.sessions', true],
    ['POST', '/v1/realtime/calls', 'realtime', false],
    ['POST', '/v1/realtime/calls/rtc_1/hangup', 'realtime', false],
    ['POST', '/v1/realtime/transcription_sessions', 'realtime.sessions', true],
    ['POST', '/v1/vector_stores', 'vector_stores', false],
    ['POST', '/v1/vector_stores/vs_1/search', 'vector_stores.search', true],
    ['POST', '/v1/vector_stores/vs_1/file_batches/vsfb_1/cancel', 'vector_stores', false],
  ])('%s %s → %s (read: %s)', (method, path, operation, inspected) => {
    expect(recognize(method, 'api.openai.com', path)).toMatchObject({ operation, inspected });
  });

  it('a video POSTed as a multipart upload is read (its prompt is a form field), as JSON too', () => {
    expect(recognize('POST', 'api.openai.com', '/v1/videos', { 'content-type': 'multipart/form-data; boundary=x' })).toMatchObject({ operation: 'videos', inspected: true });
    expect(recognize('POST', 'api.openai.com', '/v1/videos', { 'content-type': 'application/json' })).toMatchObject({ inspected: true });
  });

  it.each([
    [
      'an assistant', '/v1/assistants',
      { model: 'gpt-4o', name: 'Helper', description: 'Answers billing questions', instructions: 'Be brief.', tools: [{ type: 'code_interpreter' }, { type: 'function', function: { name: 'refund' } }] },
      'gpt-4o', [['system', 'Be brief.'], ['other', 'Answers billing questions']], [['definition', 'refund']],
    ],
    [
      'a thread', '/v1/threads',
      { messages: [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: [{ type: 'text', text: 'Hi' }, { type: 'image_file', image_file: { file_id: 'f' } }] }] },
      null, [['user', 'Hello'], ['assistant', 'Hi']], [],
    ],
    ['a message', '/v1/threads/thread_1/messages', { role: 'user', content: 'My order is late' }, null, [['user', 'My order is late']], []],
    [
      'a run', '/v1/threads/thread_1/runs',
      { assistant_id: 'a', model: 'gpt-4.1', instructions: 'Replace', additional_instructions: 'Extend', additional_messages: [{ role: 'user', content: 'More' }], stream: true },
      'gpt-4.1', [['system', 'Replace'], ['system', 'Extend'], ['user', 'More']], [],
    ],
    ['a thread and run', '/v1/threads/runs', { assistant_id: 'a', thread: { messages: [{ role: 'user', content: 'Start' }] } }, null, [['user', 'Start']], []],
    ['tool outputs', '/v1/threads/thread_1/runs/run_1/submit_tool_outputs', { tool_outputs: [{ tool_call_id: 'c', output: '42' }] }, null, [['tool_result', '42']], []],
    ['a video', '/v1/videos', { model: 'sora-2', prompt: 'A cat on a skateboard' }, 'sora-2', [['user', 'A cat on a skateboard']], []],
    [
      'a client secret', '/v1/realtime/client_secrets',
      { session: { type: 'realtime', model: 'gpt-realtime', instructions: 'Speak French.', prompt: { id: 'pmpt_1', variables: { city: 'Paris' } }, tools: [{ type: 'function', name: 'weather' }] } },
      'gpt-realtime', [['system', 'Speak French.'], ['user', 'Paris']], [['definition', 'weather']],
    ],
    ['a beta session', '/v1/realtime/sessions', { model: 'gpt-4o-realtime-preview', instructions: 'Be kind.' }, 'gpt-4o-realtime-preview', [['system', 'Be kind.']], []],
    [
      'a transcription session\'s prompt', '/v1/realtime/transcription_sessions',
      { input_audio_transcription: { model: 'gpt-4o-transcribe', prompt: 'Names: Zyx Corp', language: 'en' } }, null, [['system', 'Names: Zyx Corp']], [],
    ],
    [
      'a GA transcription client secret\'s prompt', '/v1/realtime/client_secrets',
      { session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm' }, transcription: { model: 'gpt-4o-transcribe', prompt: 'Expect: ACME' } } } } }, null, [['system', 'Expect: ACME']], [],
    ],
    ['a vector store search', '/v1/vector_stores/vs_1/search', { query: ['refund policy', 'returns'] }, null, [['input', 'refund policy'], ['input', 'returns']], []],
  ])('reads %s with exact paths', (_name, path, body, model, texts, tools) => {
    const request = expectParsed(parse('POST', 'api.openai.com', path, body));
    expect(request.model).toBe(model);
    expect(request.texts.map((t) => [t.kind, t.text])).toEqual(texts);
    expect(request.tools.map((t) => [t.kind, t.name])).toEqual(tools);
    expectPathsPointAtStrings(body, request);
  });

  it.each([
    ['/v1/threads/thread_1/messages', { role: 'user', content: 5 }, /content must be a string or an array of content parts, got a number/],
    ['/v1/threads/thread_1/runs/run_1/submit_tool_outputs', {}, /tool_outputs is required/],
    ['/v1/videos', { model: 'sora-2' }, /prompt is required/],
    ['/v1/vector_stores/vs_1/search', { query: {} }, /query must be a string or an array of strings, got an object/],
  ])('POST %s with a bad body gives a 400 naming the field', (path, body, message) => {
    const result = parse('POST', 'api.openai.com', path, body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toMatch(message);
  });
});

describe('methods other than POST on a route read on POST', () => {
  it.each(['PUT', 'PATCH', 'PROPFIND'])('%s /v1/chat/completions is refused with a 405 that says to send it as POST', (method) => {
    const entry = surface('api.openai.com');
    const route = adapter.recognize(req(method, 'api.openai.com', '/v1/chat/completions'), entry);
    expect(route).toMatchObject({ operation: 'chat.completions', inspected: false });
    const result = adapter.parse(route!, undefined, entry);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatchObject({ status: 405, type: 'method_not_allowed', provider: 'openai' });
      expect(result.error.message).toBe(`Bifrost Edge blocked ${method} /v1/chat/completions on api.openai.com: OpenAI API reads this route's body only on POST, so another method could carry a prompt past inspection. Send the request as POST.`);
    }
  });

  it.each(['GET', 'HEAD', 'DELETE', 'OPTIONS'])('%s /v1/chat/completions stays uninspected', (method) => {
    const entry = surface('api.openai.com');
    const route = adapter.recognize(req(method, 'api.openai.com', '/v1/chat/completions'), entry)!;
    expect(expectParsed(adapter.parse(route, undefined, entry))).toMatchObject({ operation: 'chat.completions', inspected: false });
  });

  it('PATCH under a root of stored objects is no documented route', () => {
    expect(recognize('PATCH', 'api.openai.com', '/v1/threads/thread_1')).toBeUndefined();
  });
});
