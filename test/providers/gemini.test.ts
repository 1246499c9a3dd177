import { describe, expect, it } from 'vitest';
import { geminiEntry, geminiHost, parseGemini } from './gemini-support.js';
import { geminiAdapter as adapter } from '../../src/providers/gemini.js';
import { isRefused } from '../../src/providers/route-lookalike.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf, toolsOf } from './support.js';

const host = geminiHost;
const entry = geminiEntry;
const parse = parseGemini;

describe('route recognition', () => {
  it.each([
    ['POST', '/v1beta/models/gemini-2.5-flash:generateContent', 'generateContent', true, 'gemini-2.5-flash', false],
    ['POST', '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse', 'streamGenerateContent', true, 'gemini-2.5-pro', true],
    ['POST', '/v1/models/gemini-2.0-flash:generateContent', 'generateContent', true, 'gemini-2.0-flash', false],
    ['POST', '/v1alpha/models/gemini-2.0-flash-thinking-exp:generateContent', 'generateContent', true, 'gemini-2.0-flash-thinking-exp', false],
    ['POST', '/v1beta/models/gemini-2.5-flash:countTokens', 'countTokens', true, 'gemini-2.5-flash', false],
    ['POST', '/v1beta/models/gemini-embedding-001:embedContent', 'embedContent', true, 'gemini-embedding-001', false],
    ['POST', '/v1beta/models/text-embedding-004:batchEmbedContents', 'batchEmbedContents', true, 'text-embedding-004', false],
    ['POST', '/v1beta/models/gemini-2.5-flash:batchGenerateContent', 'batchGenerateContent', true, 'gemini-2.5-flash', false],
    ['POST', '/v1beta/models/imagen-4.0-generate-001:predict', 'predict', true, 'imagen-4.0-generate-001', false],
    ['GET', '/v1beta/models', 'models', false, undefined, undefined],
    ['GET', '/v1beta/models/gemini-2.5-flash', 'models', false, undefined, undefined],
    ['POST', '/upload/v1beta/files?uploadType=resumable', 'files', false, undefined, undefined],
    ['GET', '/v1beta/files/abc', 'files', false, undefined, undefined],
    ['POST', '/v1beta/cachedContents', 'cachedContents', true, undefined, undefined],
    ['POST', '/v1/cachedContents', 'cachedContents', true, undefined, undefined],
    ['GET', '/v1beta/cachedContents', 'cachedContents', false, undefined, undefined],
    ['GET', '/v1beta/cachedContents/abc123', 'cachedContents', false, undefined, undefined],
    ['PATCH', '/v1beta/cachedContents/abc123?updateMask=ttl', 'cachedContents', false, undefined, undefined],
    ['DELETE', '/v1beta/cachedContents/abc123', 'cachedContents', false, undefined, undefined],
  ])('%s %s → %s (inspected: %s, model %s, stream %s)', (method, path, operation, inspected, pathModel, stream) => {
    const route = adapter.recognize(req(method, host, path), entry);
    expect(route).toMatchObject({ operation, inspected });
    expect(route?.pathModel).toBe(pathModel);
    expect(route?.stream).toBe(stream);
  });

  it.each([
    ['POST', '/v1beta/models/gemini-2.5-flash:generateText'],
    ['POST', '/v1beta/models/:generateContent'],
    ['POST', '/v1beta/models/gemini-2.5-flash:generateContent/extra'],
    ['POST', '/v2/models/gemini-2.5-flash:generateContent'],
    ['POST', '/v1beta/secretRoute'],
  ])('%s %s is not recognised', (method, path) => {
    expect(adapter.recognize(req(method, host, path), entry)).toBeUndefined();
  });
});

/** Multi-turn with a system instruction, an inline image, a function call round trip and declarations. */
const generateWithFunctions = {
  systemInstruction: { parts: [{ text: 'You are a travel assistant.' }, { text: 'Prices in EUR.' }] },
  contents: [
    {
      role: 'user',
      parts: [
        { text: 'Book me a flight to Rome and describe this photo.' },
        { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
      ],
    },
    {
      role: 'model',
      parts: [
        { text: 'Searching flights.' },
        { functionCall: { name: 'search_flights', args: { destination: 'FCO', passengers: 2, traveller: { name: 'Ada Lovelace', tags: ['vip'] } } } },
      ],
    },
    {
      role: 'user',
      parts: [{ functionResponse: { name: 'search_flights', response: { flights: [{ id: 'AZ123', note: 'window seat' }], count: 1 } } }],
    },
    { parts: [{ text: 'Pick the cheapest.' }] },
  ],
  tools: [
    {
      functionDeclarations: [
        { name: 'search_flights', description: 'Search flights', parameters: { type: 'OBJECT', properties: { destination: { type: 'STRING' } } } },
        { name: 'book_flight', parameters: { type: 'OBJECT' } },
      ],
    },
    { googleSearch: {} },
  ],
  generationConfig: { temperature: 0.4, maxOutputTokens: 512 },
};

describe('generateContent', () => {
  it('reads the system instruction, parts, function call args and response leaves, and declarations', () => {
    const request = expectParsed(parse('/v1beta/models/gemini-2.5-flash:generateContent', generateWithFunctions));
    expect(request).toMatchObject({ provider: 'gemini', adapter: 'gemini', operation: 'generateContent', model: 'gemini-2.5-flash', stream: false, inspected: true });
    expect(textsOf(request)).toEqual([
      ['system', 'You are a travel assistant.'],
      ['system', 'Prices in EUR.'],
      ['user', 'Book me a flight to Rome and describe this photo.'],
      ['assistant', 'Searching flights.'],
      ['tool_arguments', 'FCO'],
      ['tool_arguments', 'Ada Lovelace'],
      ['tool_arguments', 'vip'],
      ['tool_result', 'AZ123'],
      ['tool_result', 'window seat'],
      ['user', 'Pick the cheapest.'],
      ['tool_definition', 'Search flights'],
      ['tool_definition', 'destination'],
    ]);
    expect(request.texts.find((t) => t.text === 'window seat')!.path).toEqual(['contents', 2, 'parts', 0, 'functionResponse', 'response', 'flights', 0, 'note']);
    expect(toolsOf(request)).toEqual([['call', 'search_flights'], ['result', 'search_flights'], ['definition', 'search_flights'], ['definition', 'book_flight']]);
    expectPathsPointAtStrings(generateWithFunctions, request);
  });

  it('streams for streamGenerateContent, whatever the body says', () => {
    const body = { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] };
    expect(expectParsed(parse('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse', body))).toMatchObject({ stream: true, model: 'gemini-2.5-pro' });
  });

  it('reads snake_case field names as Google accepts them', () => {
    const body = {
      system_instruction: { parts: [{ text: 'Be helpful.' }] },
      contents: [{ role: 'model', parts: [{ function_call: { name: 'lookup', args: { q: 'weather' } } }] }],
      tools: [{ function_declarations: [{ name: 'lookup' }] }],
    };
    const request = expectParsed(parse('/v1beta/models/gemini-2.0-flash:generateContent', body));
    expect(textsOf(request)).toEqual([['system', 'Be helpful.'], ['tool_arguments', 'weather']]);
    expect(toolsOf(request)).toEqual([['call', 'lookup'], ['definition', 'lookup']]);
    expectPathsPointAtStrings(body, request);
  });
});

describe('other inspected methods', () => {
  it.each([
    ['countTokens with contents', 'gemini-2.5-flash:countTokens', { contents: [{ parts: [{ text: 'count me' }] }] }, [['user', 'count me']]],
    [
      'countTokens with generateContentRequest', 'gemini-2.5-flash:countTokens',
      { generateContentRequest: { model: 'models/gemini-2.5-flash', systemInstruction: { parts: [{ text: 'sys' }] }, contents: [{ role: 'user', parts: [{ text: 'nested' }] }] } },
      [['system', 'sys'], ['user', 'nested']],
    ],
    ['embedContent', 'gemini-embedding-001:embedContent', { content: { parts: [{ text: 'embed this' }] }, taskType: 'RETRIEVAL_DOCUMENT' }, [['input', 'embed this']]],
    [
      'batchEmbedContents', 'text-embedding-004:batchEmbedContents',
      { requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'one' }] } }, { model: 'models/text-embedding-004', content: { parts: [{ text: 'two' }] } }] },
      [['input', 'one'], ['input', 'two']],
    ],
  ])('%s', (_name, modelAndMethod, body, texts) => {
    const request = expectParsed(parse(`/v1beta/models/${modelAndMethod}`, body));
    expect(textsOf(request)).toEqual(texts);
    expect(request.model).toBe(modelAndMethod.split(':')[0]);
    expectPathsPointAtStrings(body, request);
  });
});

describe('cachedContents: a cache holds generateContent context for later calls', () => {
  // Only creating a cache carries a prompt, and Edge reads it on POST: another method with a body on the collection
  // could reach the create handler unread. Updating a cache's ttl (PATCH on the cache itself) stays what it is.
  it.each(['PUT', 'PATCH'])('%s on the collection is refused (405)', (method) => {
    for (const path of ['/v1beta/cachedContents', '/v1/cachedContents/', '/v1beta/cachedContents?alt=json']) {
      const route = adapter.recognize(req(method, host, path), entry);
      expect(route && isRefused(route) ? route.refusal : undefined, path).toMatchObject({ status: 405, type: 'method_not_allowed' });
    }
  });

  it('PATCH on one cache (its ttl) and GET or DELETE on the collection still pass unread', () => {
    for (const [method, path] of [['PATCH', '/v1beta/cachedContents/abc123?updateMask=ttl'], ['GET', '/v1beta/cachedContents'], ['DELETE', '/v1beta/cachedContents']] as const) {
      const route = adapter.recognize(req(method, host, path), entry);
      expect(route, `${method} ${path}`).toMatchObject({ operation: 'cachedContents', inspected: false });
      expect(route && isRefused(route), `${method} ${path}`).toBe(false);
    }
  });

  it('reads it like a generateContent request; the model comes from the body, without its models/ prefix', () => {
    const body = {
      model: 'models/gemini-2.5-flash',
      displayName: 'contract review',
      systemInstruction: { parts: [{ text: 'You review contracts.' }] },
      contents: [{ role: 'user', parts: [{ text: 'Contract for jane@acme.test, salary 120k.' }, { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } }] }],
      tools: [{ functionDeclarations: [{ name: 'lookup_clause' }] }],
      ttl: '600s',
    };
    const request = expectParsed(parse('/v1beta/cachedContents', body));
    expect(request).toMatchObject({ operation: 'cachedContents', model: 'gemini-2.5-flash', stream: false, inspected: true });
    expect(request.texts).toEqual([
      { path: ['systemInstruction', 'parts', 0, 'text'], text: 'You review contracts.', kind: 'system' },
      { path: ['contents', 0, 'parts', 0, 'text'], text: 'Contract for jane@acme.test, salary 120k.', kind: 'user' },
    ]);
    expect(request.tools).toEqual([{ kind: 'definition', name: 'lookup_clause', path: ['tools', 0, 'functionDeclarations', 0, 'name'] }]);
    expectPathsPointAtStrings(body, request);
  });

  it('reads snake_case, a cache of only a system instruction, and a model named without the prefix', () => {
    const body = { model: 'gemini-2.0-flash-001', system_instruction: { parts: [{ text: 'Long shared preamble.' }] } };
    const request = expectParsed(parse('/v1beta/cachedContents', body));
    expect(request.model).toBe('gemini-2.0-flash-001');
    expect(request.texts).toEqual([{ path: ['system_instruction', 'parts', 0, 'text'], text: 'Long shared preamble.', kind: 'system' }]);
  });

  it.each([
    ['model missing', { contents: [] }, /model is required/],
    ['model not a string', { model: 3, contents: [] }, /model must be a string, got a number/],
    ['contents not an array', { model: 'models/gemini-2.5-flash', contents: {} }, /contents must be an array of contents, got an object/],
  ])('a bad body gives a 400 naming the field: %s', (_name, body, message) => {
    const error = expectFailed(parse('/v1beta/cachedContents', body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'gemini' });
    expect(error.message).toMatch(message);
  });
});

describe('bad bodies', () => {
  it.each([
    ['generateContent', { prompt: 'hi' }, /contents is required and must be an array of contents/],
    ['generateContent', { contents: {} }, /contents must be an array of contents, got an object/],
    ['generateContent', { contents: [{ parts: 'hi' }] }, /contents\[0\]\.parts must be an array of parts, got a string/],
    ['generateContent', { contents: [{ parts: [{ text: 5 }] }] }, /contents\[0\]\.parts\[0\]\.text must be a string, got a number/],
    ['generateContent', { contents: [], systemInstruction: 'be nice' }, /systemInstruction must be a content object/],
    ['generateContent', { contents: [{ parts: [{ functionCall: { args: {} } }] }] }, /contents\[0\]\.parts\[0\]\.functionCall\.name is required/],
    ['embedContent', {}, /content must be a content object .*got nothing/],
  ])('%s %j', (method, body, message) => {
    const error = expectFailed(parse(`/v1beta/models/gemini-2.5-flash:${method}`, body));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request', provider: 'gemini', model: 'gemini-2.5-flash' });
    expect(error.message).toMatch(message);
  });
});
