import { describe, expect, it } from 'vitest';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { parseJsonBody } from '../../src/providers/json-body.js';
import { findDuplicateKey } from '../../src/providers/json-duplicate-keys.js';
import { parseRequest, recognizeRequest, type RecognizedRequest } from '../../src/providers/registry.js';
import type { ParseResult } from '../../src/providers/types.js';
import { charactersScanned } from '../support/scanned-characters.js';
import { expectFailed, expectParsed, req, textsOf } from './support.js';

/**
 * JSON.parse keeps the last of two equal keys; Go (the Bifrost gateway) merges a repeated object into the first, and
 * other parsers keep the first. A body with a key twice in one object, anywhere, is refused: the message names the
 * key's path when it is made of known field names, and never quotes a key that may be data.
 */

const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const catalog = compileSurfaceCatalog(DEFAULT_SURFACES);

const OPENAI_CHAT = ['api.openai.com', '/v1/chat/completions'] as const;
const OPENAI_RESPONSES = ['api.openai.com', '/v1/responses'] as const;
const ANTHROPIC = ['api.anthropic.com', '/v1/messages'] as const;
const GEMINI = ['generativelanguage.googleapis.com', '/v1beta/models/gemini-2.0-flash:generateContent'] as const;

/** Parses raw JSON text (duplicates cannot be written with JSON.stringify) the way the proxy does. */
function parse([host, path]: readonly [string, string], text: string): ParseResult {
  const recognized = recognizeRequest(req('POST', host, path, { 'content-type': 'application/json' }), catalog) as RecognizedRequest;
  return parseRequest(recognized, new TextEncoder().encode(text));
}

const what = 'Bifrost Edge reads only the last of two equal keys, but other readers do not: Go readers (the Bifrost gateway, Go MCP servers) merge '
  + 'two objects under one key into one, and some parsers keep the first, so the request could act on a value Bifrost Edge never inspected. '
  + 'Send each key once (merge the two values into one) and send the request again.';

describe('findDuplicateKey', () => {
  it.each([
    ['no object', '"a string"', undefined],
    ['a number', ' 42 ', undefined],
    ['an empty object', '{}', undefined],
    ['distinct keys', '{"a":1,"b":{"a":2,"b":[{"a":3},{"a":4}]}}', undefined],
    ['equal keys in sibling objects', '[{"a":1},{"a":2}]', undefined],
    ['a key equal to a value', '{"a":"b","b":"a"}', undefined],
    ['keys that differ in case only (the fold check\'s business)', '{"a":1,"A":2}', undefined],
    ['a key twice at the top', '{"a":1,"b":2,"a":3}', { path: [], key: 'a' }],
    ['a key twice after a nested object closed', '{"a":{"a":1,"b":2},"b":1,"a":3}', { path: [], key: 'a' }],
    ['a key twice in a nested object', '{"x":[1,{"y":{"k":1,"k":2}}]}', { path: ['x', 1, 'y'], key: 'k' }],
    ['a key written with an escape', '{"a":1,"\\u0061":2}', { path: [], key: 'a' }],
    ['keys with escaped quotes and backslashes', '{"a\\"b":1,"c\\\\":2,"a\\u0022b":3}', { path: [], key: 'a"b' }],
    ['a string value ending in a backslash', '{"k":"v\\\\","k":1}', { path: [], key: 'k' }],
    ['a string value holding braces and quotes', '{"k":"{\\"k\\":1,\\"k\\":2}","j":1}', undefined],
    ['lone surrogates, one key to Go', '{"\\ud800":1,"\\udfff":2}', { path: [], key: '\ufffd' }],
    ['a pair of surrogates is no lone one', '{"\\ud83d\\ude00":1,"\\ud83d":2}', undefined],
    ['white space everywhere', ' {\n  "a" : [ { "b" : 1 } , { "b" : 2 , "b" : 3 } ]\n}\n', { path: ['a', 1], key: 'b' }],
    ['many keys (a Set takes over)', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k33":0}`, { path: [], key: 'k33' }],
    ['many keys, all distinct', `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`, undefined],
  ])('%s', (_name, text, expected) => {
    JSON.parse(text);
    expect(findDuplicateKey(text)).toEqual(expected);
  });

  it('a many-keyed object does not leak its keys into the next object at its depth', () => {
    const big = `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expect(findDuplicateKey(`[${big},{"k1":1,"k2":2}]`)).toBeUndefined();
    expect(findDuplicateKey(`[${big},{"k1":1,"k1":2}]`)).toEqual({ path: [1], key: 'k1' });
  });

  it('scans a deeply nested body without exhausting the stack', () => {
    const depth = 100_000;
    const deep = `${'{"a":['.repeat(depth)}{"k":1,"k":2}${']}'.repeat(depth)}`;
    const found = findDuplicateKey(deep);
    expect(found?.key).toBe('k');
    expect(found?.path).toHaveLength(depth * 2);
  });

  it('costs no more than the parse on a large chat body: each character looked at once', () => {
    // Counted, not timed: the characters the scan reads (one by one or jumping a string), against the text's length.
    const prose = 'The quarterly report lists revenue by region; Europe grew while "other" markets were flat.\nNext steps: review. ';
    const messages = Array.from({ length: 2_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: prose.repeat(4) }));
    const text = JSON.stringify({ model: 'gpt-4o', messages });
    let found: unknown = 'not run';
    const scanned = charactersScanned(() => {
      found = findDuplicateKey(text);
    });
    expect(found).toBeUndefined();
    expect(scanned, 'every character is read').toBeGreaterThanOrEqual(text.length);
    // About once: a quote's escaping backslashes are looked at again.
    expect(scanned).toBeLessThanOrEqual(1.25 * text.length);
  });
});

describe('a body with a key twice is refused before the gateway reads it otherwise', () => {
  it.each([
    [
      'Gemini: systemInstruction twice, the secret in the first',
      GEMINI,
      `{"model":"gemini-2.0-flash","contents":[{"role":"user","parts":[{"text":"hi"}]}],"systemInstruction":{"parts":[{"text":"deploy with ${SECRET}"}]},"systemInstruction":{"role":"system"}}`,
      'the key systemInstruction twice',
    ],
    [
      'Responses: prompt twice, the variables in the first',
      OPENAI_RESPONSES,
      `{"model":"gpt-4o","input":"hi","prompt":{"id":"pmpt_1","variables":{"v":"${SECRET}"}},"prompt":{"id":"pmpt_1"}}`,
      'the key prompt twice',
    ],
    ['OpenAI chat: a message\'s content twice', OPENAI_CHAT, `{"model":"gpt-4o","messages":[{"role":"user","content":"${SECRET}","content":"hi"}]}`, 'the key messages[0].content twice'],
    ['OpenAI chat: metadata twice', OPENAI_CHAT, `{"model":"gpt-4o","messages":[],"metadata":{"a":"1"},"metadata":{"b":"2"}}`, 'the key metadata twice'],
    ['Anthropic: a tool_use input key twice (a free-form map)', ANTHROPIC, `{"model":"claude-haiku-4-5","max_tokens":8,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":{"q":"${SECRET}","q":"x"}}]}]}`, 'a key of messages[0].content[0].input twice (not quoted here'],
    ['Anthropic: a key twice under a key that may be data', ANTHROPIC, `{"model":"claude-haiku-4-5","max_tokens":8,"messages":[],"metadata":{"${SECRET}":{"a":1,"a":2}}}`, 'a key twice inside metadata (not quoted here: keys there may be data)'],
    ['OpenAI chat: an unknown key twice at the top', OPENAI_CHAT, `{"model":"gpt-4o","messages":[],"${SECRET}":1,"${SECRET}":2}`, 'a key of the request body twice (not quoted here'],
  ])('%s', (_name, route, text, which) => {
    const error = expectFailed(parse(route, text));
    expect(error).toMatchObject({ status: 400, type: 'invalid_request' });
    expect(error.message.startsWith(`The request body of POST ${route[1]} has ${which}`), error.message).toBe(true);
    expect(error.message.endsWith(what)).toBe(true);
    expect(error.message).not.toContain(SECRET);
  });

  it('the whole message', () => {
    const result = parseJsonBody('\uFEFF{"model":"gpt-4o","messages":[],"model":"o1"}', { method: 'POST', pathname: '/v1/chat/completions', provider: 'openai' });
    expect(result).toEqual({
      ok: false,
      error: { status: 400, type: 'invalid_request', provider: 'openai', message: `The request body of POST /v1/chat/completions has the key model twice. ${what}` },
    });
  });
});

describe('bodies without a repeated key pass as before', () => {
  it('official SDK shapes, with equal keys in sibling objects and keys of any case in free-form maps', () => {
    const chat = expectParsed(parse(OPENAI_CHAT, JSON.stringify({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: 'there' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'save', arguments: '{"text":"a","text":"b"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'saved' },
      ],
      tools: [{ type: 'function', function: { name: 'save', parameters: { type: 'object', properties: { Text: { type: 'string' }, text: { type: 'string' } } } } }],
    })));
    expect(textsOf(chat)).toContainEqual(['user', 'there']);
    expectParsed(parse(GEMINI, JSON.stringify({
      contents: [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }, { role: 'model', parts: [{ functionCall: { name: 'f', args: { Name: 'x', name: 'y' } } }] }],
      systemInstruction: { parts: [{ text: 'be brief' }] },
    })));
  });
});
