import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { chatGptWebAdapter } from '../../src/providers/chatgpt-web.js';
import { claudeWebAdapter } from '../../src/providers/claude-web.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf, toolsOf } from './support.js';

const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

describe('ChatGPT web', () => {
  const entry = catalog.match('chatgpt.com')!;
  const parse = (body: unknown, path = '/backend-api/f/conversation') =>
    chatGptWebAdapter.parse(chatGptWebAdapter.recognize(req('POST', 'chatgpt.com', path), entry)!, body, entry);

  it.each([
    ['POST', '/backend-api/conversation', true],
    ['POST', '/backend-api/f/conversation', true],
    ['GET', '/backend-api/conversation', false],
    ['POST', '/backend-api/conversation/init', false],
    ['POST', '/backend-api/f/conversation/prepare', false],
    ['GET', '/backend-api/models', false],
    ['GET', '/', false],
    ['GET', '/cdn/assets/app.js', false],
  ])('%s %s recognised: %s', (method, path, recognised) => {
    const route = chatGptWebAdapter.recognize(req(method, 'chatgpt.com', path), entry);
    expect(route !== undefined).toBe(recognised);
    if (route) expect(route).toMatchObject({ operation: 'conversation', inspected: true, stream: true });
  });

  /** As the web client sends it: a multimodal message with an uploaded image pointer and typed text. */
  const conversation = {
    action: 'next',
    messages: [
      {
        id: 'aaa2c4e1-2b6f-4f0e-9c51-0a4a5d0b2f11',
        author: { role: 'user' },
        create_time: 1731234567.123,
        content: {
          content_type: 'multimodal_text',
          parts: [
            { content_type: 'image_asset_pointer', asset_pointer: 'file-service://file-9Xy', size_bytes: 48211, width: 800, height: 600 },
            'Here is our Q3 revenue table, summarise it.',
          ],
        },
        metadata: { attachments: [{ id: 'file-9Xy', name: 'q3.png', mime_type: 'image/png' }], serialization_metadata: { custom_symbol_offsets: [] } },
      },
    ],
    conversation_id: '6734a1b2-0000-8000-9000-0123456789ab',
    parent_message_id: 'client-created-root',
    model: 'gpt-4o',
    timezone_offset_min: -60,
    timezone: 'Europe/Berlin',
    conversation_mode: { kind: 'primary_assistant' },
    enable_message_followups: true,
    system_hints: [],
    supports_buffering: true,
    supported_encodings: ['v1'],
    client_contextual_info: { is_dark_mode: false, time_since_loaded: 42, page_height: 900, page_width: 1440, pixel_ratio: 2, screen_height: 1080, screen_width: 1920 },
  };

  it('reads the typed text parts, model, and always streams', () => {
    const request = expectParsed(parse(conversation));
    expect(request).toMatchObject({ provider: 'chatgpt-web', adapter: 'chatgpt-web', operation: 'conversation', model: 'gpt-4o', stream: true, inspected: true });
    expect(request.texts).toEqual([{ path: ['messages', 0, 'content', 'parts', 1], text: 'Here is our Q3 revenue table, summarise it.', kind: 'user' }]);
    expectPathsPointAtStrings(conversation, request);
  });

  it('reads code contents and reports model null when absent', () => {
    const body = { action: 'next', messages: [{ author: { role: 'user' }, content: { content_type: 'code', language: 'python', text: 'print("hi")' } }] };
    const request = expectParsed(parse(body, '/backend-api/conversation'));
    expect(textsOf(request)).toEqual([['user', 'print("hi")']]);
    expect(request.model).toBeNull();
    expectPathsPointAtStrings(body, request);
  });

  it.each([
    [{ messages: 'hi' }, /messages must be an array of messages, got a string/],
    [{ messages: [{ content: { parts: 'hi' } }] }, /messages\[0\]\.content\.parts must be an array of parts, got a string/],
    [{ model: 5, messages: [] }, /model must be a string, got a number/],
  ])('bad body %j', (body, message) => {
    const error = expectFailed(parse(body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'chatgpt-web' });
    expect(error.message).toMatch(message);
  });
});

describe('Claude web', () => {
  const entry = catalog.match('claude.ai')!;
  const completionPath = '/api/organizations/2f6c1e0a-6a5b-4f7e-9a51-1c2d3e4f5a6b/chat_conversations/8b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e/completion';
  const parse = (body: unknown) => claudeWebAdapter.parse(claudeWebAdapter.recognize(req('POST', 'claude.ai', completionPath), entry)!, body, entry);

  it.each([
    ['POST', completionPath, true],
    ['POST', `${completionPath}?rendering_mode=messages`, true],
    ['GET', completionPath, false],
    ['POST', completionPath.replace('/completion', '/retry_completion'), false],
    ['POST', '/api/organizations/org/chat_conversations', false],
    ['POST', '/api/organizations//chat_conversations/x/completion', false],
    ['GET', '/api/bootstrap', false],
    ['GET', '/new', false],
  ])('%s %s recognised: %s', (method, path, recognised) => {
    const route = claudeWebAdapter.recognize(req(method, 'claude.ai', path), entry);
    expect(route !== undefined).toBe(recognised);
    if (route) expect(route).toMatchObject({ operation: 'completion', inspected: true, stream: true });
  });

  /** As the web client sends it: the prompt, a pasted file's extracted text, tools, optional model. */
  const completion = {
    prompt: 'Review the attached contract for risky clauses.',
    parent_message_uuid: '00000000-0000-4000-8000-000000000000',
    timezone: 'Europe/London',
    personalized_styles: [{ type: 'default', key: 'Default', name: 'Normal', prompt: 'Normal', isDefault: true }],
    locale: 'en-GB',
    model: 'claude-sonnet-4-5-20250929',
    tools: [{ type: 'web_search_v0', name: 'web_search' }, { type: 'artifacts_v0' }],
    attachments: [
      { file_name: 'contract.txt', file_type: 'text/plain', file_size: 5120, extracted_content: 'Clause 7: unlimited liability for the supplier.' },
      { file_name: 'empty.txt', file_type: 'text/plain', file_size: 0 },
    ],
    files: ['file_01ABC'],
    sync_sources: [],
    rendering_mode: 'messages',
  };

  it('reads the prompt, attachment text, tools, and model; always streams', () => {
    const request = expectParsed(parse(completion));
    expect(request).toMatchObject({ provider: 'claude-web', adapter: 'claude-web', operation: 'completion', model: 'claude-sonnet-4-5-20250929', stream: true });
    expect(textsOf(request)).toEqual([
      ['user', 'Review the attached contract for risky clauses.'],
      ['user', 'Clause 7: unlimited liability for the supplier.'],
    ]);
    expect(toolsOf(request)).toEqual([['definition', 'web_search']]);
    expectPathsPointAtStrings(completion, request);
  });

  it('reports model null when the page lets Claude pick', () => {
    expect(expectParsed(parse({ prompt: 'hi' })).model).toBeNull();
  });

  it.each([
    [{ prompt: 42 }, /prompt must be a string, got a number/],
    [{ prompt: 'x', attachments: {} }, /attachments must be an array of attachments, got an object/],
    [{ prompt: 'x', attachments: [{ extracted_content: ['a'] }] }, /attachments\[0\]\.extracted_content must be a string, got an array/],
  ])('bad body %j', (body, message) => {
    const error = expectFailed(parse(body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'claude-web' });
    expect(error.message).toMatch(message);
  });
});
