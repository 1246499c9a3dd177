import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyGuardrails } from '../../src/guardrails/apply-guardrails.js';
import { MAX_MAX_INSPECT_BYTES } from '../../src/guardrails/policy.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../../src/providers/catalog.js';
import { geminiAdapter as adapter } from '../../src/providers/gemini.js';
import { BLOCKED_SECRET, startEdgeBeforeOrigin, type EdgeBeforeOrigin } from './edge-before-origin.js';
import { expectFailed, expectParsed, expectPathsPointAtStrings, req, textsOf, toolsOf } from './support.js';

/**
 * Text a Gemini part carries outside `text`: code the model ran or the user pasted as code, its output, files
 * attached inline as base64, and fields sent in both spellings (Google's JSON takes lowerCamel and snake_case).
 */

const host = 'generativelanguage.googleapis.com';
const entry = compileSurfaceCatalog(DEFAULT_SURFACES).match(host)!;
const path = '/v1beta/models/gemini-2.5-flash:generateContent';

function parse(body: unknown) {
  const route = adapter.recognize(req('POST', host, path), entry)!;
  return adapter.parse(route, body, entry);
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const turn = (role: string, ...parts: unknown[]) => ({ role, parts });

describe('code execution parts', () => {
  it('reads executableCode.code and codeExecutionResult.output, in either spelling, with the turn\'s kind', () => {
    const body = {
      contents: [
        turn('user', { executableCode: { language: 'PYTHON', code: 'print(token)' } }),
        turn('model', { executable_code: { language: 'PYTHON', code: 'print(2 + 2)' } }, { codeExecutionResult: { outcome: 'OUTCOME_OK', output: '4\n' } }),
        turn('user', { code_execution_result: { outcome: 'OUTCOME_OK', output: 'done' } }),
      ],
    };
    const request = expectParsed(parse(body));
    expect(textsOf(request)).toEqual([['user', 'print(token)'], ['assistant', 'print(2 + 2)'], ['assistant', '4\n'], ['user', 'done']]);
    expectPathsPointAtStrings(body, request);
  });

  it('a code part without code or output carries nothing to read; a non-string one is refused', () => {
    expect(expectParsed(parse({ contents: [turn('model', { codeExecutionResult: { outcome: 'OUTCOME_DEADLINE_EXCEEDED' } })] })).texts).toEqual([]);
    const error = expectFailed(parse({ contents: [turn('user', { executableCode: { code: 42 } })] }));
    expect(error.status).toBe(400);
    expect(error.message).toContain('contents[0].parts[0].executableCode.code');
  });
});

describe('inline data', () => {
  it.each([
    ['text/plain'], ['text/markdown; charset=utf-8'], ['TEXT/CSV'], ['application/json'], ['application/x-sh'],
    ['application/x-python'], ['application/xml'], ['application/ld+json'], ['image/svg+xml'], ['application/x-yaml'],
  ])('decodes %s and reads it as the turn\'s text', (mimeType) => {
    const data = base64('deploy key: hunter2');
    const body = { contents: [turn('user', { text: 'review this file' }, { inlineData: { mimeType, data } })] };
    const request = expectParsed(parse(body));
    expect(textsOf(request)).toEqual([['user', 'review this file'], ['user', 'deploy key: hunter2']]);
    expect(request.texts[1]!.path).toEqual(['contents', 0, 'parts', 1, 'inlineData', 'data']);
  });

  it('reads the snake_case spelling, URL-safe base64 and no padding', () => {
    const data = Buffer.from('é?>~ file', 'utf8').toString('base64url');
    const request = expectParsed(parse({ contents: [turn('user', { inline_data: { mime_type: 'text/plain', data } })] }));
    expect(textsOf(request)).toEqual([['user', 'é?>~ file']]);
    expect(request.texts[0]!.path).toEqual(['contents', 0, 'parts', 0, 'inline_data', 'data']);
  });

  it.each([['image/png'], ['application/pdf'], ['audio/wav'], ['application/octet-stream'], [undefined]])('leaves %s alone', (mimeType) => {
    const request = expectParsed(parse({ contents: [turn('user', { inlineData: { ...(mimeType ? { mimeType } : {}), data: base64('not text') } })] }));
    expect(request.texts).toEqual([]);
  });

  it('refuses textual inline data whose data is not a string', () => {
    const error = expectFailed(parse({ contents: [turn('user', { inlineData: { mimeType: 'text/plain', data: 7 } })] }));
    expect(error.message).toContain('contents[0].parts[0].inlineData.data');
  });

  it('a file larger than any inspection limit is decoded only past that limit, so the guardrails\' oversize rule decides', () => {
    const text = 'a'.repeat(MAX_MAX_INSPECT_BYTES + 4096);
    const body = { contents: [turn('user', { inlineData: { mimeType: 'text/plain', data: base64(text) } })] };
    const request = expectParsed(parse(body));
    const decoded = request.texts[0]!.text;
    expect(decoded.length).toBeGreaterThan(MAX_MAX_INSPECT_BYTES);
    expect(decoded.length).toBeLessThan(text.length);
    expect(applyGuardrails(request.texts, body, { maxInspectBytes: MAX_MAX_INSPECT_BYTES })).toMatchObject({ decision: 'block', oversize: true });
  });

  it('a finding to redact in a base64 file cannot be rewritten there, so the request is blocked instead', () => {
    const body = { contents: [turn('user', { inlineData: { mimeType: 'text/plain', data: base64('mail ada.lovelace@analytical-engines.co.uk') } })] };
    const request = expectParsed(parse(body));
    const result = applyGuardrails(request.texts, body, {});
    expect(result.decision).toBe('block');
    expect(result.blockError?.message).toContain('contents[0].parts[0].inlineData.data');
  });
});

describe('fields sent in both spellings are both read', () => {
  it('systemInstruction and system_instruction', () => {
    const body = { contents: [turn('user', { text: 'hi' })], systemInstruction: { parts: [{ text: 'be nice' }] }, system_instruction: { parts: [{ text: 'be brief' }] } };
    const request = expectParsed(parse(body));
    expect(textsOf(request)).toEqual([['system', 'be nice'], ['system', 'be brief'], ['user', 'hi']]);
    expectPathsPointAtStrings(body, request);
  });

  it('functionCall and function_call, functionResponse and function_response, inlineData and inline_data in one part', () => {
    const part = {
      functionCall: { name: 'a', args: { q: 'one' } },
      function_call: { name: 'b', args: { q: 'two' } },
      functionResponse: { name: 'c', response: { r: 'three' } },
      function_response: { name: 'd', response: { r: 'four' } },
      inlineData: { mimeType: 'text/plain', data: base64('five') },
      inline_data: { mime_type: 'text/plain', data: base64('six') },
    };
    const request = expectParsed(parse({ contents: [turn('model', part)] }));
    expect(textsOf(request).map(([, text]) => text)).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
    expect(toolsOf(request)).toEqual([['call', 'a'], ['call', 'b'], ['result', 'c'], ['result', 'd']]);
  });

  it('functionDeclarations and function_declarations in one tool', () => {
    const body = { contents: [turn('user', { text: 'x' })], tools: [{ functionDeclarations: [{ name: 'a' }], function_declarations: [{ name: 'b' }] }] };
    expect(toolsOf(expectParsed(parse(body)))).toEqual([['definition', 'a'], ['definition', 'b']]);
  });

  it('countTokens: generateContentRequest and generate_content_request', () => {
    const route = adapter.recognize(req('POST', host, '/v1beta/models/gemini-2.5-flash:countTokens'), entry)!;
    const body = { generateContentRequest: { contents: [turn('user', { text: 'one' })] }, generate_content_request: { contents: [turn('user', { text: 'two' })] } };
    expect(textsOf(expectParsed(adapter.parse(route, body, entry)))).toEqual([['user', 'one'], ['user', 'two']]);
  });

  it('a batch\'s inputConfig and input_config', () => {
    const route = adapter.recognize(req('POST', host, '/v1beta/models/gemini-2.5-flash:batchGenerateContent'), entry)!;
    const inline = (text: string) => ({ requests: { requests: [{ request: { contents: [turn('user', { text })] } }] } });
    const body = { batch: { inputConfig: inline('one'), input_config: inline('two') } };
    expect(textsOf(expectParsed(adapter.parse(route, body, entry)))).toEqual([['user', 'one'], ['user', 'two']]);
  });
});

describe('through Edge: a secret in these parts is refused before it reaches Gemini', () => {
  let edge: EdgeBeforeOrigin;
  beforeAll(async () => { edge = await startEdgeBeforeOrigin([host]); }, 30_000);
  afterAll(async () => { await edge?.close(); });

  it.each([
    ['an inline text/plain file', { contents: [turn('user', { inlineData: { mimeType: 'text/plain', data: base64(`key ${BLOCKED_SECRET}`) } })] }, base64(`key ${BLOCKED_SECRET}`)],
    ['systemInstruction and system_instruction both sent', { contents: [turn('user', { text: 'hi' })], systemInstruction: { parts: [{ text: 'be nice' }] }, system_instruction: { parts: [{ text: `key ${BLOCKED_SECRET}` }] } }, BLOCKED_SECRET],
    ['an executableCode part in the user\'s turn', { contents: [turn('user', { executableCode: { language: 'PYTHON', code: `# key ${BLOCKED_SECRET}` } })] }, BLOCKED_SECRET],
  ])('%s', async (_label, body, sent) => {
    expect(await edge.post(`https://${host}${path}`, body, sent)).toEqual({ status: 446, reachedOrigin: false, secretAtOrigin: false });
  });
});
