import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/providers/json-body.js';
import { findJsonSyntaxError } from '../../src/providers/json-syntax.js';

const context = { method: 'POST', pathname: '/v1/chat/completions', provider: 'openai' };

describe('parseJsonBody', () => {
  it.each([
    ['a string', '{"model":"gpt-4o"}', { model: 'gpt-4o' }],
    ['bytes', new TextEncoder().encode('{"model":"gpt-4o"}'), { model: 'gpt-4o' }],
    ['a byte-order mark', '\uFEFF{"a":1}', { a: 1 }],
    ['surrounding whitespace', '\n  [1, 2]\n', [1, 2]],
  ])('accepts %s', (_name, raw, value) => {
    expect(parseJsonBody(raw, context)).toEqual({ ok: true, value });
  });

  it.each([
    ['no body', undefined, 'The request body of POST /v1/chat/completions is empty. Send a JSON object.'],
    ['whitespace only', '  \n', 'The request body of POST /v1/chat/completions is empty. Send a JSON object.'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'The request body of POST /v1/chat/completions is not valid UTF-8 text. Send the JSON body encoded as UTF-8.'],
    [
      'a trailing comma',
      '{\n  "model": "gpt-4o",\n}',
      'The request body of POST /v1/chat/completions is not valid JSON: unexpected \'}\': expected a double-quoted property name at line 3, column 1. Fix the JSON and send it again.',
    ],
    [
      'a missing comma',
      '{"model": "gpt-4o" "stream": true}',
      'The request body of POST /v1/chat/completions is not valid JSON: unexpected \'"\': expected \',\' or \'}\' after a property value at line 1, column 20. Fix the JSON and send it again.',
    ],
    [
      'a truncated body',
      '{"messages": [{"role": "user"',
      'The request body of POST /v1/chat/completions is not valid JSON: unexpected end of input: 3 unclosed objects or arrays at line 1, column 30. Fix the JSON and send it again.',
    ],
  ])('rejects %s with a 400 that says what and where', (_name, raw, message) => {
    expect(parseJsonBody(raw, context)).toEqual({ ok: false, error: { status: 400, type: 'invalid_request', message, provider: 'openai' } });
  });

  it('never quotes the body in the message', () => {
    const result = parseJsonBody('{"api_key": sk-live-SECRET123}', context);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.message).not.toMatch(/SECRET|sk-live/);
      expect(result.error.message).toContain('unexpected text: expected a value');
    }
  });
});

describe('findJsonSyntaxError', () => {
  it.each([
    ['{"a":1}', undefined],
    ['[]', undefined],
    ['"just a string"', undefined],
    ['-1.5e+10', undefined],
    ['{"a": "\\u00e9\\n"}', undefined],
    ['', [1, 1, 'unexpected end of input: expected a value']],
    ['{"a":}', [1, 6, "unexpected '}': expected a value (object, array, string, number, true, false or null)"]],
    ['{"a":1', [1, 7, 'unexpected end of input: 1 unclosed object']],
    ['[1,]', [1, 4, "unexpected ']': expected a value (object, array, string, number, true, false or null)"]],
    ['[1 2]', [1, 4, "unexpected text: expected ',' or ']' after an array element"]],
    ["{'a': 1}", [1, 2, "unexpected ''': expected a double-quoted property name"]],
    ['{"a" 1}', [1, 6, "unexpected text: expected ':' after the property name"]],
    ['{"a": "x\ny"}', [1, 9, 'a control character (such as a raw newline) inside a string must be escaped']],
    ['{"a": "\\x"}', [1, 8, 'invalid escape sequence in a string']],
    ['{"a": "\\u12"}', [1, 8, 'invalid \\u escape: expected four hex digits']],
    ['{"a": "open', [1, 7, 'unterminated string']],
    ['{"a": -}', [1, 7, 'invalid number']],
    ['{"a": tru}', [1, 7, 'unexpected text: expected a value (object, array, string, number, true, false or null)']],
    ['{} {}', [1, 4, 'unexpected data after the end of the JSON value']],
    ['{\n\n  "a": 1,\n  \u0001}', [4, 3, 'unexpected character U+0001: expected a double-quoted property name']],
  ])('%j', (text, expected) => {
    const problem = findJsonSyntaxError(text);
    expect(problem === undefined ? undefined : [problem.line, problem.column, problem.problem]).toEqual(expected);
    // Where JSON.parse accepts the text, so does the scanner, and the other way round.
    expect(problem === undefined).toBe((() => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    })());
  });

  it('handles deep nesting without recursion', () => {
    expect(findJsonSyntaxError(`${'['.repeat(100_000)}1`)?.problem).toBe('unexpected end of input: 100000 unclosed objects or arrays');
  });
});
